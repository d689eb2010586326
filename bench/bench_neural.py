"""Benchmark of the neural backend against the lecture's one-hot loop, in one process.

Prints ratios, not absolute claims: both sides run here, on the same machine
and load. Sections:

1. 200 lecture steps (gd, lr 50, reg 0.01) on names.txt: the lecture's loop as
   written (one_hot inside the loop), the same with xenc built once, and
   NeuralLM (distinct-events objective), with the losses side by side.
2. L-BFGS at reg 0 to within 0.005 nats of the count MLE: CPU seconds, warm
   (torch.optim already imported) and the one-time first-use cost.
3. Equivalence with counting: NLL and the largest |p_neural - p_count|.
4. --reg against --smooth: mean row entropy and train NLL.
5. Order 2 against order 3 with a validation split (the defaults).

Run: .venv/bin/python bench/bench_neural.py [--lecture-steps 200]
It takes about a minute on two idle cores, mostly the lecture's loop.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ngramkit import Corpus, CountLM, fitting, read_items
from ngramkit.backends.neural import NeuralLM
from ngramkit.evaluate import corpus_metrics

NAMES = Path(__file__).resolve().parents[1] / "examples" / "names.txt"


def lecture_loop(words: list[str], steps: int, hoist: bool) -> tuple[float, float, list[float]]:
    """The lecture's neural bigram loop: (seconds, fastest step x steps, losses).

    losses: after 0..steps updates. The fastest step times steps is an
    estimate that a busy machine inflates less than the total.
    """
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    xs, ys = [], []
    for w in words:
        chs = [".", *w, "."]
        for ch1, ch2 in zip(chs, chs[1:]):
            xs.append(stoi[ch1])
            ys.append(stoi[ch2])
    xs_t, ys_t = torch.tensor(xs), torch.tensor(ys)
    num = xs_t.nelement()
    g = torch.Generator().manual_seed(2147483647)
    W = torch.randn((27, 27), generator=g, requires_grad=True)
    start = time.perf_counter()
    xenc = F.one_hot(xs_t, num_classes=27).float()
    losses, ticks = [], [start]
    for k in range(steps + 1):
        if not hoist:
            xenc = F.one_hot(xs_t, num_classes=27).float()
        probs = (xenc @ W).exp()
        probs = probs / probs.sum(1, keepdims=True)
        loss = -probs[torch.arange(num), ys_t].log().mean() + 0.01 * (W**2).mean()
        losses.append(loss.item())
        if k == steps:
            break
        W.grad = None
        loss.backward()
        W.data += -50 * W.grad  # type: ignore[operator]
        ticks.append(time.perf_counter())
    fastest = min(b - a for a, b in zip(ticks, ticks[1:]))
    return time.perf_counter() - start, fastest * steps, losses


def ours(corpus: Corpus, **hp: object) -> tuple[float, float, NeuralLM]:
    """(wall seconds, CPU seconds, model) of one NeuralLM fit, events included."""
    wall, cpu = time.perf_counter(), time.process_time()
    model = NeuralLM(**hp).fit(corpus)
    return time.perf_counter() - wall, time.process_time() - cpu, model


def section_speed(words: list[str], corpus: Corpus, steps: int) -> None:
    print(f"== 1. {steps} lecture steps (gd, lr 50, reg 0.01) on names.txt")
    t_written, est_written, ref = lecture_loop(words, steps, hoist=False)
    t_hoisted, est_hoisted, ref2 = lecture_loop(words, steps, hoist=True)
    ours(corpus, steps=2)  # warm-up: first-call costs are not the loop's
    runs = [ours(corpus, steps=steps, lr=50, reg=0.01, optimizer="gd") for _ in range(5)]
    t_ours, model = min(r[0] for r in runs), runs[0][2]
    c = model.loss_curve_
    rows = [
        ("lecture loop as written", t_written, est_written),
        ("lecture loop, xenc once", t_hoisted, est_hoisted),
    ]
    for name, total, est in rows:
        print(f"{name:27s}{total:8.3f} s   fastest step x {steps}: {est:.3f} s")
    print(f"{'NeuralLM (distinct events)':27s}{t_ours:8.3f} s   fastest of 5 fits, events included")
    for name, total, est in rows:
        print(f"speed-up vs {name}: {total / t_ours:.0f}x (totals), {est / t_ours:.0f}x (fastest)")
    for s in sorted({0, steps // 2, steps}):
        print(f"  loss after {s:4d} steps: lecture {ref[s]:.6f}  ours {c[s]:.6f}  "
              f"|diff| {abs(ref[s] - c[s]):.1e}")  # fmt: skip
    assert ref == ref2


def section_lbfgs(corpus: Corpus, mle: float) -> None:
    print("== 2. L-BFGS, reg 0, to within 0.005 nats of the count MLE")
    first = ours(corpus, optimizer="lbfgs", reg=0, steps=1)[1]
    for steps in (20, 30, 40, 60):
        runs = [ours(corpus, optimizer="lbfgs", reg=0, steps=steps) for _ in range(3)]
        cpu, model = min(r[1] for r in runs), runs[0][2]
        gap = model.loss_curve_[-1] - mle
        print(f"  {steps:3d} steps: NLL {model.loss_curve_[-1]:.5f} (+{gap:.5f})  "
              f"CPU {cpu:.3f} s (fastest of 3 fits, events included)")  # fmt: skip
        if gap < 0.005:
            break
    print(f"  (the first L-BFGS fit in a process also paid {first:.2f} CPU s, mostly torch.optim's "
          "one-time imports)")  # fmt: skip


def section_equivalence(words: list[str], corpus: Corpus, count: CountLM) -> None:
    print("== 3. reg 0 to convergence against the count model (smooth 0)")
    ctx = torch.arange(27).unsqueeze(1)
    for steps in (100, 300, 1000):
        _, cpu, model = ours(corpus, optimizer="lbfgs", reg=0, steps=steps)
        diff = (model.next_logprobs(ctx).exp() - count.next_logprobs(ctx).exp()).abs().max()
        nll = corpus_metrics(model, words).nll
        print(f"  {steps:4d} L-BFGS steps: NLL {nll:.5f}  max |p - p_count| {float(diff):.2e}  "
              f"CPU {cpu:.2f} s")  # fmt: skip


def entropy(model: NeuralLM | CountLM) -> float:
    lp = model.next_logprobs(torch.arange(27).unsqueeze(1))
    return float(-(lp.exp() * lp).nan_to_num().sum(1).mean())  # 0 log 0 = 0


def section_reg(words: list[str], corpus: Corpus) -> None:
    print("== 4. --reg (neural, L-BFGS 100 steps) against --smooth (count)")
    print(f"  uniform rows: entropy {math.log(27):.3f} nats")
    for reg, k in [(0, 0), (0.01, 1), (0.1, 10), (1, 100), (10, 1000)]:
        n = ours(corpus, optimizer="lbfgs", reg=reg, steps=100)[2]
        c = CountLM(smooth=k).fit(corpus)
        left = f"reg {reg:5g}: NLL {corpus_metrics(n, words).nll:.4f} entropy {entropy(n):.3f}"
        right = f"smooth {k:5g}: NLL {corpus_metrics(c, words).nll:.4f} entropy {entropy(c):.3f}"
        print(f"  {left}   {right}")


def section_orders() -> None:
    print("== 5. default settings, val split 0.1 (seed 2147483647)")
    words = read_items(NAMES)
    for order in (2, 3):
        r = fitting.train(NeuralLM, words, {"order": order}, val_fraction=0.1, n_samples=0)
        assert r.val is not None
        print(f"  order {order}: train NLL {r.train.nll:.4f}  val NLL {r.val.nll:.4f}  "
              f"({r.seconds:.1f} s)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lecture-steps", type=int, default=200)
    args = parser.parse_args()
    words = NAMES.read_text(encoding="utf-8").split()
    corpus = Corpus.from_items(words)
    count = CountLM(order=2, smooth=0).fit(corpus)
    mle = corpus_metrics(count, words).nll
    print(f"names.txt: {len(words)} names, count MLE NLL {mle:.4f}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")  # fmt: skip
    section_speed(words, corpus, args.lecture_steps)
    section_lbfgs(corpus, mle)
    section_equivalence(words, corpus, count)
    section_reg(words, corpus)
    section_orders()


if __name__ == "__main__":
    main()
