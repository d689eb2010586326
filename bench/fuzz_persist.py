"""Fuzz the model-file loader offline: N crafted files, every one refused or usable.

    .venv/bin/python bench/fuzz_persist.py [N] [--seed S]

Builds valid model files for every installed backend (count at orders 1-3
with and without smoothing, char and word vocabularies; neural; mlp if
installed; in format 2, and three in format 1 too), then feeds N mutated
copies (tests/fuzzing.py's mutate) to ngramkit.persist.load through its
probe. Prints the outcome per
mutation, the slowest single input, peak RSS, and every crash (an exception
other than ModelFileError, or a Hang: no answer within HANG seconds) with
the mutation that caused it, saving the
first file of each kind under bench/fuzz-crashes/ to reproduce. A run of
100,000 inputs takes a few minutes on one core.
"""

from __future__ import annotations

import argparse
import collections
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

from ngramkit import registry
from ngramkit.persist import save

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fuzzing import mutate, probe

TRAINED = {"neural": {"steps": 3}, "mlp": {"steps": 3, "hidden": 8, "emb": 2, "order": 3}}
ITEMS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "ab", "b"]
WORDS = ["the cat sat", "the dog sat", "a cat ran"]
SPARSE = ["".join(chr(0x61 + (i * 7 + j) % 50) for j in range(6)) for i in range(60)]
"""50 symbols at order 4: the count backend's sparse table (V^4 > 4M cells)."""
WIDE = ["".join(chr(0x100 + (i * 7 + j * 3) % 100) for j in range(7)) for i in range(400)]
"""100 symbols at order 5: keys past 2^31, stored as low words and high-word runs."""


HANG = 10.0  # seconds for one input before it counts as a hang


class Hang(BaseException):
    """Raised by SIGALRM inside a probe that ran past HANG seconds.

    A BaseException, so that the loader's `except Exception` (which turns a
    backend's failure into ModelFileError) cannot swallow it.
    """


def _alarm(signum: int, frame: object) -> None:
    raise Hang(f"no answer within {HANG:g} s")


OLD_FORMAT = ("count-order2-smooth1.0-char", "count-order3-smooth0-char", "neural-steps3-char")
"""Seeds also written in model file format 1 (ngramkit 0.1), which still loads."""


def seed_files(folder: Path) -> dict[str, bytes]:
    """name -> bytes of a valid model file, for each installed backend and a few shapes
    (format 2, the mapped layout; OLD_FORMAT ones in format 1 too, named "-format1")."""
    from ngramkit.corpus import Corpus

    out: dict[str, bytes] = {}
    plans = [("count", {"order": n, "smooth": k}, ITEMS) for n in (1, 2, 3) for k in (0, 1.0)]
    plans.append(("count", {"order": 2}, WORDS))
    plans.append(("count", {"order": 4}, SPARSE))
    plans.append(("count", {"order": 5, "smooth": "kn"}, WIDE))
    plans += [(b, {**hp}, ITEMS) for b, hp in TRAINED.items()]
    plans.append(("neural", {"steps": 3, "order": 1}, ITEMS))
    for backend, hp, items in plans:
        entry = registry.installed().get(backend)
        if entry is None or entry.cls is None:
            continue
        kind = "word" if items is WORDS else "char"
        tag = "-sparse" if items is SPARSE else "-wide" if items is WIDE else ""
        model = entry.cls(**hp).fit(Corpus.from_items(items, kind=kind))
        name = f"{backend}-{'-'.join(f'{k}{v}' for k, v in hp.items())}-{kind}{tag}"
        out[name] = save(model, folder / f"{name}.ngk").read_bytes()
        if name in OLD_FORMAT:
            old = save(model, folder / f"{name}-format1.ngk", format_version=1)
            out[f"{name}-format1"] = old.read_bytes()
    return out


def report(n: int, seconds: float, outcomes, crashes, slowest) -> None:
    """The summary: outcome counts per mutation, slowest input, peak RSS, crash kinds."""
    print(f"{n} inputs in {seconds:.1f} s ({n / seconds:.0f}/s)")
    for kind in sorted({k for k, _ in outcomes}):
        row = {o: outcomes[(kind, o)] for o in ("refused", "loaded", "CRASH")}
        print(
            f"  {kind:15} refused {row['refused']:6}  loaded {row['loaded']:6}  "
            f"crashed {row['CRASH']:4}"
        )
    print(f"slowest input: {slowest[0] * 1000:.1f} ms ({slowest[1]})")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the whole run: {rss:.0f} MiB")
    print(f"crash kinds: {len(crashes)}")
    for sig, cases in crashes.items():
        print(f"  {sig}: {len(cases)} inputs, e.g. {cases[0]}")
    sys.stdout.flush()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    torch.set_num_threads(1)  # tiny tensors: threads cost more than they give
    signal.signal(signal.SIGALRM, _alarm)
    crashes: dict[str, list[str]] = collections.defaultdict(list)
    outcomes: collections.Counter[tuple[str, str]] = collections.Counter()
    slowest = (0.0, "")
    crash_dir = Path(__file__).parent / "fuzz-crashes"
    shm = Path("/dev/shm")  # a RAM folder where there is one: the disk is not under test
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as tmp:
        folder = Path(tmp)
        seeds = seed_files(folder)
        print(f"seed files: {', '.join(seeds)}", flush=True)
        target = folder / "fuzzed.ngk"
        start = time.perf_counter()
        for i in range(args.n):
            seed_name = rng.choice(sorted(seeds))
            kind, data = mutate(seeds[seed_name], rng)
            target.write_bytes(data)
            t0 = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, HANG)  # a hang becomes a Hang finding
            try:
                outcome = probe(target)
            except (Exception, Hang) as e:  # a finding: keep the file to reproduce it
                outcome = "CRASH"
                where = traceback.extract_tb(e.__traceback__)[-1]
                sig = f"{type(e).__name__} at {Path(where.filename).name}:{where.lineno}"
                if sig not in crashes:
                    crash_dir.mkdir(exist_ok=True)
                    (crash_dir / f"crash-s{args.seed}-{len(crashes)}.ngk").write_bytes(data)
                crashes[sig].append(f"{seed_name}/{kind}: {e}"[:200])
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            dt = time.perf_counter() - t0
            slowest = max(slowest, (dt, f"{seed_name}/{kind}"))
            outcomes[(kind.split("+")[0], outcome)] += 1
            if (i + 1) % 10_000 == 0 and i + 1 < args.n:  # partial results survive an interrupt
                report(i + 1, time.perf_counter() - start, outcomes, crashes, slowest)
    report(args.n, time.perf_counter() - start, outcomes, crashes, slowest)
    sys.exit(1 if crashes else 0)


if __name__ == "__main__":
    main()
