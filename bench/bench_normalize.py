"""What the normalization rule adds to `ngramkit eval` of 10^6 items (target: <= 10%).

    .venv/bin/python bench/bench_normalize.py [--items 1000000] [--repeat 5]

One bigram model on names.txt (its rule resolves to NFC, lower-case, accents
stripped), and the same model with the rule off (normalize.NONE). Each run
is eval's in-process path: ListEvaluation streams the list from a file and
the tsv writer formats every row (into memory), timed in CPU seconds. Three runs, interleaved
`--repeat` times, min and median seconds each:

- off:       the rule off, names.txt repeated to --items lines (lower-case);
- on, lower: the rule on, the same list (the rule changes nothing: the common case);
- on, caps:  the rule on, the same names capitalized, every 10th with an
             accent ("Emma", "Olívia", ...): the rule changes every item,
             and the model scores exactly the items of "off".

Ratios are on to off (min times), which on a shared machine move by several
percent from run to run; so one more "on, caps" run also adds up the CPU time
spent inside Normalization.apply_all (the rule's whole cost in eval: Corpus
normalizes each chunk once) and prints its share. Scoring runs on one torch thread, as the
CLI does. About 1 minute at the defaults on 2 busy cores.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch

from ngramkit import CountLM
from ngramkit.cli.writers import writer
from ngramkit.listeval import ListEvaluation
from ngramkit.normalize import NONE, Normalization

ROOT = Path(__file__).resolve().parents[1]
NAMES = ROOT / "examples" / "names.txt"
ACCENT = {"a": "á", "e": "é", "i": "í", "o": "ó", "u": "ü"}


def capitalized(name: str, i: int) -> str:
    """'Emma', and every 10th name with its first vowel after the first letter accented."""
    head, tail = name[0].upper(), name[1:]
    if i % 10 == 0:
        for j, c in enumerate(tail):
            if c in ACCENT:
                tail = tail[:j] + ACCENT[c] + tail[j + 1 :]
                break
    return head + tail


def rule_seconds(model: CountLM, path: str) -> tuple[float, float]:
    """(CPU seconds of one eval, of them inside Normalization.apply_all)."""
    plain, spent = Normalization.apply_all, [0.0]

    def clocked(rule: Normalization, items: Sequence[str]) -> tuple[list[str], int]:
        start = time.process_time()
        try:
            return plain(rule, items)
        finally:
            spent[0] += time.process_time() - start

    Normalization.apply_all = clocked  # type: ignore[method-assign]
    try:
        return eval_seconds(model, path), spent[0]
    finally:
        Normalization.apply_all = plain  # type: ignore[method-assign]


def eval_seconds(model: CountLM, path: str) -> float:
    """CPU seconds of eval's streaming path over `path`: score every chunk, write tsv rows.

    CPU time of this process (one torch thread), not wall time: on a shared
    machine the wall clock mostly measures the neighbours.
    """
    start = time.process_time()
    run = ListEvaluation(model, [path])
    out = writer("tsv", io.StringIO())
    for chunk in run.chunks():
        out.write_chunk(chunk)
    out.close(run.to_json())
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    names = NAMES.read_text(encoding="utf-8").split()
    items = (names * (args.items // len(names) + 1))[: args.items]
    on = CountLM(order=2, smooth=1).fit(names)
    off = CountLM(order=2, smooth=1).fit(names)
    off.vocab = replace(off.require_fitted(), normalization=NONE)
    with tempfile.TemporaryDirectory() as tmp:
        lower, caps = Path(tmp, "lower.txt"), Path(tmp, "caps.txt")
        lower.write_text("\n".join(items) + "\n", encoding="utf-8")
        caps.write_text("\n".join(capitalized(s, i) for i, s in enumerate(items)) + "\n")
        runs = {"off": (off, lower), "on, lower": (on, lower), "on, caps": (on, caps)}
        times: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(args.repeat):
            for name, (model, path) in runs.items():
                times[name].append(eval_seconds(model, str(path)))
        total, rule = rule_seconds(on, str(caps))
        plain_total, plain_rule = rule_seconds(on, str(lower))
    print(f"eval of {args.items:,} items, {args.repeat} interleaved runs (CPU s):")
    for name, ts in times.items():
        ratio = min(ts) / min(times["off"])
        print(f"  {name:10} min {min(ts):6.3f}  median {statistics.median(ts):6.3f}  x{ratio:.3f}")
    share = rule / (total - rule)
    print(
        f"on, caps: {rule:.3f} s of {total:.3f} s in Normalization.apply_all: "
        f"the rule adds {100 * share:.1f}% to eval when it changes every item (<= 10%)"
    )
    print(
        f"on, lower: {plain_rule:.3f} s of {plain_total:.3f} s: "
        f"{100 * plain_rule / (plain_total - plain_rule):.1f}% when it changes none"
    )


if __name__ == "__main__":
    main()
