"""Where users wait on a count model, against references run here and now (issue 18).

    .venv/bin/python bench/bench_calls.py [--repeat 5] [--quick] [--only ROW]

Rows (process CPU time, min and median over interleaved repeats; the ratio is
ngramkit time / reference time, so below 1 is faster):

- one `model.logprob(item)` / `token_breakdown` call on a name, orders 2, 5, 6,
  against KenLM's single `Model.score` call (pip install kenlm) on the same
  model exported to ARPA (the orders KenLM has no shared file for);
- one `score_batch(model, [name])` call, item by item (evaluate.FEW_ITEMS) and
  through the batch path (FEW_ITEMS set to 0, as before issue 18's small-batch
  path), against `model.logprob(name)`;
- the first `score_batch` of CHUNK_ITEMS names on a freshly loaded order-5
  model (add-k and mkn) and the second one, against KenLM's `score` loop;
  and the load plus the first batch against KenLM's cold call: a fresh
  `kenlm.Model` of its probing binary (mmap; build_binary from $KENLM_BIN,
  else /work/kenlm/build/bin, docs/performance.md) and its first loop;
- warm batch scoring at order 6 (mkn) against KenLM's `score` loop;
- 10,000 samples at orders 1..6, identical draws, against the lecture's loop
  (one torch.multinomial per token; at order 2 its P[ix] matrix, above it the
  same rows looked up in a dict of every context, filled before timing);
- whole-process `ngramkit sample MODEL -n 200000 --format plain` (wall and
  CPU) against `python -c "import torch"`.

Without KenLM its rows are skipped. One torch thread, as the CLI runs. On a
shared machine prefer the CPU figures; takes a few minutes.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import kenlm_binary

from ngramkit import CountLM, evaluate, read_items
from ngramkit.evaluate import CHUNK_ITEMS, score_batch, token_breakdown
from ngramkit.keys import key_digits
from ngramkit.persist import load, save
from ngramkit.sampling import _probs
from ngramkit.smoothing import arpa

ROOT = Path(__file__).resolve().parents[1]
NAMES = ROOT / "examples" / "names.txt"
SEED = 2147483647


def cpu() -> float:
    return time.process_time()


def interleaved(fns: list[Callable[[], None]], repeat: int) -> list[list[float]]:
    """CPU seconds of each fn per repeat, the fns run in turn inside each repeat."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t = cpu()
            fn()
            times[i].append(cpu() - t)
    return times


def row(name: str, ours: list[float], ref: list[float], unit: float, what: str) -> None:
    """One table line: ours and the reference (min, median) in `unit` seconds, ratio."""
    lo, med = min(ours) / min(ref), statistics.median(ours) / statistics.median(ref)
    scale = {1e-6: "us", 1e-3: "ms", 1.0: "s"}[unit]
    print(
        f"{name:44} {min(ours) / unit:9.2f} {statistics.median(ours) / unit:9.2f} "
        f"{min(ref) / unit:9.2f} {statistics.median(ref) / unit:9.2f} {scale:>3} "
        f"{lo:7.2f} {med:7.2f}  {what}"
    )


def kenlm_model(model: CountLM, tmp: Path, name: str):  # type: ignore[no-untyped-def]
    """KenLM's model of the same estimate (exported to ARPA), or None without kenlm."""
    try:
        import kenlm
    except ImportError:
        return None
    path = tmp / f"{name}.arpa"
    arpa.save(model, path)
    return kenlm.Model(str(path))


def one_calls(names: list[str], tmp: Path, repeat: int, calls: int) -> None:
    """logprob / token_breakdown of single names vs KenLM's single score call."""
    items = random.Random(0).sample(names, calls)
    for order, smooth in [(2, 1.0), (5, 1.0), (5, "mkn"), (6, "mkn")]:
        model = CountLM(order=order, smooth=smooth).fit(names)
        ken = kenlm_model(model, tmp, f"one{order}{smooth}")
        if ken is None:
            print(f"order {order}: KenLM not installed (pip install kenlm)")
            return
        one_call_rows(model, ken, items, repeat, f"order {order} {smooth}")


def one_call_rows(model: CountLM, ken, items: list[str], repeat: int, name: str) -> None:  # type: ignore[no-untyped-def]
    """The rows of one model: logprob and token_breakdown per call vs KenLM's score."""
    spaced = [" ".join(w) for w in items]
    for w in items[:200]:  # warm: whatever the calls build, they build here
        model.logprob(w)

    def ours() -> None:
        for w in items:
            model.logprob(w)

    def tb() -> None:
        for w in items:
            token_breakdown(model, w)

    def ref() -> None:
        score = ken.score
        for s in spaced:
            score(s, bos=True, eos=True)

    def one_batch() -> None:
        for w in items:
            score_batch(model, [w])

    def batch_path() -> None:  # the same calls with the item-by-item path turned off
        few, evaluate.FEW_ITEMS = evaluate.FEW_ITEMS, 0
        try:
            one_batch()
        finally:
            evaluate.FEW_ITEMS = few

    times = interleaved([ours, tb, ref, one_batch, batch_path], repeat)
    per = [[x / len(items) for x in t] for t in times]
    row(f"logprob(name), {name}", per[0], per[2], 1e-6, "kenlm score")
    row(f"token_breakdown(name), {name}", per[1], per[2], 1e-6, "kenlm score")
    row(f"score_batch([name]), {name}", per[3], per[0], 1e-6, "logprob(name)")
    row(f"score_batch([name]) batch path, {name}", per[4], per[0], 1e-6, "logprob(name)")


def cold_batch(names: list[str], tmp: Path, repeat: int) -> None:
    """The first and second score_batch on a freshly loaded order-5 model against
    KenLM's warm loop, and load + first batch against KenLM's cold call: a fresh
    kenlm.Model of its probing binary (mmap) and its first loop (where built)."""
    # Fresh strings, one after another in memory as a list read from a file is (and as
    # KenLM's spaced copies are): references to names in random order would make every
    # pass over the items miss the cache, theirs not.
    batch = "\n".join(random.Random(1).sample(names * 3, CHUNK_ITEMS)).split("\n")
    spaced = [" ".join(w) for w in batch]

    def loop(ken) -> None:  # type: ignore[no-untyped-def]
        score = ken.score
        for s in spaced:
            score(s, bos=True, eos=True)

    for smooth in (1.0, "mkn"):
        model = CountLM(order=5, smooth=smooth).fit(names)
        path = save(model, tmp / f"cold{smooth}.ngk")
        ken = kenlm_model(model, tmp, f"cold{smooth}")
        if ken is None:
            return
        import kenlm

        binary = kenlm_binary(tmp / f"cold{smooth}.arpa")
        first, second, ref, cold, ken_cold = [], [], [], [], []
        for _ in range(repeat):
            t = cpu()
            fresh = load(path).model
            loaded = cpu()
            score_batch(fresh, batch)
            first.append(cpu() - loaded)
            cold.append(cpu() - t)
            t = cpu()
            score_batch(fresh, batch)
            second.append(cpu() - t)
            t = cpu()
            loop(ken)
            ref.append(cpu() - t)
            if binary is not None:
                t = cpu()
                loop(kenlm.Model(str(binary)))
                ken_cold.append(cpu() - t)
        n = f"{len(batch):,}"
        row(f"first score_batch({n}), loaded o5 {smooth}", first, ref, 1e-3, "kenlm loop")
        row(f"second score_batch({n}), same model", second, ref, 1e-3, "kenlm loop")
        if ken_cold:
            row("load + first score_batch", cold, ken_cold, 1e-3, "kenlm load + loop")
        else:
            print("build_binary not found ($KENLM_BIN): the cold KenLM row skipped")


def warm_order6(names: list[str], tmp: Path, repeat: int, n: int) -> None:
    """Warm batch scoring at order 6 (mkn) vs KenLM's score loop on the same names."""
    items = (names * (n // len(names) + 1))[:n]
    spaced = [" ".join(w) for w in items]
    model = CountLM(order=6, smooth="mkn").fit(names)
    ken = kenlm_model(model, tmp, "warm6")
    if ken is None:
        return

    def ours() -> None:
        for i in range(0, len(items), CHUNK_ITEMS):
            score_batch(model, items[i : i + CHUNK_ITEMS])

    def ref() -> None:
        score = ken.score
        for s in spaced:
            score(s, bos=True, eos=True)

    ours()  # warm
    t_ours, t_ref = interleaved([ours, ref], repeat)
    row(f"warm score_batch, order 6 mkn, {n:,} names", t_ours, t_ref, 1e-3, "kenlm loop")


def lecture_rows(model: CountLM) -> torch.Tensor | dict[int, torch.Tensor]:
    """The lecture's P at any order: every context's float32 row [V^(N-1), V] by base-V
    key, or, when that is too large, a dict the loop fills as it meets contexts."""
    V, k = len(model.require_fitted()), model.order - 1
    if V**k * V > 2**24:
        return {}
    return _probs(model.next_logprobs(key_digits(torch.arange(V**k), V, k)), 1.0)


def lecture_loop(model: CountLM, P: torch.Tensor | dict[int, torch.Tensor], n: int) -> list[str]:
    """The lecture's sampling loop at any order: one multinomial per token, P[key]."""
    vocab = model.require_fitted()
    V, k, itos = len(vocab), model.order - 1, vocab.tokens
    space = V**k
    g = torch.Generator().manual_seed(SEED)
    out = []
    gc.disable()  # a dict of many tensors would make the collector the cost
    try:
        for _ in range(n):
            key, drawn = 0, []
            while len(drawn) < 256:  # sampling.DEFAULT_MAX_LEN
                if isinstance(P, dict) and key not in P:
                    ctx = key_digits(torch.tensor([key]), V, k)
                    P[key] = _probs(model.next_logprobs(ctx), 1.0)[0]
                p = P[key]
                ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
                if ix == 0:
                    break
                drawn.append(itos[ix])
                key = (key * V + ix) % space if k else 0
            out.append("".join(drawn))
    finally:
        gc.enable()
    return out


def lecture_bigram(P: torch.Tensor, itos: tuple[str, ...], n: int) -> list[str]:
    """bench_foundation's loop, exactly the lecture's: P[ix] of a [27, 27] matrix."""
    from bench_foundation import lecture_samples  # bench/ is this script's path

    return lecture_samples(P, itos, n, SEED)


def samples(names: list[str], repeat: int, n: int) -> None:
    """n samples at orders 1..6, identical draws, vs the lecture's loop."""
    for order in range(1, 7):
        sample_row(CountLM(order=order, smooth=1.0).fit(names), repeat, n)


def sample_row(model: CountLM, repeat: int, n: int) -> None:
    """n samples of one model against the lecture's loop, the draws checked equal."""
    P = lecture_rows(model)
    want = lecture_loop(model, P, n)  # fills P where it is a dict of met contexts
    assert model.sample(n, seed=SEED) == want, f"order {model.order}: draws differ"
    itos = model.require_fitted().tokens
    if model.order == 2:
        assert isinstance(P, torch.Tensor)
        assert lecture_bigram(P, itos, n) == want

    def ref() -> None:
        if model.order == 2:
            lecture_bigram(P, itos, n)  # type: ignore[arg-type]
        else:
            lecture_loop(model, P, n)

    t_ours, t_ref = interleaved([lambda: model.sample(n, seed=SEED), ref], repeat)
    row(f"{n:,} samples, order {model.order} (same draws)", t_ours, t_ref, 1e-3, "lecture loop")


def whole_sample(tmp: Path, repeat: int) -> None:
    """Whole-process `ngramkit sample -n 200000 --format plain` vs `import torch`."""
    exe = [sys.executable, str(Path(sys.executable).with_name("ngramkit"))]
    path = tmp / "b2.ngk"
    save(CountLM(order=2, smooth=1.0).fit(read_items(NAMES).items), path)
    walls, cpus, twall, tcpu = [], [], [], []
    for _ in range(repeat):
        for args, w, c in (
            ([*exe, "sample", str(path), "-n", "200000", "--format", "plain"], walls, cpus),
            ([sys.executable, "-c", "import torch"], twall, tcpu),
        ):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
            w.append(time.perf_counter() - t)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            c.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    row("sample -n 200000 --format plain, CPU", cpus, tcpu, 1.0, "import torch (target 5 s)")
    row("same, wall", walls, twall, 1.0, "import torch (wall)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer calls and items")
    ap.add_argument("--only", choices=["one", "cold", "order6", "sample", "cli"])
    a = ap.parse_args()
    torch.set_num_threads(1)
    names = read_items(NAMES).items
    print(
        f"{'figure':44} {'ours':>9} {'median':>9} {'ref':>9} {'median':>9} {'':>3} "
        f"{'min':>7} {'median':>7}  reference"
    )
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        rows = {
            "one": lambda: one_calls(names, d, a.repeat, 500 if a.quick else 2000),
            "cold": lambda: cold_batch(names, d, a.repeat),
            "order6": lambda: warm_order6(names, d, a.repeat, 50_000 if a.quick else 200_000),
            "sample": lambda: samples(names, a.repeat, 2_000 if a.quick else 10_000),
            "cli": lambda: whole_sample(d, min(a.repeat, 3)),
        }
        for name, fn in rows.items():
            if a.only in (None, name):
                fn()


if __name__ == "__main__":
    main()
