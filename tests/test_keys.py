"""Base-V n-gram keys (keys.py) against plain Python loops."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ngramkit.corpus import Corpus
from ngramkit.errors import NgramkitError
from ngramkit.keys import (
    check_order,
    find,
    gram_keys,
    key_digits,
    lookup,
    max_order,
    stored_at_own_order,
    stream_context_keys,
    stream_gram_keys,
    top_order,
)


def plain_key(tokens: list[int], V: int) -> int:
    key = 0
    for t in tokens:
        key = key * V + t
    return key


def test_the_worked_example() -> None:
    """(., a, b) with V = 3 is 0*9 + 1*3 + 2 = 5, and back."""
    assert gram_keys(torch.tensor([[0, 1, 2]]), 3).tolist() == [5]
    assert key_digits(torch.tensor([5]), 3, 3).tolist() == [[0, 1, 2]]
    assert key_digits(torch.tensor([5]), 3, 2).tolist() == [[1, 2]]  # (a, b): the same key


@settings(max_examples=50, deadline=None)
@given(
    vocab=st.integers(2, 40), k=st.integers(0, 6), rows=st.integers(0, 20), seed=st.integers(0, 99)
)
def test_key_digits_undo_gram_keys(vocab: int, k: int, rows: int, seed: int) -> None:
    grams = torch.randint(0, vocab, (rows, k), generator=torch.Generator().manual_seed(seed))
    keys = gram_keys(grams, vocab)
    assert keys.tolist() == [plain_key(g, vocab) for g in grams.tolist()]
    assert torch.equal(key_digits(keys, vocab, k), grams)


@settings(max_examples=150, deadline=None)
@given(
    stream=st.lists(st.integers(0, 5), min_size=0, max_size=30),
    order=st.integers(1, 8),
    V=st.sampled_from([6, 40, 300]),
)
def test_stream_context_keys_are_a_plain_loop(stream: list[int], order: int, V: int) -> None:
    """Any stream, one not opening with a boundary included: the key of the order-1
    tokens before each target p >= 1, cut after the last boundary before p (that
    boundary's own digit is a 0 in the key); lags before the stream read 0. V = 300
    at order 8 builds int64 keys, the others int32."""
    want = []
    for p in range(1, len(stream)):
        ctx = [stream[q] if q >= 0 else 0 for q in range(p - order + 1, p)]
        for i in range(len(ctx) - 1, -1, -1):
            if ctx[i] == 0:  # the last boundary: older tokens are cut
                ctx[:i] = [0] * i
                break
        want.append(plain_key(ctx, V))
    assert stream_context_keys(torch.tensor(stream, dtype=torch.long), order, V).tolist() == want


@settings(max_examples=60, deadline=None)
@given(items=st.lists(st.text(alphabet="abcz", max_size=6), min_size=0, max_size=12))
def test_lengths_and_target_items_are_plain_loops(items: list[str]) -> None:
    """Corpus.lengths and target_items, OOV items (holding z) and empty ones among them."""
    corpus = Corpus.from_items(items, Corpus.from_items(["abc"]).vocab)
    inside = [i for i, s in enumerate(items) if "z" not in s]
    assert corpus.lengths.tolist() == [0 if "z" in s else len(s) for s in items]
    assert corpus.target_items().tolist() == [i for i in inside for _ in range(len(items[i]) + 1)]


@settings(max_examples=80, deadline=None)
@given(
    items=st.lists(st.text(alphabet="abc", max_size=7), min_size=1, max_size=10),
    order=st.integers(1, 6),
)
def test_stream_context_keys_are_the_window_keys(items: list[str], order: int) -> None:
    corpus = Corpus.from_items(items, Corpus.from_items(["abc"]).vocab)
    grams = corpus.grams(order)
    assert torch.equal(stream_context_keys(corpus.stream, order, 4), gram_keys(grams[:, :-1], 4))
    assert torch.equal(stream_gram_keys(corpus.stream, order, 4), gram_keys(grams, 4))


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(st.integers(0, 50), max_size=20, unique=True),
    query=st.lists(st.integers(0, 60), max_size=20),
)
def test_find_and_lookup_match_a_dict(keys: list[int], query: list[int]) -> None:
    table = torch.tensor(sorted(keys), dtype=torch.long)
    values = table * 10 + 1
    q = torch.tensor(query, dtype=torch.long)
    pos, found = find(table, q)
    got, found2 = lookup(table, values, q)
    want = {k: k * 10 + 1 for k in keys}
    assert found.tolist() == [x in want for x in query] == found2.tolist()
    assert got.tolist() == [want.get(x, 0) for x in query]
    assert [int(table[p]) for p, f in zip(pos.tolist(), found.tolist()) if f] == [
        x for x in query if x in want
    ]


@pytest.mark.parametrize("V", [2, 3, 5])
@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
def test_top_order_is_the_boundary_rule(V: int, order: int) -> None:
    """z >= 1 leading boundaries in the context allow order - (z - 1), by a plain loop."""
    ctx = torch.arange(V ** (order - 1))
    want = []
    for digits in key_digits(ctx, V, order - 1).tolist():
        z = next((i for i, t in enumerate(digits) if t != 0), len(digits))
        want.append(order - max(z - 1, 0))
    assert top_order(ctx, V, order).tolist() == want
    grams = torch.arange(V**order)
    stored = stored_at_own_order(grams, V, order).tolist()
    assert stored == [t == order for t in top_order(grams // V, V, order).tolist()]


def test_the_int64_bound() -> None:
    assert max_order(27) == 13 and max_order(96) == 9 and max_order(1) == 64
    assert 27**13 <= 2**63 - 1 < 27**14
    check_order(13, 27)
    with pytest.raises(NgramkitError, match="at most order 13"):
        check_order(14, 27)
