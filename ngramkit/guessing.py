"""Each item's rank (its guess number) and the coverage curve of a list.

The rank of x is 1 + the number of items the model finds more probable than
x: the position at which `top` (enumeration in order of probability) would
list it, i.e. how many guesses a guesser trying items in model order needs.

Exact where enumeration reaches: the `exact` most probable items are listed
(best.top_items); an item more probable than the last of them has its exact
rank. Beyond, the Monte Carlo estimator of Dell'Amico and Filippone (CCS
2015): draw N items s_1..s_N from the model; then

    rank(x) - 1 ~ (1/N) * sum over i with p(s_i) > p(x) of 1 / p(s_i)

is unbiased (E[1{p(s) > p(x)} / p(s)] = the number of items with p > p(x)),
and its standard error is sqrt((mean(Y^2) - mean(Y)^2) / N) for
Y_i = 1{p(s_i) > p(x)} / p(s_i). The interval is the estimate +- 1.96 standard
errors (a normal approximation: rough when few samples are more probable).
Its relative error shrinks as 1/sqrt(N * P(more probable than x)), so it is
poor for the very top ranks (which are exact) and good far down the list.

Not here: drawing (sampling.py) or enumerating (best.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .best import top_items
from .evaluate import score_batch
from .model import LanguageModel
from .options import LECTURE_SEED, RANK_SAMPLES

Z95 = 1.959964  # two-sided 95% normal quantile
EXACT_RANKS = 10_000  # items enumerated for exact ranks (eval --rank, compare --coverage)


@dataclass(frozen=True)
class Rank:
    """An item's guess number: `rank` 1 = the most probable item.

    low/high: a 95% interval (equal to rank when exact); all None when the
    item is OOV or has probability 0 (it is never guessed).
    """

    item: str
    logprob: float
    rank: float | None
    low: float | None
    high: float | None
    exact: bool

    def to_json(self) -> dict[str, object]:
        lp = self.logprob if math.isfinite(self.logprob) else None
        return {
            "item": self.item,
            "logprob": lp,
            "rank": self.rank,
            "low": self.low,
            "high": self.high,
            "exact": self.exact,
        }


class RankEstimator:
    """Ranks from `samples` draws (seeded) and the `exact` most probable items.

    Setup: one sampling run, its scores and one enumeration; each rank is then
    two binary searches.
    """

    def __init__(
        self,
        model: LanguageModel,
        samples: int = RANK_SAMPLES,
        *,
        seed: int = LECTURE_SEED,
        exact: int = EXACT_RANKS,
    ) -> None:
        self.model, self.n = model, samples
        drawn = model.sample(samples, seed=seed) if samples else []
        lp = score_batch(model, drawn).logprob.to(torch.float64)  # (N,)
        lp = lp[torch.isfinite(lp)].sort(descending=True).values
        w = torch.exp(-lp) / max(samples, 1)  # (N,) 1 / (N p(s)), most probable first
        self.neg_lp = -lp  # ascending, for searchsorted
        self.sum_w = torch.cat([torch.zeros(1, dtype=torch.float64), w.cumsum(0)])
        self.sum_w2 = torch.cat([torch.zeros(1, dtype=torch.float64), (w * w).cumsum(0)])
        listed = [r.logprob for r in top_items(model, exact)] if exact else []
        self.top = -torch.tensor(listed, dtype=torch.float64)  # ascending -log p
        self.complete = len(listed) < exact  # the model has no more items than that
        self.floor = listed[-1] if listed else math.inf  # exact above this log p

    def ranks(self, items: Sequence[str]) -> list[Rank]:
        """The rank of each item (OOV items and items of probability 0 get None)."""
        batch = score_batch(self.model, list(items))
        return [self._rank(s, x) for s, x in zip(batch.items, batch.logprob.tolist())]

    def _rank(self, item: str, lp: float) -> Rank:
        if math.isnan(lp) or lp == -math.inf:
            return Rank(item, lp, None, None, None, False)
        x = torch.tensor([-lp], dtype=torch.float64)
        if lp > self.floor or self.complete:
            r = 1.0 + int(torch.searchsorted(self.top, x, side="left"))  # strictly more probable
            return Rank(item, lp, r, r, r, True)
        m = int(torch.searchsorted(self.neg_lp, x, side="left"))  # samples with p(s) > p(x)
        est = float(self.sum_w[m])
        var = max(0.0, self.n * float(self.sum_w2[m]) - est * est) / max(self.n, 1)
        se = math.sqrt(var)
        return Rank(item, lp, 1 + est, max(1.0, 1 + est - Z95 * se), 1 + est + Z95 * se, False)


@dataclass(frozen=True)
class Coverage:
    """The fraction of a list's items within the first K guesses, for each K."""

    guesses: list[int]
    found: list[int]  # items with rank <= K
    items: int  # items of the list (OOV ones count as never found)
    exact_upto: int  # guesses up to here are exact; beyond, from estimated ranks

    def to_json(self) -> dict[str, object]:
        return {
            "items": self.items,
            "exact_upto": self.exact_upto,
            "points": [
                {"guesses": k, "found": f, "fraction": f / self.items if self.items else None}
                for k, f in zip(self.guesses, self.found)
            ],
        }


def coverage(ranks: Sequence[Rank], guesses: Sequence[int], exact_upto: int) -> Coverage:
    """Coverage(K) = #{items with rank <= K} / #items: a list's guessing curve."""
    known = sorted(r.rank for r in ranks if r.rank is not None)
    found = [sum(1 for r in known if r <= k) for k in guesses]
    return Coverage(list(guesses), found, len(ranks), exact_upto)


def powers_of_ten(upto: float) -> list[int]:
    """1, 10, 100, ... up to the first power at or past `upto` (at least 10^6 points: 7)."""
    top = max(6, math.ceil(math.log10(max(upto, 1))))
    return [10**e for e in range(top + 1)]


def list_coverage(
    model: LanguageModel,
    items: Sequence[str],
    samples: int,
    *,
    guesses: Sequence[int] | None = None,
    exact: int = EXACT_RANKS,
) -> tuple[list[Rank], Coverage]:
    """Every item's rank and the list's coverage at `guesses` (default: powers of ten
    up to the largest rank), from `samples` draws and the `exact` most probable items."""
    ranks = RankEstimator(model, samples, exact=exact).ranks(items)
    if guesses is None:
        guesses = powers_of_ten(max((r.rank for r in ranks if r.rank is not None), default=1))
    return ranks, coverage(ranks, guesses, exact_upto=exact)
