"""Weighted fit vs the expanded list: the same model, how much faster without the copies.

    .venv/bin/python bench/bench_weighted.py [--total 10000000] [--repeats 3] [--order 2]

The distinct names of names.txt get Zipf-like counts (count ~ 1/rank^0.8)
summing to exactly --total; `w.tsv` holds `name<TAB>count` and `x.txt` the
same list with each name repeated `count` times. Each round reads and fits
both, interleaved, as `ngramkit fit --val-fraction 0` does (fitting.train,
add-one count model, no samples); the models are checked equal bit for bit.
Prints min and median seconds of each and the ratio (target: weighted faster).
Runs in about a minute at --total 10^7 on 2 busy cores.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from ngramkit import CountLM
from ngramkit.fitting import train
from ngramkit.reader import read_items
from ngramkit.tabular import ListFormat

ROOT = Path(__file__).resolve().parents[1]
NAMES = ROOT / "examples" / "names.txt"


def zipf_counts(n: int, total: int) -> list[int]:
    """n counts ~ 1/rank^0.8, each >= 1, summing to exactly `total`."""
    raw = [1 / (r + 1) ** 0.8 for r in range(n)]
    scale = (total - n) / sum(raw)
    counts = [1 + int(x * scale) for x in raw]
    counts[0] += total - sum(counts)  # the rounding remainder to the most frequent
    return counts


def fit(path: Path, fmt: ListFormat | None, order: int) -> tuple[float, CountLM]:
    """Seconds to read `path` and fit the add-one count model on all of it."""
    start = time.perf_counter()
    words = read_items(path, fmt)
    result = train(CountLM, words, {"order": order, "smooth": 1}, val_fraction=0, n_samples=0)
    return time.perf_counter() - start, result.model  # type: ignore[return-value]


def same(a: CountLM, b: CountLM) -> bool:
    (ca, ta), (cb, tb) = a.state(), b.state()
    return ca == cb and all(torch.equal(ta[k], tb[k]) for k in ta)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--total", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--order", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(1)
    names = list(dict.fromkeys(NAMES.read_text().split()))
    counts = zipf_counts(len(names), args.total)
    with tempfile.TemporaryDirectory() as tmp:
        w, x = Path(tmp) / "w.tsv", Path(tmp) / "x.txt"
        w.write_text("".join(f"{s}\t{c}\n" for s, c in zip(names, counts)))
        with x.open("w") as f:
            for s, c in zip(names, counts):
                f.write(f"{s}\n" * c)
        times: dict[str, list[float]] = {"weighted": [], "expanded": []}
        models = {}
        for _ in range(args.repeats):  # interleaved: both see the same machine load
            for name, path, fmt in (
                ("weighted", w, ListFormat.of(weighted=True)),
                ("expanded", x, None),
            ):
                seconds, models[name] = fit(path, fmt, args.order)
                times[name].append(seconds)
        assert same(models["weighted"], models["expanded"]), "weighted model differs"
    print(f"{len(names):,} distinct names, counts summing to {args.total:,}; order {args.order}")
    for name, t in times.items():
        print(f"{name:>9}: min {min(t):.3f} s  median {statistics.median(t):.3f} s")
    ratio = min(times["expanded"]) / min(times["weighted"])
    print(f"weighted is {ratio:.1f}x faster (min over min); models equal bit for bit")


if __name__ == "__main__":
    main()
