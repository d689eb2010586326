"""Scale: order-5 modified Kneser-Ney on the Python standard library's source.

The corpus is every .py file of this Python's standard library (site-packages
left out), one item per printable-ASCII non-blank line with trailing
whitespace removed (leading indentation kept), in sorted file order. Each
size (the first 10^6 and 10^7 symbols, then the whole corpus) is fitted in a
fresh subprocess that reports its wall time and peak resident memory
(VmHWM), so the sizes do not share memory. Two paths are timed: "counts"
(count_items -> fit_counts: items encoded one chunk at a time) and "fit"
(CountLM.fit on a Corpus, which counting reads one encoded chunk at a time).
A third, "cli", runs the whole `ngramkit fit FILE --order 5 --smooth mkn
--val-fraction 0` (read, fit, training NLL, samples, save) in a subprocess:
its wall time and peak RSS, import time included. Reading a word list strips
each line, leading indentation too, so the CLI fits the same lines with
fewer symbols (2.41 x 10^7 of the whole corpus's 3.06 x 10^7).

    .venv/bin/python bench/bench_scale.py            # all three sizes, three paths
    .venv/bin/python bench/bench_scale.py --one 1e6  # one size, in this process

`--vs-lmplz` runs whole `ngramkit fit` processes and KenLM's `lmplz -S 1G`
on the same text, interleaved, and reports wall time and peak RSS of each
child (its own rusage, from wait4) as min and median, with the ratios. The
text is the stdlib's lines stripped (as `ngramkit fit` reads them), repeated
until it holds `--symbols` symbols (3.06e7: the whole corpus and a quarter
of it again; 6.1e7: about 2.5 times). lmplz reads each line's characters as
space-separated tokens (a space is the token `<sp>`), so both fit the same
V = 96 symbols (lmplz: 95 + <s>, </s>, <unk>). lmplz is `$LMPLZ`, or `lmplz`
on PATH; without it only ngramkit is measured (docs/performance.md says
how to build it).

    .venv/bin/python bench/bench_scale.py --vs-lmplz --symbols 3.06e7 --order 5
    .venv/bin/python bench/bench_scale.py --vs-lmplz --symbols 6.1e7 --order 5
    .venv/bin/python bench/bench_scale.py --vs-lmplz --symbols 3.06e7 --order 8
    .venv/bin/python bench/bench_scale.py --vs-lmplz --memory 200M   # ngramkit --memory
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

PRINTABLE = {chr(c) for c in range(0x20, 0x7F)}


def stdlib_lines(limit: int | None = None) -> list[str]:
    """Printable-ASCII non-blank lines of the stdlib's .py files, up to `limit` symbols."""
    root = Path(sysconfig.get_paths()["stdlib"])
    out: list[str] = []
    total = 0
    for path in sorted(root.rglob("*.py")):
        if "site-packages" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="strict")
        except (UnicodeDecodeError, OSError):
            continue
        for line in text.split("\n"):
            line = line.rstrip()
            if line and set(line) <= PRINTABLE:
                out.append(line)
                total += len(line)
                if limit is not None and total >= limit:
                    return out
    return out


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().split("\n"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one(limit: int | None, path: str) -> None:
    import torch  # imported before the clock starts: import time is not fit time

    from ngramkit import CountLM, NgramCounts, Vocabulary
    from ngramkit.backends.count import CountLM as _loaded  # noqa: F401
    from ngramkit.smoothing import fit as _fit  # noqa: F401

    torch.zeros(1)
    lines = stdlib_lines(limit)
    symbols = sum(len(s) for s in lines)
    start = time.perf_counter()
    if path == "fit":  # the whole corpus encoded at once, then counted in chunks
        model = CountLM(order=5, smooth="mkn").fit(lines)
    else:  # count -> merge -> estimate: one chunk of items encoded at a time
        vocab = Vocabulary.build(lines)
        counts = NgramCounts.count_items(lines, vocab, 5)
        model = CountLM(order=5, smooth="mkn").fit_counts(counts, vocab)
    seconds = time.perf_counter() - start
    sizes = model.estimate_.sizes
    print(
        f"{path:>6}: {symbols:>10} symbols {len(lines):>7} lines  V={len(model.vocab)}  "
        f"{seconds:6.1f} s  peak RSS {peak_rss_mib():6.0f} MiB  n-grams {sizes}",
        flush=True,
    )


def cli(limit: int | None) -> None:
    """`ngramkit fit` on the corpus written to a file: wall seconds and peak RSS of the child."""
    import resource
    import tempfile

    lines = stdlib_lines(limit)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp, "stdlib.txt")
        data.write_text("\n".join(lines) + "\n")
        exe = Path(sys.executable).parent / "ngramkit"
        args = [str(exe), "fit", str(data), "--order", "5", "--smooth", "mkn"]
        start = time.perf_counter()
        done = subprocess.run(
            [*args, "--val-fraction", "0", "-o", str(Path(tmp, "m.ngk")), "--json"],
            check=True,
            stdout=subprocess.PIPE,
        )
        seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    data = json.loads(done.stdout)["data"]
    # Reading a word list strips each line (leading indentation too): the CLI
    # fits fewer symbols than the library paths, on the same lines.
    symbols = data["tokens"] - data["train_items"]
    print(
        f"{'cli':>6}: {symbols:>10} symbols {len(lines):>7} lines  "
        f"{seconds:6.1f} s  peak RSS {rss:6.0f} MiB  (whole `ngramkit fit` process; "
        f"lines stripped as read, {sum(len(s) for s in lines)} symbols before)",
        flush=True,
    )


def fit_text(symbols: int) -> list[str]:
    """The stdlib's stripped non-blank lines, repeated until they hold `symbols` symbols."""
    base = [s for s in (line.strip() for line in stdlib_lines()) if s]
    out: list[str] = []
    total = 0
    while total < symbols:
        for line in base:
            out.append(line)
            total += len(line)
            if total >= symbols:
                break
    return out


def lmplz_binary() -> str | None:
    """KenLM's lmplz: $LMPLZ, or `lmplz` on PATH; None when neither is there."""
    given = os.environ.get("LMPLZ")
    if given:
        return given if Path(given).is_file() else None
    return shutil.which("lmplz")


def timed(cmd: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of one child process, from its own rusage."""
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    err = child.stderr.read().decode(errors="replace") if child.stderr else ""
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({child.returncode}): {err.strip()[-400:]}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def vs_lmplz(symbols: int, order: int, repeats: int, memory: str | None) -> None:
    """Whole `ngramkit fit` vs `lmplz -S 1G`, interleaved; min and median of each."""
    import tempfile

    lines = fit_text(symbols)
    lmplz = lmplz_binary()
    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp, "text.txt")
        text.write_text("\n".join(lines) + "\n")
        exe = Path(sys.executable).parent / "ngramkit"
        ours = [str(exe), "fit", str(text), "--order", str(order), "--smooth", "mkn"]
        ours += ["--val-fraction", "0", "-o", str(Path(tmp, "m.ngk"))]
        ours += ["--memory", memory] if memory else []
        runs: dict[str, list[tuple[float, float, float]]] = {"ngramkit": []}
        theirs: list[str] = []
        if lmplz is None:
            print("lmplz: not found ($LMPLZ or PATH): skipped, ngramkit only", flush=True)
        else:
            tokens = Path(tmp, "text.tok")
            with tokens.open("w") as f:
                for line in lines:
                    f.write(" ".join("<sp>" if c == " " else c for c in line) + "\n")
            theirs = [lmplz, "-o", str(order), "-S", "1G", "--discount_fallback", "-T", tmp]
            theirs += ["--text", str(tokens), "--arpa", str(Path(tmp, "m.arpa"))]
            runs["lmplz"] = []
        for _ in range(repeats):
            runs["ngramkit"].append(timed(ours))
            if theirs:
                runs["lmplz"].append(timed(theirs))
    n = sum(map(len, lines))
    print(f"{n:.3g} symbols, {len(lines)} lines, order {order}, {repeats} interleaved runs")
    for name, got in runs.items():
        cols = [sorted(x[i] for x in got) for i in range(3)]
        print(
            f"{name:>9}: wall {cols[0][0]:6.2f} / {statistics.median(cols[0]):6.2f} s  "
            f"CPU {cols[1][0]:6.2f} / {statistics.median(cols[1]):6.2f} s  "
            f"peak RSS {cols[2][0]:6.0f} / {statistics.median(cols[2]):6.0f} MiB  (min / median)"
        )
    if "lmplz" in runs:
        a, b = runs["ngramkit"], runs["lmplz"]
        for i, what in enumerate(("wall", "CPU", "peak RSS")):
            mins = min(x[i] for x in a) / min(x[i] for x in b)
            meds = statistics.median(x[i] for x in a) / statistics.median(x[i] for x in b)
            print(f"  ngramkit / lmplz {what}: {mins:.2f}x (min), {meds:.2f}x (median)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--one", default=None, help="one size (symbols, or 'all'), in-process")
    ap.add_argument("--path", default="counts", choices=["counts", "fit", "cli"])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (lmplz: see docs)")
    ap.add_argument("--vs-lmplz", action="store_true", help="whole processes vs lmplz")
    ap.add_argument("--symbols", type=float, default=3.06e7, help="--vs-lmplz: text size")
    ap.add_argument("--order", type=int, default=5, help="--vs-lmplz: n-gram order")
    ap.add_argument("--repeats", type=int, default=3, help="--vs-lmplz: interleaved runs")
    ap.add_argument("--memory", default=None, help="--vs-lmplz: ngramkit fit --memory")
    args = ap.parse_args()
    if args.vs_lmplz:
        vs_lmplz(int(args.symbols), args.order, args.repeats, args.memory)
        return
    if args.one is not None:
        import torch

        torch.set_num_threads(args.threads)
        limit = None if args.one == "all" else int(float(args.one))
        cli(limit) if args.path == "cli" else one(limit, args.path)
        return
    for path in ("counts", "fit", "cli"):
        for size in ("1e6", "1e7", "all"):
            cmd = [sys.executable, __file__, "--one", size, "--path", path]
            subprocess.run([*cmd, "--threads", str(args.threads)], check=True)


if __name__ == "__main__":
    main()
