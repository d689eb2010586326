"""Constrained sampling draws from the model conditioned on the constraints, exactly."""

from __future__ import annotations

import itertools
import math
import time
from collections import Counter

import pytest
import torch

from ngramkit import CountLM
from ngramkit.constraints import Constraints
from ngramkit.errors import NgramkitError, OptionError, SamplingError
from ngramkit.generate import draw
from ngramkit.sampling import truncate

TRAIN = ["ab", "abb", "ba", "bab", "a", "aab"]


def chi2_critical(df: int, z: float = 3.29) -> float:
    """Wilson-Hilferty: the chi-square quantile at the normal quantile z (3.29: p = 0.0005)."""
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def conditioned(model: CountLM, c: Constraints, longest: int) -> dict[str, float]:
    """Brute force: p(item) / Z over every item up to `longest` symbols admitted by `c`."""
    items = ["".join(t) for n in range(longest + 1) for t in itertools.product("ab", repeat=n)]
    ok = [
        i
        for i in items
        if i.startswith(c.prefix)
        and i.endswith(c.suffix)
        and c.min_len <= len(i) <= (c.max_len or longest)
        and not (c.new and i in TRAIN)
    ]
    p = {i: math.exp(model.logprob(i)) for i in ok}
    z = sum(p.values())
    return {i: x / z for i, x in p.items()}


@pytest.mark.parametrize(
    "c",
    [
        Constraints(min_len=2, max_len=4, suffix="b", new=True),
        Constraints(prefix="b", min_len=3, max_len=5),
        Constraints(max_len=3, new=True),
    ],
)
def test_draws_follow_the_conditioned_distribution(c: Constraints) -> None:
    model = CountLM(order=2, smooth=0.5).fit(TRAIN)
    want = conditioned(model, c, c.max_len)
    n = 20_000
    got = Counter(draw(model, n, c, seed=1).items)
    assert set(got) <= set(want)
    chi2 = sum((got[i] - n * p) ** 2 / (n * p) for i, p in want.items())
    assert chi2 < chi2_critical(len(want) - 1)


def test_rejection_keeps_the_lecture_stream(names: list[str]) -> None:
    """new and unique keep, in order, the unconstrained stream's admitted items."""
    model = CountLM(order=2, smooth=1).fit(names)
    stream = model.sample(3000, seed=7)
    new = model.sample(500, seed=7, constraints=Constraints(new=True))
    train = set(names)
    assert new == [s for s in stream if s not in train][:500]
    once = model.sample(500, seed=7, constraints=Constraints(unique=True))
    assert once == list(dict.fromkeys(stream))[:500]
    assert model.sample(5, seed=2147483647) == [
        "cexze",
        "momasurailezitynn",
        "konimittain",
        "llayn",
        "ka",
    ]


def test_same_seed_same_items_and_lengths(names: list[str]) -> None:
    model = CountLM(order=3, smooth=0.1).fit(names)
    c = Constraints(prefix="ma", suffix="a", min_len=5, max_len=7, new=True, unique=True)
    a = model.sample(200, seed=3, constraints=c)
    assert a == model.sample(200, seed=3, constraints=c)
    assert len(set(a)) == 200
    assert all(s.startswith("ma") and s.endswith("a") and 5 <= len(s) <= 7 for s in a)
    assert not set(a) & set(names)


def test_nearly_impossible_stops_with_the_acceptance_rate(names: list[str]) -> None:
    model = CountLM(order=2, smooth=1).fit(names)
    start = time.perf_counter()
    with pytest.raises(SamplingError, match=r"acceptance rate \d+\.\d+%") as e:
        model.sample(10, constraints=Constraints(prefix="zzq", suffix="qxqx", new=True))
    assert time.perf_counter() - start < 60
    assert len(e.value.found) < 10


def test_unique_beyond_the_support_returns_what_it_found() -> None:
    model = CountLM(order=2, smooth=0).fit(["a", "b"])  # only "a" and "b" have probability
    got = draw(model, 10, Constraints(unique=True), seed=0, tries=2000)
    assert sorted(got.items) == ["a", "b"] and not got.complete and got.candidates == 2000
    stalled = draw(model, 10**6, Constraints(unique=True), seed=0)  # 10^8 tries allowed
    assert len(stalled.items) == 2 and stalled.candidates < 20_000
    assert "found 2 of 10 distinct items" in got.shortfall(Constraints(unique=True))


def test_truncate_keeps_top_k_and_the_nucleus() -> None:
    p = torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]], dtype=torch.float64)
    want = torch.tensor([[0.625, 0.375, 0], [0, 2 / 3, 1 / 3]], dtype=torch.float64)
    torch.testing.assert_close(truncate(p, None, 0.7), want)
    assert truncate(p, 1, None).tolist() == [[1, 0, 0], [0, 1, 0]]
    torch.testing.assert_close(truncate(p, 3, 1.0), p)


def test_top_k_one_is_greedy(names: list[str]) -> None:
    model = CountLM(order=2, smooth=1).fit(names)
    assert set(model.sample(20, seed=0, top_k=1)) == {"a"}  # a (4410 of ., a), then . (6640)
    nucleus = model.sample(300, seed=0, top_p=0.5)
    assert len(set(nucleus)) > 10 and nucleus == model.sample(300, seed=0, top_p=0.5)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"constraints": Constraints(min_len=5, max_len=3)}, "--min-len 5 is above --max-len 3"),
        ({"constraints": Constraints(suffix="a!Q")}, "--suffix 'a!Q' has symbols outside"),
        ({"prefix": "1"}, "outside the vocabulary"),
        ({"top_p": 0.0}, r"^top_p must be in \(0, 1\], got 0"),
        ({"top_p": 1.5}, r"^top_p must be in \(0, 1\], got 1.5"),
        ({"top_k": 0}, "^top_k must be >= 1, got 0"),
    ],
)
def test_bad_sampling_options(names: list[str], kw: dict, match: str) -> None:
    model = CountLM(order=2, smooth=1).fit(names[:200])
    with pytest.raises((OptionError, NgramkitError), match=match):
        model.sample(3, **kw)


def test_sample_max_len_is_the_deprecated_cut(names: list[str]) -> None:
    """sample(max_len=) kept its old meaning (the cut) behind a DeprecationWarning that
    names both new spellings; cut= is silent; both at once is one clear error."""
    model = CountLM(order=2, smooth=1).fit(names[:2000])
    with pytest.warns(DeprecationWarning, match=r"cut=.*Constraints\(max_len=") as caught:
        old = model.sample(20, seed=4, max_len=3)
    assert caught[0].filename == __file__  # the warning points at the caller
    assert old == model.sample(20, seed=4, cut=3) and max(map(len, old)) == 3
    bounded = model.sample(20, seed=4, constraints=Constraints(max_len=3))
    assert bounded != old and max(map(len, bounded)) <= 3  # rejection, not truncation
    with pytest.raises(OptionError, match="not both"):
        model.sample(5, cut=3, max_len=3)
