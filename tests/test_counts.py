"""The count table: chunked counting, merging, and estimating from counts alone."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ngramkit import CountLM, NgramCounts, NgramkitError
from ngramkit.corpus import Corpus
from ngramkit.counts import FLOW_PRIME, _hash_sum, count_keys, counts_whole_items
from ngramkit.keys import gram_keys
from ngramkit.tokenizer import Vocabulary

NAMES = Path(__file__).resolve().parents[1] / "examples" / "names.txt"


def same(a: NgramCounts, b: NgramCounts) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.keys + a.counts, b.keys + b.counts))


def test_counts_by_plain_loop() -> None:
    """Order-3 counts against a loop over padded items (k-suffixes of windows)."""
    items = NAMES.read_text().split()[:200]
    corpus = Corpus.from_items(items)
    V = len(corpus.vocab)
    table = NgramCounts.count(corpus, 3)
    want = [Counter() for _ in range(3)]
    for item in items:
        seq = [0, 0, *corpus.vocab.encode(item), 0]
        for i in range(2, len(seq)):
            for k in range(1, 4):
                key = 0
                for t in seq[i - k + 1 : i + 1]:
                    key = key * V + t
                want[k - 1][key] += 1
    for k in range(3):
        got = dict(zip(table.keys[k].tolist(), table.counts[k].tolist()))
        assert got == dict(want[k])


@settings(max_examples=30, deadline=None)
@given(
    items=st.lists(st.text(alphabet="abc ", min_size=1, max_size=7), min_size=1, max_size=12),
    chunk=st.integers(1, 20),
    order=st.integers(1, 5),
)
def test_chunked_counting_equals_one_pass(items: list[str], chunk: int, order: int) -> None:
    vocab = Vocabulary.build(items)
    corpus = Corpus.from_items(items, vocab)
    windows = gram_keys(corpus.windows(order)[0], len(vocab))  # (T,) one key per window
    whole = NgramCounts(vocab, order, *torch.unique(windows, return_counts=True))
    assert same(NgramCounts.count(corpus, order, chunk_tokens=chunk), whole)
    assert same(NgramCounts.count_items(items, vocab, order, chunk_tokens=chunk), whole)
    half = len(items) // 2
    a = NgramCounts.count(Corpus.from_items(items[:half], vocab), order)
    b = NgramCounts.count(Corpus.from_items(items[half:], vocab), order)
    assert same(a.merge(b), whole) and same(b.merge(a), whole)


def test_count_keys_both_paths() -> None:
    x = torch.tensor([5, 1, 5, 3, 1, 5])
    small = count_keys(x, 8)
    big = count_keys(x, 2**40)
    assert small[0].tolist() == big[0].tolist() == [1, 3, 5]
    assert small[1].tolist() == big[1].tolist() == [2, 1, 3]


def test_fit_counts_equals_fit() -> None:
    items = NAMES.read_text().split()[:3000]
    vocab = Vocabulary.build(items)
    shards = [NgramCounts.count_items(items[i::3], vocab, 4) for i in range(3)]
    merged = shards[0].merge(shards[1]).merge(shards[2])
    for smooth in ("mkn", "wb", 0.5):
        a = CountLM(order=4, smooth=smooth).fit(Corpus.from_items(items, vocab))
        b = CountLM(order=4, smooth=smooth).fit_counts(merged, vocab)
        for item in ("emma", "zq", items[5]):
            assert b.logprob(item) == pytest.approx(a.logprob(item), abs=1e-12)


def test_fit_counts_refuses_tuning_and_mismatch() -> None:
    items = ["abc", "abd"]
    vocab = Vocabulary.build(items)
    counts = NgramCounts.count_items(items, vocab, 3)
    with pytest.raises(NgramkitError, match="needs the items"):
        CountLM(order=3, smooth="kn", tune=True).fit_counts(counts, vocab)
    with pytest.raises(NgramkitError, match="do not fit"):
        CountLM(order=2, smooth="kn").fit_counts(counts, vocab)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.text(alphabet="ab.\n z", max_size=5), min_size=1, max_size=8),
    st.lists(st.text(alphabet="ab.", min_size=1, max_size=4), min_size=1, max_size=4),
)
def test_ascii_bigram_fast_path_equals_the_general_path(items: list[str], train: list[str]) -> None:
    """Newlines inside items, unknown symbols and empty items fall back or agree exactly."""
    import ngramkit.counts as counts_mod

    vocab = Corpus.from_items(train).vocab
    corpus = Corpus.from_items(items, vocab)
    fast = NgramCounts.count(corpus, 2)
    general = NgramCounts.count(Corpus.from_items(items, vocab), 2, chunk_tokens=3)
    if len("\n".join(items)) > 1:  # over the limit: the general path
        assert counts_mod._ascii_bigrams(Corpus.from_items(items, vocab), 1) is None
    for k in range(2):
        assert torch.equal(fast.keys[k], general.keys[k])
        assert torch.equal(fast.counts[k], general.counts[k])


@settings(max_examples=60, deadline=None)
@given(
    a=st.lists(st.text(alphabet="abc", max_size=6), max_size=12),
    b=st.lists(st.text(alphabet="abc", max_size=6), min_size=1, max_size=12),
    order=st.integers(1, 4),
)
def test_subtracting_items_counts_the_rest(a: list[str], b: list[str], order: int) -> None:
    """count(a + b) - count(b) == count(a): counts add over items."""
    from ngramkit.counts import subtract_counts

    vocab = Vocabulary.build(["abc"])
    whole = NgramCounts.count(Corpus.from_items(a + b, vocab), order)
    part = NgramCounts.count(Corpus.from_items(b, vocab), order)
    assert same(subtract_counts(whole, part), NgramCounts.count(Corpus.from_items(a, vocab), order))


def test_subtracting_what_was_not_counted_is_refused() -> None:
    from ngramkit.counts import subtract_counts

    vocab = Vocabulary.build(["abc"])
    whole = NgramCounts.count(Corpus.from_items(["ab"], vocab), 2)
    with pytest.raises(NgramkitError, match="lacks"):
        subtract_counts(whole, NgramCounts.count(Corpus.from_items(["ca"], vocab), 2))
    with pytest.raises(NgramkitError, match="more of an n-gram"):
        subtract_counts(whole, NgramCounts.count(Corpus.from_items(["ab", "ab"], vocab), 2))
    with pytest.raises(NgramkitError, match="another vocabulary or order"):
        subtract_counts(whole, NgramCounts.count(Corpus.from_items(["ab"], vocab), 3))


def test_context_totals_worked_example() -> None:
    """(.,a)=1 (a,b)=1 (b,.)=2 (.,b)=1 over V=3: contexts . a b, totals 2 1 2."""
    counts = NgramCounts.count(Corpus.from_items(["ab", "b"]), 2)
    ctx_keys, totals = counts.context_totals()
    assert ctx_keys.tolist() == [0, 1, 2] and totals.tolist() == [2, 1, 2]


def test_merge_all_is_one_balanced_tree_for_any_part() -> None:
    """Integers merge like tables do; an empty list of tables is a clear error."""
    from ngramkit.counts import merge_all
    from ngramkit.errors import CountTableError

    seen: list[tuple[int, int]] = []

    def add(a: int, b: int) -> int:
        seen.append((a, b))
        return a + b

    assert merge_all([1] * 8, add) == 8
    assert max(b for _, b in seen) == 4 and len(seen) == 7  # depth log2(8): (4, 4) last
    with pytest.raises(CountTableError, match="no count tables"):
        merge_all([])


@pytest.mark.parametrize("order", [2, 3, 5])
def test_the_flow_check_passes_real_tables_only(names: list[str], order: int) -> None:
    """counts_whole_items: a fitted table passes (counts below 2^32 or past it, where the
    hash reduces them first); the same keys read at another order, or one count moved,
    fail; the hash equals a plain sum of w * f(h) mod p in Python."""
    est = CountLM(order=order, smooth=1.0).fit(names[:3000]).estimate_
    keys, counts, V = est.keys, est.counts, est.vocab_size
    assert counts_whole_items(keys, counts, V, order)
    assert counts_whole_items(keys, counts * 2**33 + counts, V, order)  # not reduced
    assert not counts_whole_items(keys, counts, V, order + 1)
    moved = counts.clone()
    moved[len(moved) // 2] += 1
    assert not counts_whole_items(keys, moved, V, order)
    h, p = (keys // V).tolist(), FLOW_PRIME
    plain = sum(w * pow((x * 48271 + 11) % p, 3, p) for x, w in zip(h, counts.tolist())) % p
    got = _hash_sum(keys // V, counts, p, reduced=True)
    assert int(got) == plain == int(_hash_sum(keys // V, counts, p, reduced=False))
