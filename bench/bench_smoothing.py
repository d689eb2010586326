"""Speed of the smoothed count backend against NLTK and KenLM, as ratios.

All timings are taken in this one process, back to back, so the ratios hold
on a busy machine even when the seconds do not. torch runs on one thread by
default (--threads), as KenLM and NLTK do: on a shared, loaded machine,
torch's multi-threaded kernels slowed by up to 10x from contention.

1. fit: order-5 interpolated Kneser-Ney on names.txt, ngramkit vs
   nltk.lm.KneserNeyInterpolated (its fit counts; it estimates lazily).
2. score: order-6 KN on the makemore test set; NLTK scores the first
   --nltk-names names (it takes about 0.1 s per name), compared per token.
3. throughput: the test set repeated 50 times at order 5, ngramkit's batch
   scoring (strings in, from encoding to summed log-probabilities) against
   KenLM's Python module (`Model.score` per name, on our model exported as
   ARPA, names pre-joined with spaces outside the clock). Skipped without kenlm.

    .venv/bin/python bench/bench_smoothing.py [--data DIR] [--nltk-names 100]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from ngramkit import CountLM
from ngramkit.corpus import Corpus
from ngramkit.evaluate import item_logprobs


def clock(fn, repeat: int = 1) -> tuple[float, object]:
    """Best wall time of `repeat` runs (seconds) and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def nltk_kn(order: int, items: list[str]):
    from nltk.lm import KneserNeyInterpolated
    from nltk.lm.preprocessing import padded_everygram_pipeline

    train, vocab = padded_everygram_pipeline(order, [list(s) for s in items])
    lm = KneserNeyInterpolated(order)
    lm.fit(train, vocab)
    return lm


def nltk_logprob(lm, order: int, item: str) -> float:
    seq = ["<s>"] * (order - 1) + list(item) + ["</s>"]
    return sum(lm.logscore(seq[i], seq[i - order + 1 : i]) for i in range(order - 1, len(seq)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--nltk-names", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (KenLM, NLTK use one)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    names = Path(args.data, "names.txt").read_text().split()
    train = Path(args.data, "makemore-split/train.txt").read_text().split()
    test = Path(args.data, "makemore-split/test.txt").read_text().split()

    t_ours, _ = clock(lambda: CountLM(order=5, smooth="kn").fit(names), repeat=5)
    t_nltk, _ = clock(lambda: nltk_kn(5, names), repeat=2)
    print(
        f"fit order-5 KN on names.txt: ngramkit {t_ours:.3f} s, NLTK {t_nltk:.2f} s, "
        f"ratio {t_nltk / t_ours:.0f}x"
    )

    model = CountLM(order=6, smooth="kn").fit(train)
    lm = nltk_kn(6, train)
    tokens = sum(len(s) + 1 for s in test)

    def ours_score():
        return item_logprobs(model, Corpus.from_items(test, model.vocab))

    t_ours, _ = clock(ours_score, repeat=3)
    few = test[: args.nltk_names]
    few_tokens = sum(len(s) + 1 for s in few)
    t_nltk, _ = clock(lambda: [nltk_logprob(lm, 6, s) for s in few])
    per_ours, per_nltk = t_ours / tokens, t_nltk / few_tokens
    print(
        f"score test set at order 6: ngramkit {t_ours * 1e3:.1f} ms for {len(test)} names; "
        f"NLTK {t_nltk:.1f} s for {len(few)} names; per token ratio {per_nltk / per_ours:.0f}x "
        f"(NLTK on all {len(test)} names: about {per_nltk * tokens:.0f} s)"
    )

    try:
        import kenlm
    except ImportError:
        print("throughput vs KenLM: skipped (pip install kenlm)")
        return
    from ngramkit.smoothing import arpa

    model = CountLM(order=5, smooth="mkn").fit(train)
    reps = test * 50
    n_tok = sum(len(s) + 1 for s in reps)
    with tempfile.TemporaryDirectory() as tmp:
        arpa.save(model, Path(tmp, "m.arpa"))
        ref = kenlm.Model(str(Path(tmp, "m.arpa")))
    spaced = [" ".join(s) for s in reps]
    t_ken, _ = clock(lambda: sum(ref.score(s, bos=True, eos=True) for s in spaced), repeat=3)
    t_ours, _ = clock(lambda: item_logprobs(model, Corpus.from_items(reps, model.vocab)), 3)
    print(
        f"batch scoring, test set x50 at order 5 ({n_tok} tokens): "
        f"ngramkit {n_tok / t_ours / 1e6:.1f} M tokens/s, KenLM {n_tok / t_ken / 1e6:.1f} M "
        f"tokens/s, ratio {t_ken / t_ours:.2f}x"
    )


if __name__ == "__main__":
    main()
