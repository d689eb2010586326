"""Classifying items among 5 count models vs scoring them under each model one by one.

Five order-3 add-0.1 count models, each fitted on a fifth of names.txt
(examples/names.txt, seed 0 shuffle); the items are names.txt repeated to
--items (default 10^5). "classify" is `classify.classify` (five score_batch
calls, the posterior, labels, margins); "5 x score_batch" scores the same
items under the five models in turn. Runs are interleaved, --repeat times
each; min and median seconds are printed, and the ratio of the mins (the
issue's bound: at most 1.5).

    .venv/bin/python bench/bench_classify.py               # 1e5 items, 5 repeats
    .venv/bin/python bench/bench_classify.py --items 20000 --repeat 3
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

import torch

from ngramkit import CountLM, read_items
from ngramkit.classify import Candidate, classify
from ngramkit.evaluate import score_batch

NAMES = Path(__file__).resolve().parents[1] / "examples" / "names.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = read_items(NAMES).items
    random.Random(0).shuffle(names)
    fifth = len(names) // 5
    models = [
        Candidate(f"m{i}", CountLM(order=3, smooth=0.1).fit(names[i * fifth : (i + 1) * fifth]))
        for i in range(5)
    ]
    items = (names * (args.items // len(names) + 1))[: args.items]
    runs: dict[str, list[float]] = {"classify": [], "5 x score_batch": []}
    for _ in range(args.repeat):  # interleaved, so drift on a busy machine hits both alike
        t = time.perf_counter()
        classify(models, items).margin()
        runs["classify"].append(time.perf_counter() - t)
        t = time.perf_counter()
        for c in models:
            score_batch(c.model, items)
        runs["5 x score_batch"].append(time.perf_counter() - t)
    for name, times in runs.items():
        print(f"{name:>16}: min {min(times):.3f} s  median {statistics.median(times):.3f} s")
    ratio = min(runs["classify"]) / min(runs["5 x score_batch"])
    print(f"{'ratio (min)':>16}: {ratio:.3f}  (bound: 1.5)")


if __name__ == "__main__":
    main()
