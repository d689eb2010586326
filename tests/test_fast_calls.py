"""One-item calls, the two-level rows index and the sampler's rows: the batch path's numbers."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import ngramkit.keys as keys
from ngramkit import CountLM
from ngramkit import sampling as sampling_module
from ngramkit.backends import context_rows
from ngramkit.corpus import Corpus
from ngramkit.evaluate import score_batch, token_breakdown
from ngramkit.keys import HashIndex, find, gram_keys
from ngramkit.model import LanguageModel

SMOOTHS: list[float | str] = [0.0, 1.0, 0.5, "kn", "mkn", "wb", "abs"]
ODD = ["", "a", "zzzzzzzzzzzzzzzzzzzz", "qxqj", "annabellelizabeth", "é", "ab1"]


def batch_tokens(model: CountLM, items: list[str]) -> list[list[float]]:
    """Each item's token log p as the batch path (corpus_logprobs) gives them."""
    corpus = Corpus.from_items(items, model.vocab)
    lp = model.corpus_logprobs(corpus).tolist()
    owner = corpus.target_items().tolist()
    out: list[list[float]] = [[] for _ in items]
    for i, x in zip(owner, lp):
        out[i].append(x)
    return out


@pytest.mark.parametrize("unk", [False, True])
@pytest.mark.parametrize("order", [1, 2, 3, 4, 5, 6])
def test_one_item_calls_equal_the_batch_path(names: list[str], order: int, unk: bool) -> None:
    """Equality, not closeness: the same floats as score_batch, before and after the rows."""
    train = names[:1500]
    items = random.Random(order).sample(names, 60) + ODD
    for smooth in SMOOTHS:
        if smooth in ("kn", "mkn") and order == 1:
            continue
        model = CountLM(order=order, smooth=smooth, unk=unk).fit(train)
        ok = [w for w in items if unk or not model.vocab.unknown(w)]
        for built in (False, True):
            if built:  # from here the calls read the rows as Python buffers
                assert model.scorer_.compact_rows() is not None
            got = [model.logprob(w) for w in ok]
            assert got == score_batch(model, ok).logprob.tolist(), (smooth, built)
            assert [model.token_scores(w) for w in ok] == batch_tokens(model, ok), (smooth, built)
            base = [LanguageModel.logprob(model, w) for w in ok]  # the base class's path
            assert got == pytest.approx(base, rel=1e-12, abs=1e-12)


def test_token_breakdown_of_a_count_model(names: list[str]) -> None:
    model = CountLM(order=3, smooth="mkn").fit(names)
    rows = token_breakdown(model, "emma")
    assert [(r.context, r.token) for r in rows] == [
        ("..", "e"),
        (".e", "m"),
        ("em", "m"),
        ("mm", "a"),
        ("ma", "."),
    ]
    assert [r.logprob for r in rows] == batch_tokens(model, ["emma"])[0]
    assert math.fsum(r.logprob for r in rows) == pytest.approx(model.logprob("emma"))


@pytest.mark.parametrize("kind", ["char", "word"])
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_token_breakdown_windows_at_every_order(kind: str, order: int) -> None:
    """Each row's context is the n-1 tokens before it (boundaries in front, joined by the
    vocabulary's separator), the token, and token_scores' float for it."""
    items = ["ann bo", "bo cy ann", "cy", "ann ann bo"] if kind == "word" else ["anna", "bob"]
    model = CountLM(order=order, smooth=0.5, unk=True).fit(Corpus.from_items(items, kind=kind))
    vocab = model.vocab
    for item in [*items, "ann zed" if kind == "word" else "anza"]:  # an unknown symbol too
        symbols = [vocab.tokens[i] for i in vocab.encode(item)]
        padded = ["."] * (order - 1) + symbols + ["."]
        want = [
            (vocab.separator.join(padded[t - order + 1 : t]), padded[t])
            for t in range(order - 1, len(padded))
        ]
        rows = token_breakdown(model, item)
        assert [(r.context, r.token) for r in rows] == want
        assert [r.logprob for r in rows] == model.token_scores(item)


def test_one_call_does_not_build_the_rows_many_do(names: list[str]) -> None:
    model = CountLM(order=5, smooth="mkn").fit(names[:4000])
    scorer = model.scorer_
    assert scorer.dense is None
    model.logprob("emma")
    assert scorer.rows is None  # a single call pays no build
    for w in names[:2000]:
        model.logprob(w)
    assert scorer.rows is not None  # ... a stream of calls does (ski rental)


def random_contexts(V: int, order: int, n: int, seed: int) -> torch.Tensor:
    """Context keys of n contexts with 0..order-1 leading boundaries and stray inner 0s."""
    g = torch.Generator().manual_seed(seed)
    ctx = torch.randint(0, V, (n, order - 1), generator=g)
    ctx[torch.rand(n, order - 1, generator=g) < 0.1] = 0
    lead = torch.randint(0, order, (n,), generator=g)
    ctx[torch.arange(order - 1)[None, :] < lead[:, None]] = 0
    return gram_keys(ctx, V)


@pytest.mark.parametrize("smooth", [1.0, "mkn", "wb"])
@pytest.mark.parametrize("order", [5, 6, 7])
def test_two_level_index_gives_the_estimate(
    names: list[str], smooth: float | str, order: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Order 6 and 7 on names take sparse levels over the dense one (order 5 too, with a
    smaller dense limit); tensor and Python lookups give the estimate's floats."""
    if order == 5:
        monkeypatch.setattr(context_rows, "INDEX_LIMIT", 27**2)
    est = CountLM(order=order, smooth=smooth).fit(names[:4000]).estimate_
    rows = context_rows.build(est)
    assert rows.sparse  # a two-level index
    V = est.vocab_size
    ctx = random_contexts(V, order, 5000, seed=order)
    tg = torch.randint(0, V, (len(ctx),), generator=torch.Generator().manual_seed(1))
    want = est.key_logprobs(ctx * V + tg)
    assert torch.equal(rows.token_logprobs(ctx, tg), want)
    scalar = rows.scalar()
    got = [scalar.values[scalar.row(c) * V + w] for c, w in zip(ctx.tolist(), tg.tolist())]
    assert got == want.tolist()
    if order == 6:  # the same numbers as the sparse path in a whole evaluation
        model = CountLM(order=6, smooth=smooth).fit(names[:4000])
        corpus = Corpus.from_items(names[4000:6000], model.vocab)
        slow = model.corpus_logprobs(corpus)
        model.scorer_.compact_rows()
        assert model.scorer_.rows is not None
        assert torch.equal(model.corpus_logprobs(corpus), slow)


# (HASH_MIN, HASH_QUERIES, BLOCK_LIMIT) that force each lookup of the sparse levels
SPARSE_PATHS = {"blocks": (10**9, 0, 2**23), "hash": (0, 0, 0), "search": (10**9, 10**9, 0)}


def force_path(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    """Make ContextRows.row_of look the sparse levels up by `path` (SPARSE_PATHS)."""
    for name, value in zip(("HASH_MIN", "HASH_QUERIES", "BLOCK_LIMIT"), SPARSE_PATHS[path]):
        monkeypatch.setattr(context_rows, name, value)


def used_path(rows: context_rows.ContextRows) -> str:
    """The lookup the last row_of took (the blocks and hash indexes are built on use)."""
    if rows.__dict__.get("_blocks") is not None:
        return "blocks"
    return "hash" if any("_index" in level.__dict__ for level in rows.sparse) else "search"


@pytest.mark.parametrize("path", list(SPARSE_PATHS))
def test_sparse_levels_by_blocks_hash_or_binary_search_give_the_estimate(
    names: list[str], path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every sparse level looked up by the suffix blocks, keys.HashIndex or searchsorted."""
    force_path(monkeypatch, path)
    est = CountLM(order=6, smooth="mkn").fit(names[:3000]).estimate_
    rows = context_rows.build(est)
    assert rows.sparse and min(len(level.keys) for level in rows.sparse) > 0
    V = est.vocab_size
    ctx = random_contexts(V, 6, 4000, seed=11)
    tg = torch.randint(0, V, (len(ctx),), generator=torch.Generator().manual_seed(2))
    assert torch.equal(rows.token_logprobs(ctx, tg), est.key_logprobs(ctx * V + tg))
    assert used_path(rows) == path


@settings(max_examples=40, deadline=None)
@example(items=["a"], order=4, depth=0, smooth="mkn")  # the top level below N - 1 tokens
@example(items=["ab", "ba", "cab"], order=6, depth=3, smooth="wb")  # start rows folded in
@given(
    items=st.lists(st.text("abc", min_size=1, max_size=7), min_size=1, max_size=40),
    order=st.integers(2, 6),
    depth=st.integers(0, 3),
    smooth=st.sampled_from([0.5, "mkn", "wb"]),
)
def test_every_context_by_every_lookup_gives_the_estimate(
    items: list[str], order: int, depth: int, smooth: float | str
) -> None:
    """All V^(N-1) contexts of a small model (V = 4: boundaries anywhere, floors, dense
    levels of 0..3 tokens under 1..5 sparse ones), each looked up all three ways."""
    model = CountLM(order=order, smooth=smooth).fit(items)
    est, V = model.estimate_, model.estimate_.vocab_size
    ctx = torch.arange(V ** (order - 1))
    tg = torch.randint(0, V, (len(ctx),), generator=torch.Generator().manual_seed(order))
    want = est.key_logprobs(ctx * V + tg)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(context_rows, "INDEX_LIMIT", V**depth)
        rows = context_rows.build(est)
        for path in SPARSE_PATHS:
            force_path(mp, path)
            fresh = replace(rows, sparse=tuple(replace(lv) for lv in rows.sparse))  # unindexed
            assert torch.equal(fresh.token_logprobs(ctx, tg), want), path
            assert used_path(fresh) == (path if rows.sparse else "search")


@settings(max_examples=80, deadline=None)
@given(
    stored=st.sets(st.integers(0, 2**40), max_size=300),
    extra=st.lists(st.integers(0, 2**40), max_size=200),
    narrow=st.booleans(),
)
def test_hash_index_finds_what_binary_search_finds(
    stored: set[int], extra: list[int], narrow: bool
) -> None:
    space = 2**31 if narrow else 2**41  # keys held as int32, or int64 hashed by a prime
    if narrow:
        stored, extra = {k % space for k in stored}, [k % space for k in extra]
    sorted_keys = torch.tensor(sorted(stored), dtype=torch.long)
    query = torch.tensor([*stored, *extra, *(k + 1 for k in stored)], dtype=torch.long)
    query = query[query < space]
    pos, hit = HashIndex(sorted_keys, space).find(query)
    want_pos, want_hit = find(sorted_keys, query)
    assert torch.equal(hit, want_hit)
    assert torch.equal(pos[hit], want_pos[want_hit])
    assert hit.tolist() == [q in stored for q in query.tolist()]


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5, 6])
def test_sampler_rows_draw_as_the_plain_path(
    names: list[str], order: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sampler walking compact rows (forced at every order) draws the plain loop's
    items: one multinomial per token through next_logprobs (the one-by-one path)."""
    model = CountLM(order=order, smooth="mkn" if order > 1 else 0.5).fit(names[:2000])
    monkeypatch.setattr(sampling_module, "_TABLE_CELLS", 0)  # never the full table
    cases = [{}, {"temperature": 0.7, "top_k": 5}, {"top_p": 0.8, "prefix": "an"}]
    fast = [model.sample(30, seed=11, **kw) for kw in cases]
    monkeypatch.setattr(keys, "MAX_KEY", 10)  # context keys "overflow": one by one
    assert [model.sample(30, seed=11, **kw) for kw in cases] == fast


def test_lecture_samples_unchanged_at_orders_5_and_6(names: list[str]) -> None:
    """At order 5 and 6 (no full table: the rows) the lecture's seed draws the plain items."""
    for order in (5, 6):
        model = CountLM(order=order, smooth=1.0).fit(names)
        fast = model.sample(15, seed=2147483647)
        assert sampling_module._Rows(model, 1.0).index is not None  # walked through rows
        stream = sampling_module.ItemStream(model, seed=2147483647)
        assert sampling_module._sample_one_by_one(stream, 15) == fast
