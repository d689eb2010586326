"""Loading a model file: ngramkit's formats 1 and 2 against KenLM's binaries.

The model is order-5 modified Kneser-Ney on the standard library's source
(bench_scale.py's corpus, `ngramkit fit stdlib.txt --order 5 --smooth mkn`),
or any count model given with --model. It is written in format 1 (ngramkit
0.1: sha256, tensors copied) and format 2 (the mapped layout), exported as
ARPA, and, where KenLM's build_binary is found ($KENLM_BIN, else
/work/kenlm/build/bin; see docs/performance.md to build it), turned into
KenLM's probing and trie binaries. Then each file is loaded in turn, in one
warm process (each loaded once before the clock), interleaved over the
repeats: min and median of wall and process CPU time, and the ratio of
format 2 to KenLM's probing load. Loading includes every check (both
checksums, from_state's checks, the smoke-test row). File sizes at the end.

    .venv/bin/python bench/bench_load.py                 # fits the stdlib model (~15 s)
    .venv/bin/python bench/bench_load.py --model m5.ngk  # a model already fitted
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

KENLM_BIN = Path(os.environ.get("KENLM_BIN", "/work/kenlm/build/bin"))


def kenlm_binary(arpa_path: Path, kind: str = "probing") -> Path | None:
    """KenLM's `kind` binary (probing, trie) of an ARPA file, next to it, made by
    $KENLM_BIN/build_binary; None when build_binary is not there."""
    build = KENLM_BIN / "build_binary"
    if not build.exists():
        return None
    out = arpa_path.with_suffix(f".{kind}")
    command = [str(build), kind, str(arpa_path), str(out)]
    subprocess.run(command, check=True, capture_output=True)
    return out


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def model_file(given: str | None, folder: Path) -> Path:
    """The model to load: --model, else the stdlib order-5 model fitted here."""
    if given:
        return Path(given)
    from bench_scale import stdlib_lines

    from ngramkit import CountLM, save

    lines = stdlib_lines()
    print(f"fitting order 5 mkn on {len(lines)} stdlib lines ...", flush=True)
    return save(CountLM(order=5, smooth="mkn").fit(lines), folder / "m5.ngk")


def contenders(path: Path, folder: Path) -> dict[str, tuple[Path, Callable[[Path], object]]]:
    """name -> (file, how to load it): ngramkit 1 and 2, KenLM's binaries where built."""
    from ngramkit import persist
    from ngramkit.smoothing import arpa

    model = persist.load(path)
    extra = {k: v for k, v in model.header.items() if k in ("data", "metrics")}
    old = persist.save(model.model, folder / "v1.ngk", extra, format_version=1)
    new = persist.save(model.model, folder / "v2.ngk", extra)
    out = {
        "ngramkit format 1": (old, persist.load),
        "ngramkit format 2": (new, persist.load),
    }
    try:
        import kenlm
    except ImportError:
        print("kenlm module not installed: KenLM skipped")
        return out
    if not (KENLM_BIN / "build_binary").exists():
        print(f"{KENLM_BIN}/build_binary not found: KenLM skipped (docs/performance.md)")
        return out
    arpa.save(model.model, folder / "m.arpa")
    for kind in ("probing", "trie"):
        target = kenlm_binary(folder / "m.arpa", kind)
        out[f"kenlm {kind}"] = (target, lambda p: kenlm.Model(str(p)))
    return out


def bench(runs: dict[str, tuple[Path, Callable[[Path], object]]], repeats: int) -> dict:
    """{name: (wall seconds, cpu seconds)} over interleaved repeats, after one warm load."""
    for path, load in runs.values():
        load(path)
    times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in runs}
    for _ in range(repeats):
        for name, (path, load) in runs.items():
            c, t = cpu(), time.perf_counter()
            load(path)
            times[name][0].append(time.perf_counter() - t)
            times[name][1].append(cpu() - c)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None, help="a count model file (default: fit stdlib)")
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        runs = contenders(model_file(args.model, folder), folder)
        times = bench(runs, args.repeats)
        print(f"\nload, {args.repeats} interleaved repeats (ms)")
        print(f"{'file':<20}{'wall min':>10}{'median':>9}{'cpu min':>9}{'median':>9}{'MB':>8}")
        for name, (wall, used) in times.items():
            size = runs[name][0].stat().st_size / 1e6
            row = [min(wall), statistics.median(wall), min(used), statistics.median(used)]
            print(f"{name:<20}" + "".join(f"{x * 1e3:>9.2f}" for x in row) + f"{size:>8.2f}")
        if "kenlm probing" in times:
            ours, ref = times["ngramkit format 2"], times["kenlm probing"]
            for i, what in enumerate(("wall", "cpu")):
                lo = min(ours[i]) / max(min(ref[i]), 1e-9)
                med = statistics.median(ours[i]) / max(statistics.median(ref[i]), 1e-9)
                print(f"format 2 / kenlm probing, {what}: min {lo:.1f}x, median {med:.1f}x")
            size = runs["ngramkit format 2"][0].stat().st_size
            print(f"size, format 2 / probing: {size / runs['kenlm probing'][0].stat().st_size:.3f}")


if __name__ == "__main__":
    main()
