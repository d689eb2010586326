"""Ranks (guess numbers): exact from enumeration, estimated by Dell'Amico and Filippone."""

from __future__ import annotations

import statistics

import pytest

from ngramkit import CountLM
from ngramkit.best import top_items
from ngramkit.guessing import RankEstimator, coverage


@pytest.fixture(scope="module")
def bigram(names: list[str]) -> CountLM:
    return CountLM(order=2, smooth=1).fit(names)


def test_estimates_within_ten_percent(bigram: CountLM) -> None:
    """Median relative error at N = 10,000 samples, items ranked 10^2..10^5: under 10%."""
    listed = top_items(bigram, 100_000)
    lps = [r.logprob for r in listed]
    picks = [round(10 ** (2 + 3 * i / 30)) for i in range(31)]  # ranks 100 .. 100,000
    items = [listed[r - 1].item for r in picks]
    exact = [1 + sum(1 for x in lps if x > listed[r - 1].logprob) for r in picks]
    est = RankEstimator(bigram, 10_000, seed=1, exact=0).ranks(items)
    errors = [abs(e.rank - x) / x for e, x in zip(est, exact)]
    assert statistics.median(errors) < 0.10
    inside = sum(e.low <= x <= e.high for e, x in zip(est, exact))
    assert inside >= 0.8 * len(picks)  # the 95% intervals mostly hold the truth


def test_exact_ranks_where_enumerated(bigram: CountLM) -> None:
    listed = top_items(bigram, 2000)
    est = RankEstimator(bigram, 1000, seed=2, exact=2000)
    got = est.ranks([listed[0].item, listed[9].item, listed[1500].item])
    assert [r.rank for r in got] == [1, 10, 1501]
    assert all(r.exact and r.low == r.high == r.rank for r in got)
    assert est.ranks(["1!"])[0].rank is None  # OOV: never guessed


def test_coverage_counts_items_within_k(bigram: CountLM) -> None:
    listed = top_items(bigram, 500)
    items = [listed[i].item for i in (0, 4, 99, 499)] + ["1"]
    ranks = RankEstimator(bigram, 1000, seed=3, exact=500).ranks(items)
    cov = coverage(ranks, [1, 10, 100, 1000], exact_upto=500)
    assert cov.found == [1, 2, 3, 4] and cov.items == 5
    assert cov.to_json()["points"][1] == {"guesses": 10, "found": 2, "fraction": 0.4}
