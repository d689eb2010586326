"""score_batch of a few items on a count model: item by item, the batch path's Batch."""

from __future__ import annotations

import math
import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ngramkit import CountLM
from ngramkit import evaluate as ev
from ngramkit.corpus import Corpus
from ngramkit.normalize import Normalization
from ngramkit.results import Batch

# The rule changes "Emma", "ZOË", "Zoë"; "ab1", "x!" are OOV without --unk; "" is empty.
ODD = ["Emma", "ZOË", "Zoë", "ab1", "", "x!", "é", "zzzzzzzz", "a\nb"]


def batch_path(model: CountLM, items: list[str], monkeypatch: pytest.MonkeyPatch) -> Batch:
    """score_batch with the item-by-item path turned off: the plain batch path."""
    with monkeypatch.context() as m:
        m.setattr(ev, "FEW_ITEMS", 0)
        return ev.score_batch(model, items)


def assert_same(got: Batch, want: Batch) -> None:
    """Every field equal; log p with ==, nan where nan (OOV)."""
    same = [
        a == b or (math.isnan(a) and math.isnan(b))
        for a, b in zip(*(x.logprob.tolist() for x in (got, want)))
    ]
    assert all(same) and len(got.logprob) == len(want.logprob), (got.logprob, want.logprob)
    assert got.logprob.dtype == want.logprob.dtype == torch.float64
    for name in ("lengths", "oov"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype and torch.equal(a, b), name
    if want.unk_tokens is None:
        assert got.unk_tokens is None
    else:
        assert got.unk_tokens is not None and got.unk_tokens.dtype == want.unk_tokens.dtype
        assert torch.equal(got.unk_tokens, want.unk_tokens)
    assert (got.items, got.unknown, got.in_train) == (want.items, want.unknown, want.in_train)
    assert (got.normalized, got.remedies) == (want.normalized, want.remedies)


def few_batches(names: list[str], seed: int) -> list[list[str]]:
    """Batches of 1, 2, 5 and 32 items: names and the odd ones mixed."""
    rng = random.Random(seed)
    pool = rng.sample(names, 40) + ODD
    return [[w] for w in ODD] + [rng.sample(pool, n) for n in (2, 5, 5, 32)]


@pytest.mark.parametrize("unk", [False, True])
@pytest.mark.parametrize("order", [1, 2, 3, 4, 5, 6])
def test_few_items_give_the_batch_paths_batch(
    names: list[str], order: int, unk: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """add-k, kn, mkn; before the rows exist (the batch path itself) and after."""
    for smooth in (1.0, "kn", "mkn"):
        if smooth != 1.0 and order == 1:
            continue
        model = CountLM(order=order, smooth=smooth, unk=unk).fit(names[:1500])
        for built in (False, True):
            if built:
                assert model.scorer_ is not None and model.scorer_.compact_rows() is not None
                assert model.plain_token_scores()
            for items in few_batches(names, order):
                assert_same(ev.score_batch(model, items), batch_path(model, items, monkeypatch))


def test_remedies_and_case_kept(names: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A model that keeps case and accents: "Emma" and "zoë" are OOV with remedies."""
    rule = Normalization("NFC", "keep", "keep")
    model = CountLM(order=3, smooth="kn").fit(Corpus.from_items(names[:800], normalization=rule))
    items = ["Emma", "zoë", "emma", "ab1"]
    got = ev.score_batch(model, items)
    assert got.remedies == {0: ("case",), 1: ("accents",)} and got.unknown[3] == ("1",)
    assert_same(got, batch_path(model, items, monkeypatch))


def test_few_items_take_no_corpus(names: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """At order 2 (a dense table) one name is scored without building a Corpus: the
    result is the sum of model.logprob's floats."""
    model = CountLM(order=2, smooth=1.0).fit(names)

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("the batch path was taken")

    monkeypatch.setattr(ev.Corpus, "from_items", refused)
    assert ev.score_batch(model, ["emma"]).logprob.tolist() == [model.logprob("emma")]
    with pytest.raises(AssertionError, match="batch path"):
        ev.score_batch(model, names[:33])  # past FEW_ITEMS: the batch path


def test_a_bare_string_is_still_refused(names: list[str]) -> None:
    model = CountLM(order=2, smooth=1.0).fit(names[:100])
    with pytest.raises(Exception, match="not a string"):
        ev.score_batch(model, "emma")


class Shifted(CountLM):
    """A subclass whose token_logprobs is its own: read through it, not the rows."""

    name = "shifted"

    def token_logprobs(self, contexts: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return super().token_logprobs(contexts, targets) - 1.0


def test_an_override_is_not_read_from_the_rows(
    names: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = Shifted(order=2, smooth=1.0).fit(names[:500])
    assert not model.plain_token_scores()
    assert_same(ev.score_batch(model, ["emma"]), batch_path(model, ["emma"], monkeypatch))


@pytest.mark.parametrize("order", [2, 5])
def test_an_override_gives_every_path_its_numbers(names: list[str], order: int) -> None:
    """The subclass's log p (CountLM's less 1 nat a token) from score_batch, a batch big
    enough for the rows, logprob and token_scores alike."""
    items = names[:3000]
    model = Shifted(order=order, smooth=1.0).fit(items)
    plain = CountLM(order=order, smooth=1.0).fit(items)
    want = [plain.logprob(s) - (len(s) + 1) for s in items]
    got = ev.score_batch(model, items).logprob.tolist()
    assert got == pytest.approx(want, rel=1e-12)
    assert model.logprob("emma") == pytest.approx(plain.logprob("emma") - 5, rel=1e-12)
    assert model.token_scores("emma") == pytest.approx(
        [x - 1.0 for x in plain.token_scores("emma")], rel=1e-12
    )


ALPHABET = "abcxyzAEÉéëÖö1 \n!"
ITEMS = st.lists(st.text(alphabet=ALPHABET, max_size=12), min_size=1, max_size=8)


@pytest.mark.parametrize("smooth", [0.5, "mkn"])
def test_random_items_give_the_batch_paths_batch(names: list[str], smooth: float | str) -> None:
    """Property: any few items of letters, case, accents, digits, spaces and newlines."""
    models = [
        CountLM(order=n, smooth=smooth, unk=u).fit(names[:600]) for n in (2, 4) for u in (0, 1)
    ]
    for m in models:
        assert m.scorer_ is not None and m.scorer_.compact_rows() is not None

    @settings(max_examples=60, deadline=None, derandomize=True)
    @given(ITEMS)
    def check(items: list[str]) -> None:
        for model in models:
            with pytest.MonkeyPatch.context() as mp:
                assert_same(ev.score_batch(model, items), batch_path(model, items, mp))

    check()
