"""The count table reshaped for estimation: one `Level` per order.

A level holds the k-grams an estimator smooths, the counts it discounts (raw
counts, or Kneser-Ney continuation counts), their contexts, and where each
k-gram's (k-1)-suffix sits in the level below.

Two rules make the levels match what KenLM's lmplz estimates:

- k-grams with two or more leading boundaries are dropped (k >= 3): (., ., a)
  says no more than (., a), which the level below holds (keys.top_order);
- continuation counts (Kneser-Ney, k < N) count the distinct tokens seen
  before the k-gram; a k-gram that starts with the boundary (<s>) cannot be
  extended to the left and keeps its raw count, as does the top order.

Levels of ["ab", "b"] at order 2 with continuation counts (V=3: . a b):
level 2 = the bigrams (.,a)=1 (a,b)=1 (b,.)=2 (.,b)=1, raw;
level 1 = a:1 (after .), b:2 (after a and after .), .:1 (after b).

A large table is estimated one order at a time: the counts to discount are
found for every order first, top down (`level_counts`: each order's raw
counts are dropped once the order below is summed from them), then the
estimate (interpolate.estimate) works through the orders from the unigrams
up, a run of whole contexts at a time (`context_slices`), so it never holds
a level's index arrays whole. Tuning needs them whole: `build_levels`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ..counts import NgramCounts
from ..keys import own_order_start

SLICE = 2**18  # keys of a level worked on at once: bounds every temporary
INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class Level:
    """The k-grams of one order as an estimator sees them.

    keys: (M,) sorted k-gram keys; counts: (M,) integer counts to discount
    (int32 where they fit, else int64: estimators take them as float64).
    ctx_keys: (C,) sorted keys of their contexts (k-1 tokens); ctx_of: (M,)
    index of each k-gram's context. suffix_of: (M,) index of each k-gram's
    (k-1)-suffix in the level below (for k = 2, the token id itself). Both
    index arrays are int32 (a level holds fewer than 2^31 k-grams).
    """

    k: int
    keys: torch.Tensor
    counts: torch.Tensor
    ctx_keys: torch.Tensor
    ctx_of: torch.Tensor
    suffix_of: torch.Tensor


def slices(n: int) -> Iterator[slice]:
    """slice(0, SLICE), slice(SLICE, 2 SLICE), ... covering range(n)."""
    return (slice(start, start + SLICE) for start in range(0, n, SLICE))


def continuation_counts(
    keys: torch.Tensor, above: torch.Tensor, vocab_size: int, k: int
) -> torch.Tensor:
    """N1+(. g) of every k-gram key g of `keys` (M,): how many of the distinct (k+1)-gram
    keys `above` end in g (every key of `keys` is the suffix of one of them). (M,) int32."""
    out = torch.zeros(len(keys), dtype=torch.int32)
    for part in slices(len(above)):
        at = torch.searchsorted(keys, above[part] % vocab_size**k, out_int32=True)
        out.index_add_(0, at, torch.ones(len(at), dtype=torch.int32))
    return out


Stage = tuple[torch.Tensor, torch.Tensor]  # (keys (M,), counts to discount (M,)) of one order


def level_counts(counts: NgramCounts, continuation: bool) -> list[Stage]:
    """[(keys, a)] of orders 1..N: each order's stored k-gram keys (M_k,) (views of the
    table's) and the counts (M_k,) its estimator discounts (the module docstring's
    rules). Derived from the top down; the table's own lower-order counts are never
    held whole unless something read them before.
    """
    V, N = counts.vocab_size, counts.order
    small = counts.tokens <= INT32_MAX  # every count fits int32
    out = [_own(counts.top_keys, counts.top_counts, V, N)]
    above = counts.top_keys
    for k, keys, raw in counts.lower_orders():
        if continuation:
            a = continuation_counts(keys, above, V, k)
            if k >= 2:  # starts with <s>: its raw count; those keys are a prefix (< V^(k-1))
                n0 = int(torch.searchsorted(keys, V ** (k - 1)))
                a = a if small else a.long()
                a[:n0] = raw[:n0]
        else:
            a = raw.int() if small else raw
        out.insert(0, _own(keys, a, V, k))
        above = keys
    return out


def _own(keys: torch.Tensor, a: torch.Tensor, V: int, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k-grams with at most one leading boundary, and their counts: views."""
    start = own_order_start(keys, V, k)
    return keys[start:], a[start:]


def context_slices(keys: torch.Tensor, V: int) -> Iterator[slice]:
    """Slices of sorted k-gram `keys` (M,) of about SLICE keys, each ending where a
    context (key // V) does, so that every context lies in one slice."""
    start, M = 0, len(keys)
    while start < M:
        stop = min(start + SLICE, M)
        if stop < M:  # back to where the context at the cut begins, or past it
            ctx = int(keys[stop]) // V
            stop = int(torch.searchsorted(keys, ctx * V))
            if stop <= start:  # one context longer than a slice: all of it
                stop = int(torch.searchsorted(keys, (ctx + 1) * V))
        yield slice(start, stop)
        start = stop


def context_count(keys: torch.Tensor, V: int) -> int:
    """How many distinct contexts (key // V) sorted k-gram `keys` (M,) have."""
    count, last = 0, -1
    for part in slices(len(keys)):
        q = keys[part] // V
        count += int((q[1:] != q[:-1]).sum()) + (int(q[0]) != last)
        last = int(q[-1])
    return count


def suffix_index(keys: torch.Tensor, below: torch.Tensor, V: int, k: int) -> torch.Tensor:
    """Where the (k-1)-suffix of each k-gram key (S,) sits in the order below, int32:
    for k = 2 the token id itself (the unigram table is dense: all V tokens, counted
    or not); above, its position in `below`, the stored (k-1)-gram keys."""
    if k == 2:
        return (keys % V).int()
    return torch.searchsorted(below, keys % V ** (k - 1), out_int32=True)


def build_level(k: int, keys: torch.Tensor, a: torch.Tensor, below: torch.Tensor, V: int) -> Level:
    """The whole Level of order-k `keys` (M,) with counts `a`, `below` being the stored
    keys of order k - 1 (ignored for k <= 2)."""
    ctx_keys, ctx_of = torch.unique_consecutive(keys // V, return_inverse=True)
    suffix_of = keys.int() if k == 1 else suffix_index(keys, below, V, k)
    return Level(k, keys, a, ctx_keys, ctx_of.int(), suffix_of)


def build_levels(counts: NgramCounts, continuation: bool) -> list[Level]:
    """One Level per order 1..N of `counts` (see the module docstring), all held."""
    V, out = counts.vocab_size, []
    below = torch.zeros(0, dtype=torch.long)
    for k, (keys, a) in enumerate(level_counts(counts, continuation), 1):
        out.append(build_level(k, keys, a, below, V))
        below = keys
    return out


def count_of_counts(counts: torch.Tensor, upto: int = 4) -> list[int]:
    """[n_1, ..., n_upto]: how many of the integer `counts` (M,) are exactly j."""
    hist = torch.bincount(counts.clamp(max=upto + 1), minlength=upto + 2)
    return [int(hist[j]) for j in range(1, upto + 1)]
