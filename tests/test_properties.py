"""Property tests: every installed backend keeps the contract on random corpora.

Hypothesis draws corpora the named-data tests never show: random alphabets
(Unicode, astral symbols, the "." that pushes the boundary marker elsewhere),
items of 1 to 50 symbols, one-item corpora, corpora of one item repeated,
plus random orders and options for each backend (few steps for the trained
ones). Each invariant is its own test, so `--hypothesis-show-statistics`
reports example counts per invariant:

- rows normalized: every context's next_logprobs row is a distribution;
- logprob(item) = the sum of its per-token log-probabilities (a plain loop);
- evaluating the training data (evaluate.corpus_metrics) gives the fit
  report's train metrics (fitting.train(...).train), both equal to a plain loop;
- save/load round trip scores identically;
- a seeded fit and seeded sampling are reproducible;
- sampling terminates: n items, none longer than max_len symbols.

The kit's helpers (ngramkit.testing) give the reference computations.
NGRAMKIT_HYPOTHESIS_SCALE=10 multiplies the example counts for a long run.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ngramkit import fitting, load, registry, save
from ngramkit.corpus import Corpus
from ngramkit.data import train_val_split
from ngramkit.evaluate import corpus_metrics
from ngramkit.model import LanguageModel
from ngramkit.reader import WordList
from ngramkit.testing import _all_contexts, _plain_logprob, _rows_problem

SCALE = int(os.environ.get("NGRAMKIT_HYPOTHESIS_SCALE", "1"))
SETTINGS = settings(
    max_examples=8 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
INSTALLED = {n: e.cls for n, e in registry.installed().items() if e.cls is not None}
BACKENDS = [b for b in ("count", "neural", "mlp") if b in INSTALLED]

# -- strategies ------------------------------------------------------------------

SYMBOL = st.characters(
    blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),  # no surrogates, controls, spaces
    min_codepoint=0x21,
    max_codepoint=0x10FFFF,  # the astral planes included
)


@st.composite
def corpora(draw: st.DrawFn) -> list[str]:
    """A random alphabet, then items of 1-50 of its symbols; sometimes one item, repeated."""
    alphabet = draw(
        st.lists(SYMBOL, min_size=1, max_size=12, unique=True)
        | st.just(list("abc."))  # "." in the data: the boundary marker moves
        | st.just(["\U0001f600", "\U00010348", "z"])  # astral symbols
    )
    item = st.lists(st.sampled_from(alphabet), min_size=1, max_size=50).map("".join)
    shape = draw(st.sampled_from(["many", "one", "repeated"]))
    if shape == "one":
        return [draw(item)]
    if shape == "repeated":
        return [draw(item)] * draw(st.integers(2, 6))
    return draw(st.lists(item, min_size=1, max_size=12))


def hparams_for(backend: str) -> st.SearchStrategy[dict[str, Any]]:
    """Random orders and options, with training kept to a few steps."""
    order = st.integers(1, 4)
    if backend == "count":
        return st.fixed_dictionaries(
            {"order": order, "smooth": st.sampled_from([0.0, 0.1, 1.0, 3.5])}
        )
    if backend == "neural":
        return st.fixed_dictionaries(
            {
                "order": order,
                "steps": st.integers(1, 4),
                "optimizer": st.sampled_from(["gd", "lbfgs"]),
                "reg": st.sampled_from([0.0, 0.01, 1.0]),
                "init_seed": st.integers(0, 2**31 - 1),
            }
        )
    return st.fixed_dictionaries(
        {
            "order": order,
            "steps": st.integers(1, 6),
            "emb": st.integers(1, 4),
            "hidden": st.integers(1, 8),
            "batch_size": st.integers(1, 16),
            "init_seed": st.integers(0, 2**31 - 1),
        }
    )


def fitted(backend: str, items: list[str], hp: dict[str, Any]) -> LanguageModel:
    return INSTALLED[backend](**hp).fit(Corpus.from_items(items))


def backend_cases(test):  # type: ignore[no-untyped-def]
    """Parametrize over the installed backends, drawing corpus and hparams for each."""

    @pytest.mark.parametrize("backend", BACKENDS)
    @SETTINGS
    @given(data=st.data())
    def run(backend: str, data: st.DataObject, tmp_path: Path) -> None:
        items = data.draw(corpora(), label="items")
        hp = data.draw(hparams_for(backend), label="hparams")
        test(backend, items, hp, tmp_path)

    run.__name__ = test.__name__
    run.__doc__ = test.__doc__
    return run


def same(a: float, b: float, tol: float = 1e-6) -> bool:
    """Equal up to float noise; -inf equals -inf (an unsmoothed zero-count event)."""
    return a == b or math.isclose(a, b, rel_tol=tol, abs_tol=tol)


# -- invariants --------------------------------------------------------------------


@backend_cases
def test_rows_are_distributions(
    backend: str, items: list[str], hp: dict[str, Any], tmp_path: Path
) -> None:
    model = fitted(backend, items, hp)
    ctx = _all_contexts(model, limit=256)
    problem = _rows_problem(model.next_logprobs(ctx), len(ctx), len(model.require_fitted()))
    assert problem is None, problem


@backend_cases
def test_logprob_is_the_sum_of_token_logprobs(
    backend: str, items: list[str], hp: dict[str, Any], tmp_path: Path
) -> None:
    model = fitted(backend, items, hp)
    for item in dict.fromkeys(items[:4]):
        got, want = model.logprob(item), _plain_logprob(model, item)
        assert same(got, want, 1e-5), (item, got, want)
        assert got <= 1e-6 and not math.isnan(got)


@backend_cases
def test_eval_of_training_data_equals_fit_train_metrics(
    backend: str, items: list[str], hp: dict[str, Any], tmp_path: Path
) -> None:
    """fitting.train's train metrics = corpus_metrics on its train split = a plain loop."""
    words = WordList("random", items, list(range(1, len(items) + 1)))
    val_fraction = 0.25 if len(items) >= 4 else 0.0
    result = fitting.train(
        INSTALLED[backend], words, hp, val_fraction=val_fraction, seed=5, n_samples=2
    )
    train, _ = train_val_split(items, val_fraction, 5)
    again = corpus_metrics(result.model, train)
    assert again.tokens == result.train.tokens == sum(len(s) + 1 for s in train)
    assert same(again.logprob, result.train.logprob)
    plain = math.fsum(_plain_logprob(result.model, s) for s in train)
    assert same(result.train.logprob, plain, 1e-5)
    assert result.train.oov == 0


@backend_cases
def test_save_load_scores_identically(
    backend: str, items: list[str], hp: dict[str, Any], tmp_path: Path
) -> None:
    model = fitted(backend, items, hp)
    back = load(save(model, tmp_path / "m.ngk")).model
    ctx = _all_contexts(model, limit=256)
    assert torch.equal(back.next_logprobs(ctx), model.next_logprobs(ctx))
    for item in items[:3]:
        assert back.logprob(item) == model.logprob(item) or (
            math.isnan(back.logprob(item)) and math.isnan(model.logprob(item))
        )
    assert back.sample(5, seed=3, cut=30) == model.sample(5, seed=3, cut=30)


@backend_cases
def test_seeded_fit_and_sampling_are_reproducible(
    backend: str, items: list[str], hp: dict[str, Any], tmp_path: Path
) -> None:
    a, b = fitted(backend, items, hp), fitted(backend, items, hp)
    ctx = _all_contexts(a, limit=256)
    assert torch.equal(a.next_logprobs(ctx), b.next_logprobs(ctx))
    assert a.sample(8, seed=11, cut=40) == b.sample(8, seed=11, cut=40)


@backend_cases
def test_sampling_terminates_within_max_len(
    backend: str, items: list[str], hp: dict[str, Any], tmp_path: Path
) -> None:
    from ngramkit.sampling import DEFAULT_MAX_LEN

    model = fitted(backend, items, hp)
    vocab = model.require_fitted()
    for max_len, temperature in [(1, 1.0), (7, 1.0), (None, 0.25)]:
        out = model.sample(6, seed=2, cut=max_len, temperature=temperature)
        assert len(out) == 6
        cap = DEFAULT_MAX_LEN if max_len is None else max_len
        assert all(len(vocab.split(s)) <= cap for s in out), out
        assert all(set(vocab.split(s)) <= set(vocab.symbols) for s in out)


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(item=st.text(SYMBOL, min_size=1, max_size=50), n=st.integers(1, 5))
def test_one_item_corpus_learns_its_item(backend: str, item: str, n: int) -> None:
    """A corpus of one item (repeated n times): the item gets a finite log-probability."""
    assume(item.strip() == item)
    hp = {"order": 2, "steps": 3} if backend != "count" else {"order": 3, "smooth": 0.0}
    model = fitted(backend, [item] * n, hp)
    lp = model.logprob(item)
    assert math.isfinite(lp) and lp <= 1e-6


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_all_oov_items_are_counted_not_crashed(order: int) -> None:
    """Found by the eval invariant: a validation split of only OOV items crashed at order >= 2."""
    model = INSTALLED["count"](order=order).fit(Corpus.from_items(["ab", "ba"]))
    m = corpus_metrics(model, ["xy", "zz"])
    assert (m.tokens, m.oov, m.logprob) == (0, 2, 0.0)
    assert Corpus.from_items(["xy"], model.require_fitted()).grams(order).shape == (0, order)
