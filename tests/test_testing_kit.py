"""The conformance kit: a correct backend passes every check, and every check can fail.

`TableLM` is a plain add-k n-gram table written here (loops, no ngramkit
counting code), so the kit is tested against an independent backend. Each
`Broken*` class below breaks exactly one rule; the test asserts that the
check guarding that rule fails and that its message names the rule and the fix.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import torch

from ngramkit import LanguageModel, Option
from ngramkit.errors import NgramkitError, OptionError
from ngramkit.registry import BackendEntry
from ngramkit.testing import (
    CHECKS,
    Backend,
    CheckSkipped,
    ConformanceError,
    as_backend,
    check_backend,
    parametrize_checks,
    run_checks,
)


class TableLM(LanguageModel):
    """Add-k n-gram table [V^(order-1), V] counted with a Python loop."""

    name = "table"
    description = "add-k n-gram table, written plainly for the kit's tests"
    options = (
        *LanguageModel.options,
        Option("smooth", float, 1.0, "fake counts added to every n-gram", min=0),
    )

    def _fit(self, corpus: Any, progress: Any) -> None:
        V, k = len(self.require_fitted()), self.order - 1
        self._check_size(V)
        N = torch.full((V**k, V), self.hparams["smooth"], dtype=torch.float64)
        grams, _ = corpus.windows(self.order)
        for row in grams.tolist():
            key = 0
            for t in row[:-1]:
                key = key * V + t
            N[key, row[-1]] += 1
        self.table_ = self._normalize(N)

    def _check_size(self, V: int) -> None:
        if V**self.order > 2**20:  # a dense table: refuse what would not fit in memory
            raise OptionError(f"--order {self.order} over {V} tokens: table too large")

    def _normalize(self, N: torch.Tensor) -> torch.Tensor:
        V = N.shape[1]
        totals = N.sum(1, keepdim=True)
        return torch.where(totals > 0, N / totals, 1.0 / V).log()  # unseen: uniform

    def _keys(self, contexts: torch.Tensor) -> torch.Tensor:
        V = len(self.require_fitted())
        key = torch.zeros(len(contexts), dtype=torch.long)
        for j in range(contexts.shape[1]):
            key = key * V + contexts[:, j]
        return key

    def next_logprobs(self, contexts: torch.Tensor) -> torch.Tensor:
        self.require_fitted()
        return self.table_[self._keys(contexts)]

    def state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        return self.base_config(), {"table": self.table_}

    @classmethod
    def from_state(cls, config: dict[str, Any], tensors: dict[str, torch.Tensor]) -> Any:
        model = cls.from_base_config(config)
        model.table_ = tensors["table"]
        return model


def entries_for(cls: type, name: str = "table", module: str = "tests") -> dict[str, BackendEntry]:
    """A registry holding `cls` under `name`, as discovery would build it."""
    return {name: BackendEntry(name, f"{module}:{cls.__name__}", "fake-dist", "1.0", cls)}


def subject(cls: type, **hparams: Any) -> Backend:
    return Backend("table", cls, hparams, entries_for(cls))


# -- one broken backend per rule ---------------------------------------------------


class Misnamed(TableLM):
    name = "tabel"


class ClashingOption(TableLM):
    options = (*TableLM.options, Option("seed", int, 1, "clashes with fit --seed"))


class NoHelp(TableLM):
    options = (*TableLM.options, Option("lr", float, 0.1))


class BadDefault(TableLM):
    options = (*TableLM.options, Option("lr", float, -1.0, "learning rate", min=0))


class Lenient(TableLM):
    """Accepts any keyword and validates nothing."""

    def __init__(self, **hparams: Any) -> None:
        super().__init__(order=hparams.get("order", 2))
        self.hparams.update(hparams)


class NoFittedCheck(TableLM):
    def next_logprobs(self, contexts: torch.Tensor) -> torch.Tensor:
        return self.table_[self._keys(contexts)]  # AttributeError before fit


class ReturnsNone(TableLM):
    def fit(self, data: Any, *, progress: Any = None) -> Any:
        super().fit(data, progress=progress)
        return None


class NeedsTwoItems(TableLM):
    def _fit(self, corpus: Any, progress: Any) -> None:
        self.spread_ = 1 / (len(corpus) - 1)  # ZeroDivisionError on one item
        super()._fit(corpus, progress)


class MutatesInput(TableLM):
    def next_logprobs(self, contexts: torch.Tensor) -> torch.Tensor:
        rows = super().next_logprobs(contexts)
        contexts.zero_()
        return rows


class Unnormalized(TableLM):
    def _normalize(self, N: torch.Tensor) -> torch.Tensor:
        return (N / N.sum()).log()  # one distribution over the whole table


class HalfPrecision(TableLM):
    def next_logprobs(self, contexts: torch.Tensor) -> torch.Tensor:
        return super().next_logprobs(contexts).half()


class DisagreeingTokenLogprobs(TableLM):
    def token_logprobs(self, contexts: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return super().token_logprobs(contexts, targets) - 0.5


class NoEndBoundary(TableLM):
    def logprob(self, item: str) -> float:
        grams = self.windows_of(item)[:-1]  # forgets p(. | last symbol)
        return float(self.token_logprobs(grams[:, :-1], grams[:, -1]).sum())


class ZeroOverZero(TableLM):
    """MLE with no rule for unseen contexts: 0/0 = NaN rows."""

    def _normalize(self, N: torch.Tensor) -> torch.Tensor:
        return (N / N.sum(1, keepdim=True)).log()


class Unseeded(TableLM):
    def _fit(self, corpus: Any, progress: Any) -> None:
        super()._fit(corpus, progress)
        noise = torch.rand(self.table_.shape, dtype=torch.float64)  # no generator
        self.table_ = (self.table_ + noise).log_softmax(1)


class ShuffledSamples(TableLM):
    def sample(self, n: int = 10, **kwargs: Any) -> list[str]:
        out = super().sample(n, **kwargs)
        random.shuffle(out)
        return out


class NeverEnds(TableLM):
    def _normalize(self, N: torch.Tensor) -> torch.Tensor:
        N = N.clone()
        N[:, 0] = 0  # the boundary can never be drawn
        return super()._normalize(N)


class LossyState(TableLM):
    def state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        return self.base_config(), {"table": self.table_.float()}

    @classmethod
    def from_state(cls, config: dict[str, Any], tensors: dict[str, torch.Tensor]) -> Any:
        return super().from_state(config, {"table": tensors["table"].double()})


class SetInConfig(TableLM):
    def state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        config, tensors = super().state()
        return {**config, "tags": {"a", "b"}}, tensors


class HalfTensor(TableLM):
    def state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        return self.base_config(), {"table": self.table_.half()}


class NoSizeGuard(TableLM):
    """Allocates V^order cells whatever the order (the scaffold's old table)."""

    def _check_size(self, V: int) -> None:
        pass


class ReservedTensorName(TableLM):
    """Names its table like the file's own blob of training items."""

    def state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        return self.base_config(), {"__seen__": self.table_}

    @classmethod
    def from_state(cls, config: dict[str, Any], tensors: dict[str, torch.Tensor]) -> Any:
        return super().from_state(config, {"table": tensors["__seen__"]})


class CharsOnly(TableLM):
    def _fit(self, corpus: Any, progress: Any) -> None:
        if corpus.vocab.kind != "char":
            raise NgramkitError("this backend reads characters only")
        super()._fit(corpus, progress)


class IgnoresUnk(TableLM):
    """Rows over the symbols and the boundary only: the unknown token has no column."""

    def next_logprobs(self, contexts: torch.Tensor) -> torch.Tensor:
        rows = super().next_logprobs(contexts)
        vocab = self.require_fitted()
        return rows[:, : len(vocab.symbols) + 1].log_softmax(1) if vocab.unk else rows


BROKEN: list[tuple[str, Backend]] = [
    ("check_registered", Backend("table", TableLM, {}, {})),
    ("check_registered", Backend("table", Misnamed, {}, entries_for(Misnamed))),
    ("check_registered", Backend("table", TableLM, {}, entries_for(Misnamed))),
    ("check_options_declared", subject(ClashingOption)),
    ("check_options_declared", subject(NoHelp)),
    ("check_options_declared", subject(BadDefault)),
    ("check_options_validate", subject(Lenient)),
    ("check_unfitted", subject(NoFittedCheck)),
    ("check_fit_tiny", subject(ReturnsNone)),
    ("check_fit_tiny", subject(Unnormalized)),
    ("check_fit_one_item", subject(NeedsTwoItems)),
    ("check_fit_one_item", subject(NeverEnds)),
    ("check_next_logprobs", subject(MutatesInput)),
    ("check_next_logprobs", subject(HalfPrecision)),
    ("check_next_logprobs", subject(DisagreeingTokenLogprobs)),
    ("check_logprob_sum", subject(NoEndBoundary)),
    ("check_unseen_contexts", subject(ZeroOverZero, order=3, smooth=0)),
    ("check_seeded", subject(Unseeded)),
    ("check_seeded", subject(ShuffledSamples)),
    ("check_seeded", subject(NeverEnds)),
    ("check_state_round_trip", subject(LossyState)),
    ("check_state_round_trip", subject(SetInConfig)),
    ("check_state_round_trip", subject(HalfTensor)),
    ("check_state_round_trip", subject(ReservedTensorName)),
    ("check_word_tokenizer", subject(CharsOnly)),
    ("check_unk", subject(IgnoresUnk)),
    ("check_high_order", subject(NoSizeGuard)),
    # an entry point whose module imports torch at its top (torch itself, here)
    ("check_import_is_light", Backend("table", TableLM, {}, entries_for(TableLM, module="torch"))),
]
BY_NAME = {c.name: c for c in CHECKS}


@parametrize_checks(
    subject(TableLM), subject(TableLM, order=3, smooth=0.5), subject(TableLM, order=1)
)
def test_reference_backend_passes(backend: Backend, check: Any) -> None:
    check(backend)


@pytest.mark.parametrize(
    "check_name, backend",
    BROKEN,
    ids=[f"{n}-{b.cls.__name__ if b.cls else b.name}" for n, b in BROKEN],
)
def test_each_check_fails_on_its_broken_backend(check_name: str, backend: Backend) -> None:
    check = BY_NAME[check_name]
    with pytest.raises(ConformanceError) as info:
        check(backend)
    message = str(info.value)
    assert check_name in message
    assert check.rule in message  # the rule broken ...
    assert check.fix in message  # ... and how to fix it


def test_every_check_has_a_broken_backend() -> None:
    assert {name for name, _ in BROKEN} == set(BY_NAME)


def test_broken_rows_are_named_precisely() -> None:
    with pytest.raises(ConformanceError, match="logsumexp"):
        BY_NAME["check_fit_tiny"](subject(Unnormalized))
    with pytest.raises(ConformanceError, match="float16"):
        BY_NAME["check_next_logprobs"](subject(HalfPrecision))
    with pytest.raises(ConformanceError, match="modified its input"):
        BY_NAME["check_next_logprobs"](subject(MutatesInput))
    with pytest.raises(ConformanceError, match="NaN"):
        BY_NAME["check_unseen_contexts"](subject(ZeroOverZero, order=3, smooth=0))
    with pytest.raises(ConformanceError, match="ran to the cut"):
        BY_NAME["check_seeded"](subject(NeverEnds))
    with pytest.raises(ConformanceError, match="'__seen__': names of the form __name__ are res"):
        BY_NAME["check_state_round_trip"](subject(ReservedTensorName))


def test_run_checks_reports_only_the_broken_rule() -> None:
    results = run_checks(subject(NoEndBoundary))
    assert [n for n, e in results.items() if e] == ["check_logprob_sum", "check_word_tokenizer"]
    results = run_checks(subject(CharsOnly))
    assert [n for n, e in results.items() if e] == ["check_word_tokenizer"]


def test_check_backend_lists_every_failure() -> None:
    check_backend(subject(TableLM))  # passes: no error
    with pytest.raises(ConformanceError) as info:
        check_backend(subject(CharsOnly))
    assert str(info.value).startswith(f"1 of {len(CHECKS)} checks failed")
    assert "check_word_tokenizer" in str(info.value)


def test_a_name_that_is_not_installed_fails_once_and_skips_the_rest() -> None:
    results = run_checks("no-such-backend", entries={})
    assert isinstance(results.pop("check_registered"), ConformanceError)
    assert all(isinstance(e, CheckSkipped) for e in results.values())
    assert "check_fit_tiny skipped: check_registered failed (no entry point named " in str(
        results["check_fit_tiny"]
    )
    with pytest.raises(
        ConformanceError, match=rf"^1 of {len(CHECKS)} checks failed \({len(results)} skip"
    ):
        check_backend("no-such-backend", entries={})


def test_a_shadowed_name_is_refused_instead_of_testing_the_winner() -> None:
    ours = BackendEntry("table", "ngramkit.backends.count:CountLM", "ngramkit", "0.1", TableLM)
    ours.shadows = [BackendEntry("table", "mine.model:TableLM", "ngramkit-table", "0.1", TableLM)]
    results = run_checks(Backend("table", TableLM, {}, {"table": ours}))
    assert "the name 'table' is claimed twice: ngramkit.backends.count.CountLM from ngramkit" in (
        str(results["check_registered"])
    )
    assert "rename your backend" in str(results["check_registered"])
    assert isinstance(results["check_seeded"], CheckSkipped)


@parametrize_checks(as_backend("no-such-backend", entries={}))
def test_under_pytest_a_blocked_check_is_a_skip(backend: Backend, check: Any) -> None:
    if check.name == "check_registered":
        with pytest.raises(ConformanceError):
            check(backend)
        return
    with pytest.raises(pytest.skip.Exception, match="skipped: check_registered failed"):
        check(backend)


def test_a_broken_entry_point_is_reported_by_name() -> None:
    entries = {"table": BackendEntry("table", "x:Y", "fake", "1", None, "import failed: boom")}
    backend = as_backend("table", entries=entries)
    with pytest.raises(ConformanceError, match="import failed: boom"):
        BY_NAME["check_registered"](backend)


def test_parametrize_checks_gives_one_case_per_check() -> None:
    mark = parametrize_checks(subject(TableLM), subject(TableLM, order=3))
    argnames, cases = mark.args
    assert argnames == "backend, check"
    ids = [case.id for case in cases]
    assert len(ids) == 2 * len(CHECKS) == len(set(ids))
    assert "table-check_seeded" in ids and "table(order=3)-check_seeded" in ids


def test_parametrize_checks_takes_each_backend_with_its_own_options() -> None:
    entries = entries_for(TableLM)
    mark = parametrize_checks(
        (TableLM, {"order": 3}), (Backend("table", TableLM, {}, entries), {"smooth": 0.5})
    )
    ids = [case.id for case in mark.args[1]]
    assert "table(order=3)-check_seeded" in ids and "table(smooth=0.5)-check_seeded" in ids


def test_reference_table_is_the_plain_add_k_estimate() -> None:
    # order 2 on ["ab"]: windows (.,a) (a,b) (b,.); V = 3; row "a" = (0+1, 0+1, 1+1) / 4
    model = TableLM(order=2, smooth=1).fit(["ab"])
    row = model.next_logprobs(torch.tensor([[1]])).exp()[0]
    assert torch.allclose(row, torch.tensor([1 / 4, 1 / 4, 2 / 4], dtype=torch.float64))
