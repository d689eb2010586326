"""Test NLL of every smoothing method at orders 2-8 on the makemore split.

Fits on makemore-split/train.txt (tuned methods cross-validate over 5 folds
of it, the default `--folds`; the test set is never seen) and scores
test.txt. Prints a markdown table (nats per predicted token, L+1 tokens per
name) for docs/smoothing.md. Takes about a minute on 2 cores.

    .venv/bin/python bench/smoothing_table.py [DATA_DIR] [--orders 2,3,...] [--digits 4]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ngramkit import CountLM, corpus_metrics

METHODS = [
    ("add-1", {"smooth": 1.0}),
    ("auto", {"smooth": "auto"}),
    ("abs", {"smooth": "abs"}),
    ("abs tuned", {"smooth": "abs", "tune": True}),
    ("wb", {"smooth": "wb"}),
    ("kn", {"smooth": "kn"}),
    ("kn tuned", {"smooth": "kn", "tune": True}),
    ("mkn", {"smooth": "mkn"}),
    ("mkn tuned", {"smooth": "mkn", "tune": True}),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default="/work/shared/data/makemore-split")
    ap.add_argument("--orders", default="2,3,4,5,6,7,8")
    ap.add_argument("--digits", type=int, default=4)
    args = ap.parse_args()
    train = Path(args.data, "train.txt").read_text().split()
    test = Path(args.data, "test.txt").read_text().split()
    orders = [int(x) for x in args.orders.split(",")]
    print("| order | " + " | ".join(name for name, _ in METHODS) + " |")
    print("|---" * (len(METHODS) + 1) + "|")
    start = time.perf_counter()
    for order in orders:
        cells = []
        for _, hp in METHODS:
            model = CountLM(order=order, **hp).fit(train)
            cells.append(f"{corpus_metrics(model, test).nll:.{args.digits}f}")
        print(f"| {order} | " + " | ".join(cells) + " |", flush=True)
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
