"""Scoring speed of a mixture against the sum of its components', as one ratio.

    .venv/bin/python bench/bench_mixture.py [--rounds 7] [--mlp-steps 2000]

Fits `mkn --tune` order 6 and the mlp plugin at order 8 (few steps: speed does
not depend on them) on examples/makemore-split/train.txt, mixes them
(linear, 8 context-count buckets; then log-linear), and scores every token of
test.txt with `corpus_logprobs`: the mixture, then each component, interleaved
round by round. Times are process CPU seconds (resource.getrusage), robust on a
shared machine. Prints min and median of mixture / (sum of components) per
weighting (target: <= 1.2 for linear); a log-linear mixture renormalizes every
row, so it is also timed against the components' full rows (next_logprobs).
Takes about a minute on 2 busy cores.
"""

from __future__ import annotations

import argparse
import resource
import statistics
from pathlib import Path

import torch

from ngramkit import CountLM, registry
from ngramkit.corpus import Corpus
from ngramkit.mixture import mix
from ngramkit.reader import read_items

SPLIT = Path(__file__).resolve().parents[1] / "examples" / "makemore-split"


def cpu() -> float:
    """Process CPU seconds (user + system)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(model, corpus: Corpus) -> float:
    """CPU seconds to score every token of `corpus`."""
    start = cpu()
    model.corpus_logprobs(corpus)
    return cpu() - start


def timed_rows(model, grams: torch.Tensor) -> float:
    """CPU seconds for the full next-token rows of every context in `grams` [T, order]."""
    start = cpu()
    model.next_logprobs(grams[:, :-1])
    return cpu() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--mlp-steps", type=int, default=2000)
    args = ap.parse_args()
    torch.set_num_threads(1)  # as the CLI does
    train = read_items(SPLIT / "train.txt").items
    test = read_items(SPLIT / "test.txt").items
    dev, fit_on = train[-3000:], train[:-3000]
    parts = [
        CountLM(order=6, smooth="mkn", tune=True).fit(fit_on),
        registry.get("mlp")(order=8, steps=args.mlp_steps).fit(fit_on),
    ]
    for weighting in ("linear", "loglinear"):
        m = mix(parts, dev, weighting=weighting, buckets=8)
        corpus = Corpus.from_items(test, m.vocab)
        grams = corpus.grams(m.order)
        ratios, rows = [], []
        for _ in range(args.rounds):
            whole = timed(m, corpus)
            ratios.append(whole / sum(timed(p, corpus) for p in parts))
            if weighting == "loglinear":  # it needs every component's full rows
                cut = [grams[:, m.order - p.order :] for p in parts]
                rows.append(whole / sum(timed_rows(p, g) for p, g in zip(parts, cut)))
        print(
            f"{weighting:9s} mixture / sum of components, CPU time over {corpus.n_tokens} "
            f"tokens: min {min(ratios):.3f}, median {statistics.median(ratios):.3f}"
        )
        if rows:
            print(
                f"{weighting:9s} mixture / sum of components' full rows: "
                f"min {min(rows):.3f}, median {statistics.median(rows):.3f}"
            )


if __name__ == "__main__":
    main()
