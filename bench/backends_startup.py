"""Whole-process time of `ngramkit backends`, with the example plugins installed.

Each round runs every command once in a fresh process, in turn (interleaved,
so that a busy machine slows them all alike): `python -c pass` (the
interpreter's own start), `python -c "import click, rich"` (the libraries the
CLI stands on), then `ngramkit backends` and `ngramkit backends --json`.
Prints min and median seconds per command, wall clock and CPU (user +
system: what a shared machine's load does not inflate), `backends`' excess
over each reference, the backends listed (the example plugin ngramkit-mlp, from
plugins/, must be among them: `pip install -e plugins/ngramkit-mlp`) and
whether listing imported torch (it must not). Target (issue 13): under 0.5 s
whole-process. About 10 s with the default 9 rounds.

The commands run as a user's installation does: with bytecode caches (an
untimed first round writes them, PYTHONDONTWRITEBYTECODE is dropped), since
compiling every module from source at each start is no start-up a user sees.

    .venv/bin/python bench/backends_startup.py [ROUNDS]
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROUNDS = 9
TARGET = 0.5  # seconds, whole process
EXAMPLES = {"mlp": "ngramkit-mlp"}  # backend name -> the example plugin's distribution
NGRAMKIT = str(Path(sys.executable).parent / "ngramkit")
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import click, rich'": [sys.executable, "-c", "import click, rich"],
    "ngramkit backends": [NGRAMKIT, "backends"],
    "ngramkit backends --json": [NGRAMKIT, "backends", "--json"],
}


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def seconds(cmd: list[str]) -> tuple[float, float]:
    """(wall-clock, CPU) seconds of one run of `cmd` in a fresh process.

    CPU is the child's user + system time: on a machine shared with other work
    the wall clock waits for a core, the CPU time does not.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def interleaved(rounds: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds per command, each round running every command once, in turn.

    A first round, not timed, writes the bytecode caches and warms the file cache.
    """
    for cmd in COMMANDS.values():
        seconds(cmd)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for _ in range(rounds):
        for name, cmd in COMMANDS.items():
            times[name].append(seconds(cmd))
    return times


def installation() -> tuple[dict[str, str], bool]:
    """{backend: status} as `ngramkit backends --json` lists them, and whether torch loaded."""
    probe = (
        "import sys; from ngramkit.cli import cli; "
        "cli(['backends', '--json'], standalone_mode=False); "
        "print('torch' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, env=ENV
    )
    listed = {b["name"]: b["status"] for b in json.loads(done.stdout)["backends"]}
    return listed, done.stderr.strip().splitlines()[-1] == "True"


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS
    listed, torch_loaded = installation()
    missing = [d for name, d in EXAMPLES.items() if listed.get(name) != "ok"]
    if missing:
        sys.exit(
            f"the example plugins must be installed and ok: pip install -e plugins/{missing[0]}"
        )
    times = interleaved(rounds)
    print(f"{rounds} interleaved rounds; backends listed: {', '.join(sorted(listed))}")
    print(f"{'command':32} {'wall min':>9} {'median':>7} {'CPU min':>8} {'median':>7}")
    for name, t in times.items():
        wall, cpu = [w for w, _ in t], [c for _, c in t]
        row = (min(wall), statistics.median(wall), min(cpu), statistics.median(cpu))
        print(f"{name:32} " + " ".join(f"{x:{w}.3f}" for x, w in zip(row, (9, 7, 8, 7))))
    listing, bare, libs = (
        min(w for w, _ in times[n])
        for n in ("ngramkit backends", "python -c pass", "python -c 'import click, rich'")
    )
    print(f"ngramkit backends over python -c pass: +{listing - bare:.3f} s wall (min vs min)")
    print(f"ngramkit backends over click + rich:   +{listing - libs:.3f} s wall (min vs min)")
    median = statistics.median(w for w, _ in times["ngramkit backends"])
    verdict = "met" if median < TARGET else "MISSED"
    print(f"torch imported: {torch_loaded}   target < {TARGET} s whole-process (median): {verdict}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
