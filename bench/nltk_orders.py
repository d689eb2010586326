"""Test NLL of every nltk.lm estimator at orders 2-8 on the makemore split, next to ngramkit.

NLTK is fitted as its docs show (`padded_everygram_pipeline`: order-1 `<s>`
and order-1 `</s>` around each name, every n-gram up to the order) on
makemore-split/train.txt and scores test.txt the way ngramkit does: order-1
`<s>` before each name, one `</s>` after, L+1 predicted tokens per name,
nats per token (NLTK's logscore is log2; converted). A token at probability
0 (MLE on an unseen n-gram) makes the figure inf; the table says how many.

Estimators: MLE, Laplace, Lidstone (gamma tuned), WittenBellInterpolated,
KneserNeyInterpolated (its default discount 0.1, and tuned),
AbsoluteDiscountingInterpolated (its default 0.75, and tuned).
StupidBackoff is left out: its scores are not a distribution (the run prints
one row's sum to show it).

Tuning is ngramkit's `--tune --folds 1` protocol (one dev split; ngramkit's
default, 5-fold cross-validation, would take five times as long here):
dev = ngramkit.data.train_val_split(train, 0.1,
2147483647)[1]; NLTK is fitted on the rest; gamma by golden-section search on
log gamma over ngramkit's add-k range (1e-4, 10), 40 steps, as `--smooth
auto`; a discount by a grid 0.1, 0.2, ..., 0.9, then golden-section search
(20 steps) within +-0.1 of the best grid point. The chosen value is refitted
on all of train.txt and scored on test.txt once; test.txt is never seen while
tuning.

Speed without changing a number: one NLTK count table per (order, data) is
shared by every estimator (NLTK's own fit, so the same counts; models are
built on it with `vocabulary=` and `counter=`), each model's `score` and
`unmasked_score` are memoized per (word, context) (the interpolated
recursion goes through the memo too), and Kneser-Ney's `_continuation_counts`
(a scan of every higher-order context per call) becomes a lookup in an index
of the higher-order contexts by suffix, memoized per (word, context): the
same integers. Caches that depend on a parameter live in the model, and a
new model is built for every parameter value; only the parameter-free index
is kept. `--check-orders` proves it: at those orders every estimator, with
its final parameter, is also fitted plainly (`cls(...).fit(*padded_everygram_
pipeline(...))`, no memo, no sharing) and the first `--check-names` test
names must score bit for bit the same (the run stops otherwise).

ngramkit's column is the best of bench/smoothing_table.py's methods per
order, re-measured here with 6 decimals (skip with --no-ngramkit). Takes
about 15 minutes on 2 cores, two thirds of it the plain fits of the check
(`--check-orders ""` skips it); run it in the background:

    nohup .venv/bin/python bench/nltk_orders.py [DATA_DIR] [--orders 2,3,...] > nltk.log &
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

LN2 = math.log(2)
DEV_SEED = 2147483647  # ngramkit.smoothing.fit.DEV_SEED
DEV_FRACTION = 0.1
GAMMA_RANGE = (1e-4, 10.0)  # ngramkit.smoothing.tune.K_RANGE


class Spec(NamedTuple):
    """One NLTK estimator: how to build it on a count table, its parameter."""

    name: str
    cls: str  # nltk.lm class name
    default: float | None = None  # the parameter, when not tuned
    tune: str | None = None  # "log" (gamma > 0) or "unit" (discount in (0, 1))

    def build(self, order: int, param: float | None, **tables):
        import nltk.lm

        cls = getattr(nltk.lm, self.cls)
        if self.cls == "Lidstone":
            return cls(param, order, **tables)
        if param is None:
            return cls(order, **tables)
        return cls(order, discount=param, **tables)


SPECS = [
    Spec("MLE", "MLE"),
    Spec("Laplace", "Laplace"),
    Spec("Lidstone tuned", "Lidstone", tune="log"),
    Spec("WB", "WittenBellInterpolated"),
    Spec("KN 0.1", "KneserNeyInterpolated", default=0.1),
    Spec("KN tuned", "KneserNeyInterpolated", tune="unit"),
    Spec("AD 0.75", "AbsoluteDiscountingInterpolated", default=0.75),
    Spec("AD tuned", "AbsoluteDiscountingInterpolated", tune="unit"),
]


def plain_fit(spec: Spec, order: int, param: float | None, items: Sequence[str]):
    """The estimator fitted as NLTK's docs do it: no memo, no shared table."""
    from nltk.lm.preprocessing import padded_everygram_pipeline

    lm = spec.build(order, param)
    lm.fit(*padded_everygram_pipeline(order, [list(s) for s in items]))
    return lm


class Continuations:
    """KneserNey._continuation_counts(word, context) of one count table, fast.

    NLTK scans every (len(context)+2)-gram context for those ending in
    `context`; here they are grouped by that suffix once (in NLTK's iteration
    order) and the same two integers are summed over the group, once per
    (word, context). Entries NLTK's lookups add later are empty and count 0.
    """

    def __init__(self, counts) -> None:
        self.counts = counts
        self.groups: dict[int, dict[tuple, list]] = {}
        self.memo: dict[tuple, tuple[int, int]] = {}

    def __call__(self, word, context=()) -> tuple[int, int]:
        from nltk.lm.smoothing import _count_values_gt_zero

        key = (word, context)
        hit = self.memo.get(key)
        if hit is None:
            k = len(context) + 2
            groups = self.groups.get(k)
            if groups is None:
                by_suffix = defaultdict(list)
                for prefix, dist in self.counts[k].items():
                    by_suffix[prefix[1:]].append(dist)
                groups = self.groups[k] = dict(by_suffix)
            with_word, total = 0, 0
            for dist in groups.get(tuple(context), ()):
                with_word += int(dist[word] > 0)
                total += _count_values_gt_zero(dist)
            hit = self.memo[key] = (with_word, total)
        return hit


def memoize(lm, continuations: Continuations | None = None):
    """`lm` with score / unmasked_score memoized per (word, context); returns lm.

    Valid while the parameter and the counts stay as they are: build a new
    model for a new parameter (the caches go with the old one).
    """

    def cached(fn: Callable) -> Callable:
        memo: dict = {}

        def call(word, context=None):
            key = (word, context)
            try:
                return memo[key]
            except KeyError:
                value = memo[key] = fn(word, context)
                return value

        return call

    lm.unmasked_score = cached(lm.unmasked_score)  # the recursion calls self.unmasked_score
    lm.score = cached(lm.score)  # logscore calls self.score
    if continuations is not None and hasattr(getattr(lm, "estimator", None), "_order"):
        lm.estimator._continuation_counts = continuations  # KneserNey
    return lm


class Table:
    """One NLTK count table (NLTK's own fit on `items`) shared by every estimator."""

    def __init__(self, order: int, items: Sequence[str]) -> None:
        from nltk.lm import MLE
        from nltk.lm.preprocessing import padded_everygram_pipeline

        base = MLE(order)
        base.fit(*padded_everygram_pipeline(order, [list(s) for s in items]))
        self.order, self.vocab, self.counts = order, base.vocab, base.counts
        self.continuations = Continuations(self.counts)

    def model(self, spec: Spec, param: float | None):
        lm = spec.build(self.order, param, vocabulary=self.vocab, counter=self.counts)
        return memoize(lm, self.continuations)


def windows(order: int, item: str):
    """(word, context) of each predicted token: order-1 <s>, the name, one </s>."""
    seq = ["<s>"] * (order - 1) + list(item) + ["</s>"]
    for i in range(order - 1, len(seq)):
        yield seq[i], tuple(seq[i - order + 1 : i])


def nll(lm, order: int, items: Sequence[str]) -> tuple[float, int]:
    """(NLL in nats per predicted token, tokens at probability 0) of `items`."""
    bits, zeros, tokens = 0.0, 0, 0
    for item in items:
        for word, context in windows(order, item):
            lp = lm.logscore(word, context)
            bits -= lp
            zeros += lp == -math.inf
        tokens += len(item) + 1
    return bits * LN2 / tokens, zeros


def golden(f: Callable[[float], float], lo: float, hi: float, steps: int) -> float:
    """Golden-section search for the minimum of f on (lo, hi): ngramkit's own (tune_k's)."""
    from ngramkit.smoothing.tune import golden_min

    return golden_min(f, lo, hi, steps)


def tune(spec: Spec, table: Table, dev: Sequence[str]) -> tuple[float, float, int]:
    """(parameter, its dev NLL, evaluations) minimizing the dev NLL on `table`."""
    seen: dict[float, float] = {}

    def dev_nll(p: float) -> float:
        if p not in seen:
            seen[p] = nll(table.model(spec, p), table.order, dev)[0]
        return seen[p]

    if spec.tune == "log":
        lo, hi = math.log(GAMMA_RANGE[0]), math.log(GAMMA_RANGE[1])
        best = math.exp(golden(lambda x: dev_nll(math.exp(x)), lo, hi, 40))
    else:
        grid = [round(0.1 * i, 1) for i in range(1, 10)]
        g = min(grid, key=dev_nll)
        best = golden(dev_nll, max(g - 0.1, 0.0), min(g + 0.1, 1.0), 20)
    return best, dev_nll(best), len(seen)


def check_exact(spec: Spec, order: int, param, lm, train: Sequence[str], names):
    """(tokens, plain NLTK's scoring seconds); stops unless every memoized score of
    `lm` is plain NLTK's, bit for bit."""
    plain = plain_fit(spec, order, param, train)
    n, took = 0, 0.0
    for item in names:
        for word, context in windows(order, item):
            t = time.perf_counter()
            ref = plain.score(word, context)
            took += time.perf_counter() - t
            fast = lm.score(word, context)
            if fast != ref:
                where = f"{spec.name} order {order}: {word!r} | {context}"
                raise SystemExit(f"{where}: memoized {fast!r} != plain {ref!r}")
            n += 1
    return n, took


def stupid_backoff_row_sum(table: Table, context: tuple) -> float:
    """Sum over NLTK's vocabulary of StupidBackoff's scores after `context`."""
    from nltk.lm import StupidBackoff

    lm = StupidBackoff(0.4, table.order, vocabulary=table.vocab, counter=table.counts)
    return math.fsum(lm.score(w, context) for w in sorted(table.vocab))


def one_bos_zero_division(items: Sequence[str]) -> str:
    """What NLTK's KN does on contexts at <s> when names get one <s> (ARPA's padding)."""
    from nltk.lm import KneserNeyInterpolated
    from nltk.util import everygrams

    sents = [["<s>"] + list(s) + ["</s>"] for s in items]
    lm = KneserNeyInterpolated(3)
    lm.fit([everygrams(s, max_len=3) for s in sents], [w for s in sents for w in s])
    try:
        lm.score(items[0][0], ("<s>",))
    except ZeroDivisionError as e:
        return f"ZeroDivisionError ({e})"
    return "no error"


def ngramkit_best(order: int, train: Sequence[str], test: Sequence[str]) -> tuple[str, float]:
    """(method, test NLL) of the best of bench/smoothing_table.py's methods."""
    from ngramkit import CountLM, corpus_metrics

    sys.path.insert(0, str(Path(__file__).parent))
    from smoothing_table import METHODS

    scores = []
    for name, hp in METHODS:
        model = CountLM(order=order, **hp).fit(train)
        scores.append((corpus_metrics(model, test).nll, name))
    nll_, name = min(scores)
    return name, nll_


def fmt(x: float, zeros: int = 0, digits: int = 4) -> str:
    return f"inf ({zeros})" if math.isinf(x) else f"{x:.{digits}f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default="/work/shared/data/makemore-split")
    ap.add_argument("--orders", default="2,3,4,5,6,7,8")
    ap.add_argument("--check-orders", default="2,3,4,5,6,7,8", help="checked vs plain NLTK")
    ap.add_argument("--check-names", type=int, default=30)
    ap.add_argument("--no-ngramkit", action="store_true")
    args = ap.parse_args()
    import torch

    from ngramkit.data import train_val_split

    torch.set_num_threads(1)
    train = Path(args.data, "train.txt").read_text().split()
    test = Path(args.data, "test.txt").read_text().split()
    rest, dev = train_val_split(train, DEV_FRACTION, DEV_SEED)
    orders = [int(x) for x in args.orders.split(",")]
    checks = {int(x) for x in args.check_orders.split(",") if x}
    log = sys.stderr
    print(f"train {len(train)} (rest {len(rest)}, dev {len(dev)}), test {len(test)}", file=log)
    start = time.perf_counter()
    rows, details = [], []
    for order in orders:
        t0 = time.perf_counter()
        whole, part = Table(order, train), Table(order, rest)
        t_fit = time.perf_counter() - t0
        cells, best, params = [], (math.inf, ""), {}
        for spec in SPECS:
            t = time.perf_counter()
            param, note = spec.default, ""
            if spec.tune:
                param, dev_nll, evals = tune(spec, part, dev)
                params[spec.name] = param
                note = f" param {param:.6g} (dev {dev_nll:.6f}, {evals} evals)"
            lm = whole.model(spec, param)
            value, zeros = nll(lm, order, test)
            if order in checks:
                n, took = check_exact(spec, order, param, lm, train, test[: args.check_names])
                note += f"; exact vs plain NLTK on {n} tokens (plain scores them in {took:.2f} s)"
            cells.append((value, zeros))
            best = min(best, (value, spec.name))
            print(
                f"order {order} {spec.name}: {fmt(value, zeros, 6)}{note} "
                f"[{time.perf_counter() - t:.1f} s]",
                file=log,
                flush=True,
            )
        best_ours = None
        if not args.no_ngramkit:
            t = time.perf_counter()
            name, ours = best_ours = ngramkit_best(order, train, test)
            details.append((order, best, name, ours, params))
            print(
                f"order {order} ngramkit {name}: {ours:.6f} [{time.perf_counter() - t:.1f} s]",
                file=log,
            )
        if order == 3:
            s = stupid_backoff_row_sum(whole, ("e", "m"))
            print(f"StupidBackoff(0.4) order 3: scores after ('e','m') sum to {s:.6f}", file=log)
        rows.append((order, cells, best_ours))
        print(
            f"order {order} done: {time.perf_counter() - t0:.0f} s (fits {t_fit:.0f} s), "
            f"total {time.perf_counter() - start:.0f} s",
            file=log,
            flush=True,
        )
        del whole, part

    print("KN with NLTK's padding (order-1 <s>): no ZeroDivisionError at any order above")
    print(f"KN, one <s> per name, order 3, context (<s>,): {one_bos_zero_division(train[:2000])}")
    head = [s.name for s in SPECS] + ([] if args.no_ngramkit else ["ngramkit best"])
    for digits in (4, 6):
        print(f"\n({digits} decimals)\n| order | " + " | ".join(head) + " |")
        print("|---" * (len(head) + 1) + "|")
        for order, cells, ours in rows:
            row = [fmt(v, z, digits) for v, z in cells]
            if ours is not None:
                row.append(f"{ours[1]:.{digits}f} ({ours[0]})")
            print(f"| {order} | " + " | ".join(row) + " |")
    if details:
        print("\n| order | best NLTK | ngramkit best | NLTK - ngramkit | tuned gamma, KN d, AD d |")
        print("|---|---|---|---|---|")
        for order, (value, spec_name), name, ours, params in details:
            tuned = ", ".join(f"{v:.4g}" for v in params.values())
            print(
                f"| {order} | {value:.6f} ({spec_name}) | {ours:.6f} ({name}) | "
                f"{value - ours:+.6f} | {tuned} |"
            )
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
