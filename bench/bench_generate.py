"""Generation speed on names.txt: top K of an order-5 mkn model, constrained sampling, ranks.

Targets (issue 15): top 10^4 < 2 s CPU; top 10^6 < 2 min; sample -n 10000 --new at
most 2x unconstrained; 10,000 ranks from 10^5 samples < 10 s. Runs about a minute
(pass --big for the 10^6 run). CPU seconds, one torch thread.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from ngramkit import CountLM
from ngramkit.best import top_items
from ngramkit.constraints import Constraints
from ngramkit.guessing import RankEstimator

NAMES = Path(__file__).resolve().parents[1] / "examples" / "names.txt"


def cpu(f):
    t = time.process_time()
    out = f()
    return out, time.process_time() - t


def main() -> None:
    torch.set_num_threads(1)
    names = NAMES.read_text().split()
    mkn = CountLM(order=5, smooth="mkn").fit(names)
    bigram = CountLM(order=2, smooth=1).fit(names)
    for k in (10_000, 1_000_000) if "--big" in sys.argv else (10_000,):
        _, s = cpu(lambda k=k: top_items(mkn, k))
        print(f"top {k:>9,} (order-5 mkn): {s:6.2f} s")
    _, plain = cpu(lambda: bigram.sample(10_000, seed=1))
    _, new = cpu(lambda: bigram.sample(10_000, seed=1, constraints=Constraints(new=True)))
    print(f"sample 10,000: {plain:.2f} s; --new {new:.2f} s (ratio {new / plain:.2f})")
    est, setup = cpu(lambda: RankEstimator(bigram, 100_000, seed=1, exact=10_000))
    _, ranks = cpu(lambda: est.ranks(names[:10_000]))
    print(f"ranks of 10,000 items from 10^5 samples: {setup + ranks:.2f} s")


if __name__ == "__main__":
    main()
