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
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..counts import NgramCounts
from ..keys import own_order_start


@dataclass(frozen=True)
class Level:
    """The k-grams of one order as an estimator sees them.

    keys: (M,) sorted k-gram keys; counts: (M,) float64 counts to discount.
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


def continuation_counts(counts: NgramCounts, k: int) -> torch.Tensor:
    """N1+(. g) for every k-gram g of the table (k < N), aligned with its keys."""
    V = counts.vocab_size
    suffix = counts.keys[k] % V**k  # (M_{k+1},) each (k+1)-gram's k-suffix
    keys = counts.keys[k - 1]
    at = torch.searchsorted(keys, suffix)  # every k-gram is the suffix of some (k+1)-gram
    return torch.bincount(at, minlength=len(keys))


def build_levels(counts: NgramCounts, continuation: bool) -> list[Level]:
    """One Level per order 1..N of `counts` (see the module docstring)."""
    V, N = counts.vocab_size, counts.order
    out: list[Level] = []
    for k in range(1, N + 1):
        keys, raw = counts.keys[k - 1], counts.counts[k - 1]
        a = raw
        if continuation and k < N:
            a = continuation_counts(counts, k)
            if k >= 2:
                a = torch.where(keys < V ** (k - 1), raw, a)  # starts with <s>: raw
        start = own_order_start(keys, V, k)  # at most one leading boundary: a view
        keys, a = keys[start:], a[start:]
        ctx_keys, ctx_of = torch.unique_consecutive(keys // V, return_inverse=True)
        ctx_of = ctx_of.int()  # int32 indices: half the memory, the same gathers
        if k == 1:
            suffix_of = keys.int()
        else:
            below = out[-1].keys
            suffix_of = torch.searchsorted(below, keys % V ** (k - 1), out_int32=True)
        out.append(Level(k, keys, a.double(), ctx_keys, ctx_of, suffix_of))
    return out


def count_of_counts(level: Level, upto: int = 4) -> list[int]:
    """[n_1, ..., n_upto]: how many k-grams have count exactly j."""
    c = level.counts.long()
    hist = torch.bincount(c.clamp(max=upto + 1), minlength=upto + 2)
    return [int(hist[j]) for j in range(1, upto + 1)]
