"""Whole-process time of `ngramkit backends`, against a bare Python start.

Runs each command REPEAT times in fresh processes and prints the median
seconds and the ratio to `python -c pass` measured in the same run, plus
whether listing backends imported torch (it must not: plugins import
lazily). Target (issue 4): under 0.5 s whole-process. About 10 s to run.

    .venv/bin/python bench/backends_startup.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

REPEAT = 9
BIN = Path(sys.executable).parent


def median_seconds(cmd: list[str]) -> float:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    bare = median_seconds([sys.executable, "-c", "pass"])
    listing = median_seconds([str(BIN / "ngramkit"), "backends"])
    as_json = median_seconds([str(BIN / "ngramkit"), "backends", "--json"])
    probe = (
        "import sys; from ngramkit.cli import cli; "
        "cli(['backends', '--json'], standalone_mode=False); "
        "print('torch' in sys.modules, file=sys.stderr)"
    )
    torch_loaded = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stderr.strip()
    print(f"python -c pass          {bare:.3f} s  (reference)")
    print(f"ngramkit backends       {listing:.3f} s  ({listing / bare:.1f}x reference)")
    print(f"ngramkit backends --json {as_json:.3f} s  ({as_json / bare:.1f}x reference)")
    print(f"torch imported: {torch_loaded}   target: < 0.5 s whole-process")


if __name__ == "__main__":
    main()
