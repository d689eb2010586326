"""score_batch (the char token-stream fast path) against a plain loop and the Corpus path."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ngramkit import CountLM
from ngramkit.corpus import Corpus
from ngramkit.evaluate import item_logprobs, score_batch

TRAIN = ["ab", "abc", "ba", "c", "aab", "cab"]


def plain_logprob(train: list[str], item: str, order: int, k: float) -> float:
    """Add-k n-gram log p of `item` from counts taken in a plain loop."""
    symbols = sorted(set("".join(train)))
    V = len(symbols) + 1
    counts: dict[tuple[str, ...], int] = {}
    totals: dict[tuple[str, ...], int] = {}
    for s in train:
        padded = ["<s>"] * (order - 1) + list(s) + ["</s>"]
        for i in range(order - 1, len(padded)):
            ctx = tuple(padded[i - order + 1 : i])
            counts[(*ctx, padded[i])] = counts.get((*ctx, padded[i]), 0) + 1
            totals[ctx] = totals.get(ctx, 0) + 1
    padded = ["<s>"] * (order - 1) + list(item) + ["</s>"]
    total = 0.0
    for i in range(order - 1, len(padded)):
        ctx = tuple(padded[i - order + 1 : i])
        c, t = counts.get((*ctx, padded[i]), 0), totals.get(ctx, 0)
        total += math.log((c + k) / (t + k * V)) if t else math.log(1 / V)
    return total


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_matches_a_plain_loop(order: int) -> None:
    model = CountLM(order=order, smooth=0.5).fit(TRAIN)
    items = ["", "a", "abcabc", "cc", "bbbb", "ab"]
    got = score_batch(model, items)
    want = [plain_logprob(TRAIN, s, order, 0.5) for s in items]
    assert got.logprob.tolist() == pytest.approx(want, rel=1e-12)
    assert got.lengths.tolist() == [len(s) for s in items]
    assert not got.oov.any()


@settings(max_examples=60, deadline=None)
@given(
    items=st.lists(st.text(alphabet="abcxé\n", max_size=8), min_size=1, max_size=12),
    order=st.integers(1, 4),
)
def test_same_numbers_as_the_corpus_path(items: list[str], order: int) -> None:
    model = CountLM(order=order, smooth=1.0).fit(TRAIN)
    got = score_batch(model, items)
    corpus = Corpus.from_items(items, model.vocab)
    assume(corpus.n_tokens > 0)  # item_logprobs needs one in-vocabulary item
    want = item_logprobs(model, corpus)
    assert torch.equal(got.oov, corpus.oov)
    assert torch.allclose(got.logprob, want, equal_nan=True, rtol=0, atol=1e-12)


def test_unknown_symbols_beyond_the_table() -> None:
    model = CountLM(order=2).fit(TRAIN)
    got = score_batch(model, ["ab", "a日", "🙂", "é", "ba"])
    assert got.oov.tolist() == [False, True, True, True, False]
    assert math.isnan(got.logprob[1]) and math.isfinite(got.logprob[4])
    assert got.lengths.tolist() == [2, 2, 1, 1, 2]  # OOV items keep their length


@pytest.mark.parametrize("items", [[], ["日本", "é"]])
def test_nothing_in_vocabulary(items: list[str]) -> None:
    got = score_batch(CountLM(order=3).fit(TRAIN), items)
    assert got.oov.tolist() == [True] * len(items)
    assert bool(got.logprob.isnan().all()) and got.lengths.tolist() == [2, 1][: len(items)]
