"""Minibatch SGD with one learning-rate drop and an optional time budget, seeded.

makemore part 5's loop: each step draws `batch_size` random n-gram windows,
takes one gradient step on their mean cross-entropy (nats/token) and moves
on; no epochs, no momentum, no optimizer state (nor torch.optim, whose
import costs seconds). The learning rate is `lr` until `decay_at` of the
training is done, then `lr * lr_decay` (the lecture: 0.1 for 150,000 of
200,000 steps, then 0.01).

"Done" is the larger of the fraction of steps taken and, under a time budget
(`minutes`), the fraction of the budget spent; training stops at whichever
ends first. So with a budget, the step count depends on the machine's speed,
and only a run without one (or one that finishes its steps inside it) is
reproducible step for step.

Every random number comes from one CPU `torch.Generator`: minibatch indices
are drawn on the CPU in blocks of REPORT_EVERY steps and moved to the
device, so the CPU draws the same batches whatever the device.

This module trains tensors in place; it knows nothing of ngramkit's contract
(see model.py).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ngramkit.errors import TrainingError

from .network import logits

if TYPE_CHECKING:
    import torch

REPORT_EVERY = 500  # steps per block: one progress call (their mean loss), one divergence check


@dataclass(frozen=True)
class Plan:
    """How long to train and how fast.

    steps: most SGD steps; batch_size: windows per step; minutes: time budget
    (wall clock, None for none); lr, lr_decay, decay_at: the schedule.
    Plan(200, 32, None, 0.1, 0.1, 0.75).lr_at(0.75) == 0.01 (rounding aside).
    """

    steps: int
    batch_size: int
    minutes: float | None
    lr: float
    lr_decay: float
    decay_at: float

    def lr_at(self, done: float) -> float:
        """The learning rate once a fraction `done` (0..1) of training is behind."""
        return self.lr * self.lr_decay if done >= self.decay_at else self.lr

    def done(self, step: int, seconds: float) -> float:
        """Fraction of training behind after `step` steps and `seconds` of wall time."""
        by_steps = step / self.steps
        if self.minutes is None:
            return by_steps
        return max(by_steps, seconds / (60 * self.minutes))


@dataclass(frozen=True)
class Run:
    """What training did: the loss of every step (nats/token) and the step count."""

    curve: list[float]
    steps: int


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with `n` intra-op threads, then restore the caller's setting.

    The network is small: on a shared 2-core machine a second thread costs
    more in synchronization than it gains, so the default is one.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def sgd(
    params: dict[str, torch.Tensor],
    buffers: dict[str, torch.Tensor],
    X: torch.Tensor,
    Y: torch.Tensor,
    plan: Plan,
    generator: torch.Generator,
    progress: Callable[..., Any] | None = None,
) -> Run:
    """Train `params` and `buffers` in place on windows X [N, order-1] -> Y [N].

    X, Y, params and buffers live on the training device; `generator` is a
    CPU generator. Raises TrainingError when the loss stops being finite or
    climbs far above a uniform guess (ln V nats/token, where training
    starts), and when the budget ends before the first step does.
    """
    import torch

    tensors = list(params.values())
    for p in tensors:
        p.requires_grad_(True)
    curve: list[float] = []
    start, step = time.perf_counter(), 0
    try:
        while step < plan.steps:
            block = min(REPORT_EVERY, plan.steps - step)
            ix = torch.randint(0, len(X), (block, plan.batch_size), generator=generator)
            losses = _block(params, buffers, X, Y, ix.to(X.device), plan, (step, start))
            if len(losses) == 0:  # the budget ran out as the block began
                break
            step += len(losses)
            block_losses = losses.tolist()  # one device sync per block
            curve.extend(block_losses)
            _check(curve, len(params["bout"]), plan)
            if progress is not None:  # the block's mean: one step's loss is noisy
                progress(step, plan.steps, loss=sum(block_losses) / len(block_losses))
            if len(losses) < block:  # the budget ran out inside the block
                break
    finally:
        for p in tensors:
            p.requires_grad_(False)
            p.grad = None
    return Run(curve=curve, steps=step)


def _block(
    params: dict[str, torch.Tensor],
    buffers: dict[str, torch.Tensor],
    X: torch.Tensor,
    Y: torch.Tensor,
    ix: torch.Tensor,
    plan: Plan,
    clock: tuple[int, float],
) -> torch.Tensor:
    """Up to len(ix) steps, one row of `ix` [steps, batch] each.

    clock: (steps taken before this block, perf_counter() when training
    started). Returns this block's losses [taken], float32 on the device;
    fewer than len(ix) when the time budget ran out.
    """
    import torch
    import torch.nn.functional as F

    first, start = clock
    losses = torch.empty(len(ix), device=X.device)
    taken = 0
    for rows in ix:
        step, seconds = first + taken, time.perf_counter() - start
        if step > 0 and plan.done(step, seconds) >= 1:
            break
        lr = plan.lr_at(plan.done(step, seconds))
        loss = F.cross_entropy(logits(params, buffers, X[rows], training=True), Y[rows])
        for p in params.values():
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params.values():
                if p.grad is not None:  # every parameter has one after backward()
                    p.add_(p.grad, alpha=-lr)
        losses[taken] = loss.detach()
        taken += 1
        if step == 0 and plan.minutes is not None:
            _check_first(plan.minutes, time.perf_counter() - start)
    return losses[:taken]


def _check_first(minutes: float, seconds: float) -> None:
    """TrainingError if the first step (`seconds` of wall time) overran the budget."""
    if seconds > 60 * minutes:
        raise TrainingError(
            f"--minutes {minutes:g} is too short to finish one training step "
            f"(the first took {seconds:.3g} s)"
        )


def _check(curve: list[float], vocab: int, plan: Plan) -> None:
    """TrainingError if the latest loss is not finite or far above ln V (diverged)."""
    limit = 3 * math.log(vocab) + 5  # nats/token: never reached while learning
    if not curve[-1] < limit:  # also catches nan and inf
        raise TrainingError(
            f"training diverged at step {len(curve)} (loss {curve[-1]}): "
            f"lower --lr (now {plan.lr:g})"
        )
