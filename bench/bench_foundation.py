"""Foundation speed: ngramkit against the lecture's Python loops, in one process.

Prints the ratio (lecture time / ngramkit time) for counting names.txt (from
the list of strings to the bigram counts, tokenizing included; and the whole
`CountLM.fit`, which also fingerprints the data and builds the table),
scoring all 32,033 names, and drawing 10,000 samples with the lecture's exact
draws, then the whole-process `ngramkit fit` time against `import torch`.
Takes about 30 s. Run: python bench/bench_foundation.py
"""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from ngramkit import Corpus, CountLM, NgramCounts, Vocabulary, read_items
from ngramkit.evaluate import corpus_metrics

ROOT = Path(__file__).resolve().parents[1]
NAMES = ROOT / "examples" / "names.txt"


def best(fn, repeat=3):
    """Best wall time of `repeat` runs (s) and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def lecture_tensor_counts(words, stoi):
    N = torch.zeros((27, 27), dtype=torch.int32)
    for w in words:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            N[stoi[ch1], stoi[ch2]] += 1
    return N


def lecture_dict_counts(words):
    b = {}
    for w in words:
        chs = ["<S>"] + list(w) + ["<E>"]
        for ch1, ch2 in zip(chs, chs[1:]):
            b[(ch1, ch2)] = b.get((ch1, ch2), 0) + 1
    return b


def lecture_nll(words, P, stoi):
    log_likelihood, n = 0.0, 0
    for w in words:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            log_likelihood += torch.log(P[stoi[ch1], stoi[ch2]]).item()
            n += 1
    return -log_likelihood / n


def lecture_samples(P, itos, n, seed):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        ix, drawn = 0, []
        while True:
            ix = torch.multinomial(P[ix], num_samples=1, replacement=True, generator=g).item()
            if ix == 0:
                break
            drawn.append(itos[ix])
        out.append("".join(drawn))
    return out


def whole_process(args, repeat=5):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    torch.set_num_threads(1)  # as the CLI runs (OMP_NUM_THREADS=1); the lecture's loops too
    words = read_items(NAMES).items
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    itos = {i: s for s, i in stoi.items()}
    rows = []

    t_ref, N = best(lambda: lecture_tensor_counts(words, stoi), repeat=1)
    t_dict, _ = best(lambda: lecture_dict_counts(words), repeat=3)
    # The lecture builds its vocabulary (chars, stoi) before its counting loops; so do we
    # for the counting rows. The row after them includes building it.
    vocab = Vocabulary.build(words)
    t_count, counts = best(lambda: NgramCounts.count(Corpus.from_items(words, vocab), 2), 20)
    t_count_v, _ = best(lambda: NgramCounts.count(Corpus.from_items(words), 2), 20)
    keys, cnt = counts.top()
    assert dict(zip(keys.tolist(), cnt.tolist())) == {
        i * 27 + j: int(N[i, j]) for i in range(27) for j in range(27) if N[i, j]
    }
    t_fit, model = best(lambda: CountLM(order=2, smooth=1).fit(words), repeat=10)
    rows.append(("count names.txt vs tensor loop", t_ref, t_count))
    rows.append(("count names.txt vs dict loop", t_dict, t_count))
    rows.append(("  same, building the vocab too", t_dict, t_count_v))
    rows.append(("whole CountLM.fit vs tensor loop", t_ref, t_fit))

    P = (N + 1).float()
    P /= P.sum(1, keepdims=True)
    t_ref, ref_nll = best(lambda: lecture_nll(words, P, stoi), repeat=1)
    t_ours, m = best(lambda: corpus_metrics(model, words))
    assert math.isclose(ref_nll, m.nll, abs_tol=1e-5), (ref_nll, m.nll)
    rows.append(("score 32,033 names", t_ref, t_ours))

    t_ref, ref = best(lambda: lecture_samples(P, itos, 10_000, 2147483647), repeat=1)
    t_ours, ours = best(lambda: model.sample(10_000, seed=2147483647))
    assert ours == ref, "samples differ from the lecture's"
    rows.append(("10,000 samples (same draws)", t_ref, t_ours))

    print(f"{'task':34} {'lecture (s)':>12} {'ngramkit (s)':>13} {'ratio':>8}")
    for name, ref_t, our_t in rows:
        print(f"{name:34} {ref_t:12.4f} {our_t:13.4f} {ref_t / our_t:7.1f}x")

    exe = str(Path(sys.executable).with_name("ngramkit"))
    with tempfile.TemporaryDirectory() as tmp:
        t_torch = whole_process([sys.executable, "-c", "import torch"])
        t_fit = whole_process([exe, "fit", str(NAMES), "--backend", "count", "-o", f"{tmp}/m.ngk"])
        t_help = whole_process([exe, "--help"])
    print(
        f"\nwhole process: python -c 'import torch' {t_torch:.3f} s; "
        f"ngramkit fit {t_fit:.3f} s (+{t_fit - t_torch:.3f} s); ngramkit --help {t_help:.3f} s"
    )


if __name__ == "__main__":
    main()
