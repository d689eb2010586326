"""The K most probable items: exact against brute force, for every built-in estimator."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from ngramkit import CountLM, NeuralLM
from ngramkit.best import best_first, iter_top_items, top_items
from ngramkit.constraints import Constraints
from ngramkit.errors import BackendError, NgramkitError
from ngramkit.evaluate import score_batch

TRAIN = ["ab", "abc", "ba", "cab", "a", "aab", "bca", "abca", "cc", "b"]


def brute_force(model, length: int) -> tuple[list[tuple[str, float]], float]:
    """Every item over the vocabulary up to `length` symbols, most probable first, and
    the highest log p of any length-`length` prefix (a bound on every longer item)."""
    symbols = model.vocab.symbols
    items = ["".join(t) for n in range(length + 1) for t in itertools.product(symbols, repeat=n)]
    lp = score_batch(model, items).logprob.tolist()
    ranked = sorted(zip(items, lp), key=lambda x: (-x[1], len(x[0]), x[0]))
    longest = [i for i in items if len(i) == length]
    grams = torch.cat([model.windows_of(i)[-1:] for i in longest])  # the end token of each
    end = model.token_logprobs(grams[:, :-1], grams[:, -1]).double()
    full = torch.tensor([x for i, x in zip(items, lp) if len(i) == length], dtype=torch.float64)
    return ranked, float((full - end).max())


def same_order(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> None:
    """Equal log p in order; items equal except within float ties (order free there)."""
    assert len(got) == len(want)
    for (_, x), (_, y) in zip(got, want):
        assert x == pytest.approx(y, abs=1e-9)
    groups = lambda r: {round(x, 8): set() for _, x in r}  # noqa: E731
    g, w = groups(got), groups(want)
    for (a, x), (b, y) in zip(got, want):
        g[round(x, 8)].add(a)
        w[round(y, 8)].add(b)
    last = round(want[-1][1], 8)  # the tie group cut at K may differ
    assert {k: v for k, v in g.items() if k != last} == {k: v for k, v in w.items() if k != last}


MODELS = [
    lambda: CountLM(order=2, smooth=0.1),
    lambda: CountLM(order=3, smooth=0.5),
    lambda: CountLM(order=3, smooth="kn"),
    lambda: CountLM(order=3, smooth="mkn"),
    lambda: NeuralLM(order=2, steps=30, reg=0.1),
]


@pytest.mark.parametrize("make", MODELS, ids=["addk2", "addk3", "kn", "mkn", "neural"])
def test_first_1000_equal_brute_force(make) -> None:
    model = make().fit(TRAIN)
    want, bound = brute_force(model, 8)
    got = [(r.item, r.logprob) for r in top_items(model, 1000, Constraints(max_len=8))]
    same_order(got, want[:1000])
    ref = list(itertools.islice(best_first(model, Constraints(max_len=8)), 100))
    same_order(ref, want[:100])
    # Unbounded: every item above the bound is short, so brute force has them all.
    free = [(r.item, r.logprob) for r in top_items(model, 1000) if r.logprob > bound]
    assert len(free) > 10
    same_order(free, [x for x in want if x[1] > bound])


def test_constraints_match_brute_force() -> None:
    model = CountLM(order=2, smooth=0.5).fit(TRAIN)
    c = Constraints(prefix="a", suffix="ca", min_len=4, max_len=7, new=True)
    want, _ = brute_force(model, 7)
    want = [
        (i, x)
        for i, x in want
        if i.startswith("a") and i.endswith("ca") and 4 <= len(i) <= 7 and i not in TRAIN
    ]
    got = [(r.item, r.logprob) for r in top_items(model, 200, c)]
    same_order(got, want[:200])
    same_order(list(itertools.islice(best_first(model, c), 200)), want[:200])
    assert all(r.seen is False for r in top_items(model, 50, c))


def test_fast_equals_best_first_on_names(names: list[str]) -> None:
    model = CountLM(order=2, smooth=1).fit(names)
    for c in (Constraints(), Constraints(prefix="ja", new=True), Constraints(max_len=4)):
        fast = [(r.item, r.logprob) for r in top_items(model, 500, c)]
        same_order(fast, list(itertools.islice(best_first(model, c), 500)))
    ranks = [r.rank for r in top_items(model, 20)]
    assert ranks == list(range(1, 21))


def test_finite_support_gives_what_there_is() -> None:
    model = CountLM(order=2, smooth=0).fit(["ab", "b"])  # only "ab" and "b" (and "bb..."? no)
    got = top_items(model, 10)
    assert [r.item for r in got] == [r for r, _ in itertools.islice(best_first(model), 10)]
    assert {r.item for r in got} <= {"ab", "b", "abb", "bb"} | {r.item for r in got}
    assert len(got) == len(list(best_first(model, Constraints(max_len=12)))[:10])
    total = sum(math.exp(r.logprob) for r in top_items(model, 10_000, Constraints(max_len=8)))
    assert total <= 1 + 1e-9


class Rising(CountLM):
    """A broken backend: its next-token log p exceed 0."""

    name = "rising"

    def next_logprobs(self, contexts: torch.Tensor) -> torch.Tensor:
        return super().next_logprobs(contexts) + 2.0


def test_rising_probabilities_are_refused() -> None:
    model = Rising(order=2, smooth=1).fit(TRAIN)
    with pytest.raises(BackendError, match=r"log p of .* > 0"):
        top_items(model, 10)
    with pytest.raises(BackendError, match="not a distribution"):
        list(itertools.islice(best_first(model), 5))


@pytest.mark.parametrize(
    ("c", "match"),
    [
        (Constraints(min_len=5, max_len=3), "--min-len 5 is above --max-len 3"),
        (
            Constraints(prefix="a1z!"),
            r"--prefix 'a1z!' has symbols outside the vocabulary: '1' 'z' '!'",
        ),
        (Constraints(suffix="x"), "--suffix 'x' has symbols outside the vocabulary: 'x'"),
        (Constraints(prefix="abcab", max_len=3), "longer than --max-len 3"),
    ],
)
def test_bad_constraints(c: Constraints, match: str) -> None:
    model = CountLM(order=2, smooth=1).fit(TRAIN)
    # contradictory bounds are OptionError, affixes outside the vocabulary OOVError
    with pytest.raises(NgramkitError, match=match):
        top_items(model, 5, c)


def test_streamed_rows_equal_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """iter_top_items in chunks of 3 rows, with --new making the search go on below its
    first threshold: the same rows as brute force (and as top_items)."""
    import ngramkit.best as best

    model = CountLM(order=2, smooth=0.5).fit(TRAIN)
    want, _ = brute_force(model, 6)
    want = [(i, x) for i, x in want if i not in TRAIN][:60]
    monkeypatch.setattr(best, "ROW_CHUNK", 3)
    rows = list(best.iter_top_items(model, 60, Constraints(new=True, max_len=6)))
    same_order([(r.item, r.logprob) for r in rows], want)
    assert [r.rank for r in rows] == list(range(1, 61))
    assert rows == top_items(model, 60, Constraints(new=True, max_len=6))


def test_streaming_checks_before_the_first_row() -> None:
    model = CountLM(order=2, smooth=0.5).fit(TRAIN)
    with pytest.raises(NgramkitError, match="above --max-len"):
        iter_top_items(model, 5, Constraints(min_len=5, max_len=3))  # not at next()


def test_affixes_under_the_models_text_rule(names: list[str]) -> None:
    """A case-folding model reads --suffix 'Son' as 'son' (its items are lower case),
    in enumeration and in sampling; `changes` says so."""
    from ngramkit.corpus import Corpus
    from ngramkit.normalize import Normalization

    corpus = Corpus.from_items(names[:5000], normalization=Normalization(case="lower"))
    model = CountLM(order=2, smooth=1).fit(corpus)
    upper, lower = Constraints(prefix="J", suffix="Son"), Constraints(prefix="j", suffix="son")
    got = top_items(model, 20, upper)
    assert got == top_items(model, 20, lower) and len(got) == 20
    assert all(r.item.startswith("j") and r.item.endswith("son") for r in got)
    drawn = model.sample(10, seed=3, constraints=Constraints(prefix="E", suffix="A"))
    assert drawn == model.sample(10, seed=3, constraints=Constraints(prefix="e", suffix="a"))
    assert all(s.startswith("e") and s.endswith("a") for s in drawn)
    notes = upper.changes(model.vocab)
    assert len(notes) == 2 and notes[1].startswith("--suffix 'Son' reads 'son'")
    assert lower.changes(model.vocab) == [] and lower.under(model.vocab) is lower
