"""bench/nltk_orders.py: its fast NLTK is NLTK, and ngramkit beats NLTK at orders 2-8.

(a) The bench's memoized, table-sharing NLTK models give plain NLTK's scores
bit for bit, for every estimator, at two orders, across a parameter change.
(b) A small real setting (examples/names.txt: every 10th name, 3,204, to
train; every 100th from the 5th, 321, to test): ngramkit's `mkn --tune`
(5-fold cross-validated on its training items) has a lower test NLL than
every nltk.lm estimator at every order 3-8, even with NLTK's knob
(Lidstone's gamma, a discount) picked on the test set itself; at order 2
(the bigram is saturated) it ties, within 1e-4. With the old tuning on one
10% dev split, a smaller set (every 16th name, 2,003) lost at orders 7 and
8: that dev set let order 7's D2 and D3 drift to 0 (2.286 against 2.223 for
5-fold; tests/test_smoothing.py keeps that case).

Skipped without nltk (in the dev extra, so CI has it).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

from ngramkit import CountLM, corpus_metrics

pytest.importorskip("nltk.lm")

ROOT = Path(__file__).resolve().parents[1]
NAMES = (ROOT / "examples" / "names.txt").read_text(encoding="utf-8").split()


def load_bench():
    spec = importlib.util.spec_from_file_location("nltk_orders", ROOT / "bench" / "nltk_orders.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("nltk_orders", module)
    spec.loader.exec_module(module)
    return module


bench = load_bench()
PARAMS = {"log": (0.5, 0.02), "unit": (0.3, 0.9)}  # two values of each knob, in turn


@pytest.mark.parametrize("order", [2, 4])
@pytest.mark.parametrize("spec", bench.SPECS, ids=lambda s: s.name)
def test_memoized_is_plain_nltk(spec, order: int) -> None:
    train, names = NAMES[:600], NAMES[1000:1100:5] + ["zzyzx", "q"]  # unseen n-grams too
    table = bench.Table(order, train)
    values = PARAMS[spec.tune] if spec.tune else (spec.default,)
    for param in values:  # a new parameter on the same table: no stale cache
        lm = table.model(spec, param)
        plain = bench.plain_fit(spec, order, param, train)
        for _ in range(2):  # computed, then from the memo
            for name in names:
                for word, context in bench.windows(order, name):
                    assert lm.score(word, context) == plain.score(word, context), (word, context)
    if spec.cls == "KneserNeyInterpolated":
        assert table.continuations.memo, "the continuation index was not used"


def nltk_best_on_test(spec, table, test: list[str]) -> float:
    """NLTK's test NLL, its knob (if any) picked on the test set: in its favour."""

    def test_nll(param: float | None) -> float:
        return bench.nll(table.model(spec, param), table.order, test)[0]

    if spec.tune == "log":
        x = bench.golden(lambda x: test_nll(math.exp(x)), math.log(1e-4), math.log(10), 10)
        return test_nll(math.exp(x))
    if spec.tune == "unit":
        return test_nll(bench.golden(test_nll, 0.0, 1.0, 10))
    return test_nll(spec.default)


@pytest.mark.parametrize("order", range(2, 9))
def test_ngramkit_beats_every_nltk_estimator(order: int) -> None:
    train, test = NAMES[::10], NAMES[5::100]
    ours = corpus_metrics(CountLM(order=order, smooth="mkn", tune=True).fit(train), test).nll
    table = bench.Table(order, train)
    for spec in bench.SPECS:
        theirs = nltk_best_on_test(spec, table, test)
        if order == 2:
            # The bigram is saturated: every estimator of either library is within
            # 1e-3 of the MLE here (the test NLL's standard error is about 0.03).
            # mkn --tune ties (within 1e-4) NLTK's knob picked on test.
            assert ours < theirs + 1e-4, (spec.name, ours, theirs)
        else:
            assert ours < theirs, (spec.name, ours, theirs)
