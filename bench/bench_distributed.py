"""Sharded counting: one process vs `--workers 2` vs `--dask local` (2 workers).

Order-5 modified Kneser-Ney on the stdlib-source corpus (bench_scale.py's
builder: the Python standard library's .py files, printable-ASCII non-blank
lines, trailing whitespace removed), written once to a temporary file. Each
run is a fresh `ngramkit fit FILE --json` subprocess; a sampler thread sums
VmRSS over the whole process tree (workers, Dask nanny and scheduler
included) every 50 ms, so "peak RSS" is the peak of that sum, and the
largest single process is shown too. Stage seconds (symbols pass, count,
merge, estimate) come from the command's own JSON; "other" is the rest of
the wall time: starting Python, importing torch, starting workers or the
cluster, saving the model.

    .venv/bin/python bench/bench_distributed.py              # 1e6, 1e7, all
    .venv/bin/python bench/bench_distributed.py --sizes all  # the whole corpus only
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import stdlib_lines

NGRAMKIT = str(Path(sys.executable).with_name("ngramkit"))
MODES = {
    "plain fit": ["--val-fraction", "0"],
    "1 process": ["--shards", "1"],
    "--workers 2": ["--workers", "2"],
    "--dask local": ["--dask", "local", "--workers", "2"],
}


def tree_rss_mib(pid: int) -> tuple[float, float]:
    """(sum, max) of VmRSS over `pid` and all its descendants, in MiB."""
    pids, total, top = [pid], 0.0, 0.0
    while pids:
        p = pids.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            # children of every thread: Dask starts its workers from its event-loop thread
            kids = [
                k
                for task in Path(f"/proc/{p}/task").iterdir()
                for k in (task / "children").read_text().split()
            ]
        except OSError:
            continue
        pids += [int(k) for k in kids]
        for line in status.split("\n"):
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
                total, top = total + rss, max(top, rss)
    return total, top


def timed(args: list[str]) -> tuple[float, float, float, dict]:
    """(wall s, peak tree RSS, peak single-process RSS, the command's JSON)."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = [0.0, 0.0]

    def sample() -> None:
        while proc.poll() is None:
            total, top = tree_rss_mib(proc.pid)
            peak[0], peak[1] = max(peak[0], total), max(peak[1], top)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, _ = proc.communicate()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"failed: {' '.join(args)}")
    return time.perf_counter() - start, peak[0], peak[1], json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="+", default=["1e6", "1e7", "all"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            lines = stdlib_lines(None if size == "all" else int(float(size)))
            data = Path(tmp) / "stdlib.txt"
            data.write_text("\n".join(lines) + "\n")
            symbols = sum(map(len, lines))
            print(f"\n{symbols:,} symbols, {len(lines):,} lines, order 5, mkn", flush=True)
            base = None
            for mode, flags in MODES.items():
                cmd = [NGRAMKIT, "fit", str(data), "--order", "5", "--smooth", "mkn"]
                cmd += [*flags, "--samples", "0", "-o", f"{tmp}/m.ngk", "--json"]
                wall, rss, top, out = timed(cmd)
                base = base or wall
                stages = out.get("stages", {})
                if stages:
                    stages["other"] = wall - sum(stages.values())
                share = {k: v / wall for k, v in stages.items()}
                split = "  ".join(
                    f"{k} {v:5.1f}s ({100 * share[k]:2.0f}%)" for k, v in stages.items()
                )
                print(
                    f"  {mode:>13}: {wall:6.1f} s ({base / wall:4.2f}x of plain fit)  "
                    f"peak RSS {rss:6.0f} MiB (largest process {top:5.0f})  {split}"
                    + (f"  top-order n-grams {out['ngrams']:,}" if "ngrams" in out else ""),
                    flush=True,
                )


if __name__ == "__main__":
    main()
