"""Benchmarks of scoring word lists, as ratios against references run here and now.

    .venv/bin/python bench/bench_eval.py [--items 1000000] [--quick]

1. In-process batch scoring (evaluate.score_batch, chunks of CHUNK_ITEMS) of
   the count bigram vs NLTK's nltk.lm Laplace `logscore` loop on the same
   counts (target: >= 100x items/s).
2. The count model at order 5 vs KenLM's Python module (`pip install kenlm`)
   on the shared ARPA files (the highest order there is 4; KenLM's query
   speed barely depends on the order) (target: >= 1x items/s).
3. Whole-process `ngramkit eval MODEL big.txt --format tsv > file` on names.txt
   repeated to --items lines: seconds and peak RSS (target: < 10 s).
4. Whole-process `ngramkit compare` of two models on names.txt, minus the time
   of `python -c "import torch"` (target: < 2 s).

Scoring runs on one torch thread, as the CLI does (see cli/common.py).
Prints one line per figure; takes about a minute on 2 busy cores.
"""

from __future__ import annotations

import argparse
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from ngramkit import CountLM
from ngramkit.evaluate import CHUNK_ITEMS, score_batch
from ngramkit.persist import save

ROOT = Path(__file__).resolve().parents[1]
NAMES = ROOT / "examples" / "names.txt"
KENLM = Path("/work/shared/data/kenlm")
CLI = [str(Path(sys.executable).parent / "ngramkit")]


def rate(fn, n_items: int, repeat: int = 3) -> float:
    """Best items/s over `repeat` runs of fn()."""
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n_items / best


def ours(model: CountLM, items: list[str]) -> None:
    for i in range(0, len(items), CHUNK_ITEMS):
        score_batch(model, items[i : i + CHUNK_ITEMS])


def nltk_rate(names: list[str], n: int) -> float:
    from nltk.lm import Laplace
    from nltk.lm.preprocessing import pad_both_ends, padded_everygram_pipeline
    from nltk.util import ngrams

    train, vocab = padded_everygram_pipeline(2, [list(w) for w in names])
    lm = Laplace(2)
    lm.fit(train, vocab)
    sample = names[:n]

    def loop() -> None:
        for w in sample:
            sum(lm.logscore(b, [a]) for a, b in ngrams(pad_both_ends(list(w), 2), 2))

    return rate(loop, len(sample))  # best of 3, as ours


def kenlm_rate(items: list[str], order: int) -> float | None:
    try:
        import kenlm
    except ImportError:
        return None
    lm = kenlm.Model(str(KENLM / f"names_o{order}.arpa"))
    spaced = [" ".join(w) for w in items]

    def loop() -> None:
        score = lm.score
        for s in spaced:
            score(s, bos=True, eos=True)

    return rate(loop, len(spaced))


def whole_process(args: list[str], out: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + sys) and peak RSS (KiB) of one run, stdout to `out`.

    CPU seconds are given because wall time on a shared 2-core box mostly
    measures the neighbours. Peak RSS is the largest child so far (ru_maxrss).
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    with out.open("w") as f:
        subprocess.run(args, stdout=f, check=True)
    seconds = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return seconds, cpu, after.ru_maxrss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="smaller samples, for a smoke run")
    a = ap.parse_args()
    torch.set_num_threads(1)
    names = NAMES.read_text().split()
    big = (names * (a.items // len(names) + 1))[: a.items]
    in_process = big[: 200_000 if a.quick else 1_000_000]

    bigram = CountLM(order=2, smooth=1).fit(names)
    r_ours = rate(lambda: ours(bigram, in_process), len(in_process))
    r_nltk = nltk_rate(names, 1_000 if a.quick else 5_000)
    print(
        f"bigram batch scoring: {r_ours:,.0f} names/s; NLTK logscore loop {r_nltk:,.0f}/s; "
        f"ratio {r_ours / r_nltk:,.0f}x (target >= 100x)"
    )

    five = CountLM(order=5, smooth=1).fit(names)
    r5 = rate(lambda: ours(five, in_process), len(in_process))
    four = CountLM(order=4, smooth=1).fit(names)
    r4 = rate(lambda: ours(four, in_process), len(in_process))
    r_ken = kenlm_rate(in_process[:200_000], 4)
    if r_ken is None:
        print(f"order 5: {r5:,.0f} names/s; KenLM not installed (pip install kenlm)")
    else:
        print(
            f"order 5: {r5:,.0f} names/s, order 4: {r4:,.0f}/s; KenLM o4 {r_ken:,.0f}/s; "
            f"ratio o5 {r5 / r_ken:.2f}x, o4 {r4 / r_ken:.2f}x (target >= 1x)"
        )

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "big.txt").write_text("\n".join(big) + "\n")
        save(bigram, d / "b2.ngk")
        save(CountLM(order=3, smooth=0.5).fit(names), d / "b3.ngk")
        # The smaller run goes first: ru_maxrss of children is a running maximum.
        small = d / "small.txt"
        small.write_text("\n".join(big[: len(big) // 10]) + "\n")
        _, _, rss_small = whole_process(
            [*CLI, "eval", str(d / "b2.ngk"), str(small), "--format", "tsv"], d / "o.tsv"
        )
        sec, cpu, rss = whole_process(
            [*CLI, "eval", str(d / "b2.ngk"), str(d / "big.txt"), "--format", "tsv"], d / "out.tsv"
        )
        rows = sum(1 for _ in (d / "out.tsv").open()) - 1
        print(
            f"peak RSS of eval to tsv: {rss / 1024:.0f} MiB for {rows:,} items, "
            f"{rss_small / 1024:.0f} MiB for a tenth of them (streaming: about flat)"
        )
        print(
            f"whole-process eval of {rows:,} items to tsv: {sec:.2f} s wall, {cpu:.2f} s CPU, "
            f"peak RSS {rss / 1024:.0f} MiB (target < 10 s)"
        )
        torch_s, torch_cpu, _ = whole_process([sys.executable, "-c", "import torch"], d / "t")
        sec, cpu, _ = whole_process(
            [*CLI, "compare", str(d / "b2.ngk"), str(d / "b3.ngk"), "--on", str(NAMES)],
            d / "cmp.txt",
        )
        print(
            f"whole-process compare of 2 models on names.txt: {sec:.2f} s wall, "
            f"{sec - torch_s:.2f} s beyond the torch import ({torch_s:.2f} s); CPU "
            f"{cpu:.2f} s, {cpu - torch_cpu:.2f} s beyond the import (target < 2 s)"
        )


if __name__ == "__main__":
    main()
