"""The large-fit paths (issue 18): grouped merges, threaded chunk counting, item runs,
the training NLL from stored n-grams, first-seen training items. Each against a plain
reference: a dict of counts, a Python loop, the one-thread path, the generic scorer."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ngramkit import CountLM, NgramCounts, threads
from ngramkit import corpus as corpus_module
from ngramkit.corpus import FOLD_SHARE, Corpus, item_runs
from ngramkit.counts import count_keys, grouped, merge_all, merge_many, merge_sorted
from ngramkit.model import FirstSeen, marks
from ngramkit.persist import load, save
from ngramkit.reader import parse_text
from ngramkit.tokenizer import Vocabulary

NAMES = Path(__file__).resolve().parents[1] / "examples" / "names.txt"

tables = st.lists(
    st.dictionaries(st.integers(0, 200), st.integers(1, 9), max_size=30), min_size=1, max_size=8
)


def as_top(d: dict[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    keys = sorted(d)
    return torch.tensor(keys, dtype=torch.long), torch.tensor([d[k] for k in keys]).long()


@settings(max_examples=60, deadline=None)
@given(parts=tables, limit=st.integers(1, 60))
def test_merges_sum_counts_as_a_dict_does(parts: list[dict[int, int]], limit: int) -> None:
    want: Counter[int] = Counter()
    for d in parts:
        want.update(d)
    tops = [as_top(d) for d in parts]
    for keys, counts in (merge_many(tops), merge_all(grouped(iter(tops), limit), merge_sorted)):
        assert keys.tolist() == sorted(set(keys.tolist()))  # sorted and unique
        assert dict(zip(keys.tolist(), counts.tolist())) == dict(want)


def test_grouped_yields_nothing_for_no_parts() -> None:
    assert list(grouped(iter([]))) == []


def plain_runs(items: list[str], chunk: int) -> list[tuple[int, int]]:
    """The runs item_runs cuts, by the loop it replaced."""
    out, start, size = [], 0, 0
    for i, item in enumerate(items):
        size += len(item) + 1
        if size >= chunk:
            out.append((start, i + 1))
            start, size = i + 1, 0
    if start < len(items) or not items:
        out.append((start, len(items)))
    return out


@settings(max_examples=200, deadline=None)
@given(items=st.lists(st.text(alphabet="ab", max_size=12), max_size=30), chunk=st.integers(1, 40))
def test_item_runs_cut_as_the_plain_loop(items: list[str], chunk: int) -> None:
    assert list(item_runs(items, chunk)) == plain_runs(items, chunk)


def test_in_order_keeps_order_bounds_pending_and_raises() -> None:
    live, most = 0, 0
    lock = threading.Lock()

    def slow(x: int) -> int:
        nonlocal live, most
        with lock:
            live += 1
            most = max(most, live)
        time.sleep(random.random() / 500)
        with lock:
            live -= 1
        return x * x

    assert list(threads.in_order(slow, range(50), 3)) == [x * x for x in range(50)]
    assert most <= 3
    assert list(threads.in_order(slow, [4], 3)) == [16]  # one item: no pool
    drawn = 0

    def source() -> Iterator[int]:
        nonlocal drawn
        for x in range(200):
            drawn += 1
            yield x

    results = threads.in_order(slow, source(), 2)
    assert next(results) == 0
    assert drawn == threads.AHEAD * 2  # queued ahead, no more
    assert list(results) == [x * x for x in range(1, 200)]

    def bad(x: int) -> int:
        if x == 7:
            raise ValueError("seven")
        return x

    with pytest.raises(ValueError, match="seven"):
        list(threads.in_order(bad, range(20), 2))


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_threaded_counting_is_the_one_thread_table(
    workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = NAMES.read_text().split()
    corpus = Corpus.from_items(items)
    one = NgramCounts.count(corpus, 4, chunk_tokens=1 << 12)
    monkeypatch.setattr(threads, "pool_size", lambda: workers)
    many = NgramCounts.count(Corpus.from_items(items), 4, chunk_tokens=1 << 12)
    assert torch.equal(one.top_keys, many.top_keys)
    assert torch.equal(one.top_counts, many.top_counts)


ESTIMATES = [
    (smooth, order)
    for smooth in (0.5, "kn", "mkn", "wb", "abs")
    for order in (1, 2, 3, 5)
    if not (smooth in ("kn", "mkn") and order == 1)  # Kneser-Ney needs a lower order
]


@pytest.mark.parametrize(("smooth", "order"), ESTIMATES)
@pytest.mark.parametrize("unk", [False, True])
def test_training_nll_reads_stored_ngrams_exactly(smooth: object, order: int, unk: bool) -> None:
    items = NAMES.read_text().split()[:3000]
    model = CountLM(order=order, smooth=smooth, unk=unk).fit(items)
    est = model.scorer_.estimate
    counts = NgramCounts.count(Corpus.from_items(items, model.vocab), order)
    keys = counts.top_keys
    assert torch.equal(est.counted_logprobs(keys), est.distinct_logprobs(keys))
    other = torch.randint(0, len(model.vocab) ** order, (500,)).unique()  # mostly unseen
    assert torch.equal(est.counted_logprobs(other), est.distinct_logprobs(other))


def test_first_seen_is_a_set_in_first_order_and_files_keep_it(tmp_path: Path) -> None:
    seen = FirstSeen(["b", "a", "b", "c", "a"])
    assert list(seen) == ["b", "a", "c"] and len(seen) == 3
    assert "a" in seen and "z" not in seen and seen == {"a", "b", "c"}
    items = ["emma", "olivia", "ava", "emma", "zoë"]
    model = CountLM(order=2).fit(items)
    assert list(model.training.seen) == ["emma", "olivia", "ava", "zoë"]
    path = save(model, tmp_path / "m.ngk")
    back = load(path).model
    assert list(back.training.seen) == ["emma", "olivia", "ava", "zoë"]
    save(back, tmp_path / "again.ngk")
    assert (tmp_path / "again.ngk").read_bytes() == path.read_bytes()
    asked = ["ava", "bob", "zoë", "Emma", "emma"]
    want = [True, False, True, False, True]
    for kept in (model.training.seen, back.training.seen, frozenset(items), seen):
        assert marks(kept, asked) == [s in kept for s in asked]  # FirstSeen, SeenItems, set
    assert marks(back.training.seen, asked) == want


@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet="ab \n\r", max_size=60))
def test_reader_counts_distinct_items_as_a_set_does(text: str) -> None:
    words = parse_text("t", text, block=4)
    assert words.counted == len(set(words.items)) == words.distinct


@settings(max_examples=60, deadline=None)
@given(
    d=st.dictionaries(st.integers(0, 5000), st.integers(1, 9), min_size=1, max_size=200),
    slice_=st.integers(1, 40),
    space=st.sampled_from([7, 50, 2000]),
)
def test_suffix_sums_slice_by_slice_equal_a_dict(
    d: dict[int, int], slice_: int, space: int
) -> None:
    from ngramkit import counts as counts_module

    keys, cnt = as_top(d)
    want: Counter[int] = Counter()
    for k, c in d.items():
        want[k % space] += c
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(counts_module, "SUFFIX_SLICE", slice_)
        mp.setattr(counts_module, "BINCOUNT_LIMIT", 0)  # the sorting path
        got_k, got_c = counts_module.suffix_sums(keys, cnt, space)
    assert dict(zip(got_k.tolist(), got_c.tolist())) == dict(want)
    assert got_k.tolist() == sorted(want)


# -- the estimate one order at a time (levels.level_counts, interpolate.estimate) --


def plain_estimate(counts: NgramCounts, method, D: list) -> list[torch.Tensor]:
    """log p of every stored n-gram, order by order, from whole arrays: the formulas of
    methods.py with the table's own lower orders, one index_add per level."""
    V, N = counts.vocab_size, counts.order
    out, p_below, below = [], None, None
    for k in range(1, N + 1):
        keys, raw = counts.keys[k - 1], counts.counts[k - 1]
        a = raw.clone()
        if method.continuation and k < N:
            suffix = counts.keys[k] % V**k
            a = torch.bincount(torch.searchsorted(keys, suffix), minlength=len(keys))
            if k >= 2:
                a = torch.where(keys < V ** (k - 1), raw, a)
        start = 0 if k < 3 else int(torch.searchsorted(keys, V ** (k - 2)))
        keys, a = keys[start:], a[start:].double()
        ctx, ctx_of = torch.unique_consecutive(keys // V, return_inverse=True)
        Dk = torch.tensor(D[k - 1], dtype=torch.float64)
        if method.n_discounts == 0:
            d = torch.zeros_like(a)
        elif method.n_discounts == 1:
            d = Dk[0].expand_as(a)
        else:
            d = Dk[(a.clamp(max=3) - 1).long()]
        d = torch.minimum(d, a)
        total = torch.zeros(len(ctx), dtype=torch.float64).index_add(0, ctx_of, a)
        taken = torch.zeros(len(ctx), dtype=torch.float64).index_add(0, ctx_of, d)
        if method.witten_bell:
            extra = torch.bincount(ctx_of, minlength=len(ctx)).double()
            total, taken = total + extra, taken + extra
        gamma = taken / total
        alpha = (a - d) / total[ctx_of]
        if k == 1:
            p = torch.full((V,), float(gamma[0]) * (1.0 / V), dtype=torch.float64)
            p[keys] += alpha
        else:
            at = keys % V if k == 2 else torch.searchsorted(below, keys % V ** (k - 1))
            p = p_below[at] * gamma[ctx_of] + alpha
        out.append(p.log())
        p_below, below = p, keys
    return out


@pytest.mark.parametrize("smooth", ["kn", "mkn", "wb", "abs"])
@pytest.mark.parametrize("order", [2, 3, 5])
@pytest.mark.parametrize("slice_keys", [3, 2**18])
def test_estimate_by_runs_of_contexts_equals_whole_arrays(
    smooth: str, order: int, slice_keys: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiny slices cut the levels into many runs of whole contexts; the tables are the
    whole-array estimate's, bit for bit, and so is every order's discounts."""
    from ngramkit.smoothing import levels
    from ngramkit.smoothing.methods import METHODS

    monkeypatch.setattr(levels, "SLICE", slice_keys)
    items = NAMES.read_text().split()[:3000]
    model = CountLM(order=order, smooth=smooth).fit(items)
    counts = NgramCounts.count(Corpus.from_items(items, model.vocab), order)
    want = plain_estimate(counts, METHODS[smooth], model.learned_["discounts"])
    for k, lp in enumerate(want, 1):
        assert torch.equal(model.estimate_.logp[k - 1], lp), k


@settings(max_examples=80, deadline=None)
@given(
    keys=st.sets(st.integers(0, 5**4 - 1), max_size=80),
    V=st.sampled_from([2, 3, 5]),
    size=st.integers(1, 9),
)
def test_context_slices_cover_the_keys_and_keep_each_context_whole(
    keys: set[int], V: int, size: int
) -> None:
    from ngramkit.smoothing import levels

    t = torch.tensor(sorted(k for k in keys if k < V**4), dtype=torch.long)
    old = levels.SLICE
    levels.SLICE = size
    try:
        parts = list(levels.context_slices(t, V))
        count = levels.context_count(t, V)
    finally:
        levels.SLICE = old
    assert torch.equal(torch.cat([t[p] for p in parts]) if parts else t, t)
    owners = [{int(x) // V for x in t[p]} for p in parts]
    assert sum(map(len, owners)) == len(set().union(*owners)) == count  # no context in two
    assert count == len({int(x) // V for x in t})


@pytest.mark.parametrize("smooth", ["kn", "mkn", "wb", "abs"])
@pytest.mark.parametrize("order", [2, 3])
def test_a_vocabulary_symbol_never_seen_leaves_every_row_summing_to_one(
    smooth: str, order: int
) -> None:
    """'c' is in the vocabulary but not in the items: the bigram level backs off to the
    dense unigram of each token id (it once took the position among counted
    unigrams, which a missing symbol shifts, and rows summed to 0.94)."""
    import itertools

    from ngramkit.tokenizer import Vocabulary

    vocab = Vocabulary("char", ("a", "b", "c", "d"))
    model = CountLM(order=order, smooth=smooth).fit(
        Corpus.from_items(["ab", "ba", "bd", "dab"], vocab)
    )
    V = len(vocab)
    ctx = torch.tensor(list(itertools.product(range(V), repeat=order - 1)))
    rows = model.next_logprobs(ctx).exp().sum(1)
    torch.testing.assert_close(rows, torch.ones(len(ctx), dtype=torch.float64))


def window_counts(items: list[str], vocab: Vocabulary, order: int) -> Counter[int]:
    """The order-N key counts of `items` by a plain loop: each item padded with N-1
    boundaries in front and one after, every window of N tokens counted once."""
    V, want = len(vocab), Counter[int]()
    for item in items:
        if any(s not in vocab.stoi for s in item):
            continue  # OOV: left out
        ids = [0] * (order - 1) + [vocab.stoi[s] for s in item] + [0]
        for i in range(len(ids) - order + 1):
            key = 0
            for t in ids[i : i + order]:
                key = key * V + t
            want[key] += 1
    return want


@settings(max_examples=40, deadline=None)
@given(
    pool=st.lists(st.text(alphabet="abc", min_size=1, max_size=6), min_size=1, max_size=8),
    picks=st.lists(st.integers(0, 7), min_size=1, max_size=60),
    order=st.integers(1, 4),
    closed=st.booleans(),
)
def test_a_corpus_of_repeats_counts_folded_as_the_plain_loop(
    pool: list[str], picks: list[int], order: int, closed: bool
) -> None:
    items = [pool[i % len(pool)] for i in picks]  # many repeats
    vocab = Vocabulary.build(["ab"] if closed else items)  # closed: items with "c" are OOV
    with pytest.MonkeyPatch.context() as mp:  # large (lazy) for a handful of items
        mp.setattr(corpus_module, "LAZY_MIN_ITEMS", 0)
        mp.setattr(corpus_module, "ENCODE_CHUNK", 2)
        corpus = Corpus.from_items(items, vocab)
        assert corpus.folded() is not None or len(set(items)) > FOLD_SHARE * len(items)
        got = NgramCounts.count(corpus, order, chunk_tokens=7)
    assert dict(zip(got.top_keys.tolist(), got.top_counts.tolist())) == window_counts(
        items, vocab, order
    )
    oov = sum(any(s not in vocab.stoi for s in item) for item in items)
    assert (got.provenance.items, got.provenance.oov) == (len(items), oov)


@settings(max_examples=40, deadline=None)
@given(
    items=st.lists(st.text(alphabet="abc", max_size=6), min_size=1, max_size=30),
    data=st.data(),
    lazy=st.booleans(),
)
def test_weighted_pieces_weigh_each_token_by_its_item(
    items: list[str], data: st.DataObject, lazy: bool
) -> None:
    weights = data.draw(st.lists(st.integers(1, 5), min_size=len(items), max_size=len(items)))
    vocab = Vocabulary.build(["ab"])  # items holding "c" are OOV, left out with their weights
    with pytest.MonkeyPatch.context() as mp:
        if lazy:
            mp.setattr(corpus_module, "LAZY_MIN_ITEMS", 0)
            mp.setattr(corpus_module, "ENCODE_CHUNK", 2)
        corpus = Corpus.from_items(items, vocab, weights=weights)
        pieces = [piece() for piece in corpus.weighted_pieces(5)]
    want = [w for s, w in zip(items, weights) if "c" not in s for _ in range(len(s) + 1)]
    assert [w for _, ws in pieces for w in ws.tolist()] == want
    for stream, ws in pieces:
        assert len(stream) == len(ws) + 1 and int(stream[0]) == 0


def test_item_counts_and_folding() -> None:
    corpus = Corpus.from_items(["b", "a", "b", "b"])
    assert list(corpus.item_counts.items()) == [("b", 3), ("a", 1)]  # first seen
    weighted = Corpus.from_items(["b", "a", "b"], weights=[2, 5, 1])
    assert weighted.item_counts == {"b": 3, "a": 5}
    assert weighted.folded() is None and corpus.folded() is None  # weighted; small
    shared = FirstSeen(corpus.item_counts)  # a dict's keys: shared, not copied
    assert list(shared) == ["b", "a"] and "a" in shared and len(shared) == 2


def test_count_keys_weighted_sums_weights() -> None:
    x = torch.tensor([5, 1, 5, 3, 1, 5])
    w = torch.tensor([1, 2, 3, 4, 5, 6])
    for space in (8, 2**40):  # bincount and sort paths
        keys, counts = count_keys(x, space, w)
        assert keys.tolist() == [1, 3, 5] and counts.tolist() == [7, 4, 10]


def test_count_on_sets_the_pool_within_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "_counting", None)
    monkeypatch.setattr(threads, "_cores", lambda: 3)
    threads.count_on(2)
    assert threads.pool_size() == 2
    threads.count_on(8)
    assert threads.pool_size() == 3  # no more than the cores
    monkeypatch.setattr(threads, "_cores", lambda: 16)
    assert threads.pool_size() == threads.MAX_THREADS


def test_a_memory_budget_counts_on_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    from ngramkit import memory

    monkeypatch.setattr(threads, "_cores", lambda: 4)
    monkeypatch.setattr(threads, "_counting", 2)  # the CLI's count_on(2)
    assert threads.pool_size() == 2
    with memory.budget(2**30):
        assert threads.pool_size() == 1
