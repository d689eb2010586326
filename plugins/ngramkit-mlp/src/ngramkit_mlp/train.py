"""Minibatch SGD with a step-decay learning rate, seeded: makemore part 2's loop.

Each step draws `batch_size` random n-gram windows, takes one gradient step
on their mean cross-entropy (nats/token) and moves on; no epochs, no
optimizer state. The learning rate starts at `lr` and is multiplied by
`lr_decay` at `decays` evenly spaced points (the lecture: 0.1, then 0.01
for the second half).

This module trains parameters in place; it knows nothing of ngramkit's
contract (see model.py).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ngramkit.errors import TrainingError

from .network import logits

if TYPE_CHECKING:
    import torch

REPORT_EVERY = 1000  # steps between progress calls (each reads the loss)


@dataclass(frozen=True)
class Schedule:
    """Step decay: lr_at(s) = lr * lr_decay ** (points passed by step s).

    Schedule(steps=200, lr=0.1, lr_decay=0.1, decays=1): steps 0..99 use 0.1,
    steps 100..199 use 0.01 (rounding aside).
    """

    steps: int
    lr: float
    lr_decay: float
    decays: int

    def lr_at(self, step: int) -> float:
        passed = sum(step >= self.steps * k / (self.decays + 1) for k in range(1, self.decays + 1))
        return self.lr * self.lr_decay**passed


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with `n` intra-op threads, then restore the caller's setting.

    The network is small: on a shared 2-core machine two threads spend more
    time synchronizing than computing (measured 6x slower per step), so the
    default is one.
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
    X: torch.Tensor,
    Y: torch.Tensor,
    schedule: Schedule,
    batch_size: int,
    generator: torch.Generator,
    progress: Callable[..., Any] | None = None,
) -> float:
    """Train `params` in place on windows X [N, n-1] -> Y [N]; returns the last loss.

    Raises TrainingError if the loss stops being finite or climbs far above a
    uniform guess (ln V nats/token, where training starts): the steps
    overshoot, so the learning rate is too large for the data.
    """
    import torch
    import torch.nn.functional as F

    tensors = list(params.values())
    limit = 3 * math.log(params["b2"].shape[0]) + 5  # nats/token: never reached when learning
    for p in tensors:
        p.requires_grad_(True)
    loss_value = math.nan
    for step in range(schedule.steps):
        ix = torch.randint(0, len(X), (batch_size,), generator=generator)  # (B,)
        loss = F.cross_entropy(logits(params, X[ix]), Y[ix])  # mean nats/token
        for p in tensors:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            lr = schedule.lr_at(step)
            for p in tensors:
                if p.grad is not None:  # every parameter has one after backward()
                    p.add_(p.grad, alpha=-lr)
        if (step + 1) % REPORT_EVERY == 0 or step + 1 == schedule.steps:
            loss_value = float(loss.detach())
            if not loss_value < limit:  # also catches nan and inf
                raise TrainingError(
                    f"training diverged at step {step + 1} (loss {loss_value}): "
                    f"lower --lr (now {schedule.lr:g})"
                )
            if progress is not None:
                progress(step + 1, schedule.steps, loss=loss_value)
    for p in tensors:
        p.requires_grad_(False)
        p.grad = None
    return loss_value
