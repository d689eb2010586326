"""The count backend against the lecture's figures and plain reference loops."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ngramkit import Corpus, CountLM, NgramCounts
from ngramkit.evaluate import corpus_metrics


def reference_nll(words: list[str], order: int, k: float) -> float:
    """A float64 loop over every n-gram, as the lecture counts them."""
    counts: Counter[tuple[str, ...]] = Counter()
    ctx_counts: Counter[tuple[str, ...]] = Counter()
    for w in words:
        chs = ["."] * (order - 1) + list(w) + ["."]
        for i in range(order - 1, len(chs)):
            counts[tuple(chs[i - order + 1 : i + 1])] += 1
            ctx_counts[tuple(chs[i - order + 1 : i])] += 1
    V = len(set("".join(words))) + 1
    total, n = 0.0, 0
    for gram, c in counts.items():
        total += c * math.log((c + k) / (ctx_counts[gram[:-1]] + k * V))
        n += c
    return -total / n


@pytest.mark.parametrize(("k", "expected"), [(0.0, 2.454014), (1.0, 2.454577)])
def test_lecture_bigram_nll(names: list[str], k: float, expected: float) -> None:
    model = CountLM(order=2, smooth=k).fit(names)
    m = corpus_metrics(model, names)
    assert m.tokens == 228_146
    assert round(m.nll, 6) == expected
    assert m.nll == pytest.approx(reference_nll(names, 2, k), abs=1e-12)


@pytest.mark.parametrize("order", [1, 3, 4, 6])
def test_higher_orders_match_reference(names: list[str], order: int) -> None:
    sub = names[:3000]
    model = CountLM(order=order, smooth=0.5).fit(sub)
    assert corpus_metrics(model, sub).nll == pytest.approx(reference_nll(sub, order, 0.5), abs=1e-9)


def test_order6_stores_only_seen_ngrams(names: list[str]) -> None:
    model = CountLM(order=6, smooth=1).fit(names)
    assert model.scorer_.dense is None  # 27^6 cells would not be dense
    assert len(model.estimate_.keys) < 250_000  # distinct 6-grams, not 27^6 = 387M
    assert model.summary()["table"] == "sparse"


def test_andrejq_infinite_unsmoothed_finite_smoothed(names: list[str]) -> None:
    assert CountLM(order=2, smooth=0).fit(names).logprob("andrejq") == -math.inf
    assert math.isfinite(CountLM(order=2, smooth=1).fit(names).logprob("andrejq"))


def test_counts_of_small_corpus() -> None:
    # counts of ["ab", "b"] at order 2: (.,a)=1 (a,b)=1 (b,.)=2 (.,b)=1; V=3, key = t1*3 + t2
    counts = NgramCounts.count(Corpus.from_items(["ab", "b"]), 2)
    keys, cnt = counts.top()
    assert dict(zip(keys.tolist(), cnt.tolist())) == {
        0 * 3 + 1: 1,
        1 * 3 + 2: 1,
        2 * 3 + 0: 2,
        0 * 3 + 2: 1,
    }
    assert counts.tokens == 5


def test_merge_equals_counting_everything(names: list[str]) -> None:
    vocab = Corpus.from_items(names).vocab
    a = NgramCounts.count(Corpus.from_items(names[:1000], vocab), 3)
    b = NgramCounts.count(Corpus.from_items(names[1000:2500], vocab), 3)
    whole = NgramCounts.count(Corpus.from_items(names[:2500], vocab), 3)
    for merged in (a.merge(b), b.merge(a)):
        for k in range(3):
            assert torch.equal(merged.keys[k], whole.keys[k])
            assert torch.equal(merged.counts[k], whole.counts[k])


def test_unseen_context_is_uniform() -> None:
    model = CountLM(order=3, smooth=0).fit(["ab", "ba"])
    ctx = torch.tensor([[2, 2]])  # (b, b) never seen
    row = model.next_logprobs(ctx).exp()
    assert torch.allclose(row, torch.full((1, 3), 1 / 3, dtype=torch.float64))


@pytest.mark.parametrize("order", [2, 5])
def test_sparse_and_dense_agree(
    names: list[str], order: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    dense = CountLM(order=order, smooth=0.3).fit(names[:500])
    from ngramkit.smoothing.addk import AddK

    monkeypatch.setattr(AddK, "dense_cells", 0)
    sparse = CountLM(order=order, smooth=0.3).fit(names[:500])
    assert sparse.scorer_.dense is None
    grams, _ = Corpus.from_items(names[:800], dense.vocab).windows(order)
    ctx, tgt = grams[:, :-1], grams[:, -1]
    assert torch.allclose(dense.token_logprobs(ctx, tgt), sparse.token_logprobs(ctx, tgt))
    assert torch.allclose(dense.next_logprobs(ctx[:300]), sparse.next_logprobs(ctx[:300]))


words = st.lists(st.text(alphabet="abcé.", min_size=1, max_size=8), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(words, st.integers(1, 4), st.sampled_from([0.0, 0.1, 1.0]))
def test_rows_sum_to_one_and_logprob_is_sum(items: list[str], order: int, k: float) -> None:
    model = CountLM(order=order, smooth=k).fit(items)
    V = len(model.vocab)
    ctx = torch.randint(0, V, (20, order - 1), generator=torch.Generator().manual_seed(0))
    rows = model.next_logprobs(ctx)
    assert torch.allclose(rows.logsumexp(1), torch.zeros(20, dtype=rows.dtype), atol=1e-9)
    for item in items[:3]:
        grams = model.windows_of(item)
        per_token = model.next_logprobs(grams[:, :-1]).gather(1, grams[:, -1:]).sum()
        assert model.logprob(item) == pytest.approx(float(per_token), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="ab.", max_size=5), min_size=1, max_size=6), st.integers(1, 5))
def test_windows_match_a_plain_loop(items: list[str], order: int) -> None:
    corpus = Corpus.from_items(items)
    grams, item = corpus.windows(order)
    expected, owners = [], []
    for i, w in enumerate(items):
        ids = [0] * (order - 1) + corpus.vocab.encode(w) + [0]
        for j in range(order - 1, len(ids)):
            expected.append(ids[j - order + 1 : j + 1])
            owners.append(i)
    assert grams.tolist() == expected
    assert item.tolist() == owners
    assert corpus.n_tokens == len(expected)


def test_no_in_vocabulary_items_scores_nothing() -> None:
    model = CountLM(order=3).fit(["abc"])
    for items in ([], ["xyz", "q"]):
        corpus = Corpus.from_items(items, model.vocab)
        assert corpus.grams(3).shape == (0, 3)
        m = corpus_metrics(model, items)
        assert m.tokens == 0 and m.oov == len(items)


@pytest.mark.parametrize("smooth", [0.0, 1.0, "kn", "mkn", "wb"])
def test_fit_metrics_equal_rescoring_the_training_data(names: list[str], smooth: object) -> None:
    """The count backend measures its training NLL per distinct n-gram: same figure."""
    model = CountLM(order=3, smooth=smooth).fit(names[:4000])
    fast = model.fit_metrics()
    slow = corpus_metrics(model, names[:4000])
    assert fast is not None and fast.tokens == slow.tokens
    assert fast.logprob == pytest.approx(slow.logprob, rel=1e-12)
