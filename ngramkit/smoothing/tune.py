"""Held-out tuning: pick the smoothing knobs that minimize the held-out NLL.

The held-out tokens come from the training items only (fit.held_out: K-fold
cross-validation, or one seeded dev split); the test set is never seen. The
knobs minimize the NLL of every held-out token under the counts that did not
see it; the model is then re-estimated on all training items with them.

- add-k (`--smooth auto`): k by golden-section search on log k (golden_min,
  used by addk.tune_k: one knob, each evaluation a handful of vector operations);
- discounts (`--tune`): every order's discounts at once by L-BFGS, through
  autograd: the interpolated probability of each dev token is a smooth
  function of the discounts (interpolate.query_probs). Each discount is kept
  inside its range (0, hi) as hi * sigmoid(theta).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from .interpolate import Queries, query_probs
from .levels import Level
from .methods import Method


def golden_min(f: Callable[[float], float], lo: float, hi: float, steps: int) -> float:
    """The x in (lo, hi) minimizing a unimodal f, by `steps` golden-section steps."""
    phi = (math.sqrt(5) - 1) / 2
    a, b = hi - phi * (hi - lo), lo + phi * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(steps):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - phi * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + phi * (hi - lo)
            fb = f(b)
    return (lo + hi) / 2


def tune_discounts(
    method: Method,
    parts: Sequence[tuple[Sequence[Level], Queries, torch.Tensor]],
    vocab_size: int,
    start: Sequence[Sequence[float]],
    max_iter: int = 60,
) -> tuple[list[tuple[float, ...]], float]:
    """(discounts per order, held-out NLL) minimizing the NLL of every part's
    queries under its levels (one dev split, or the folds of a cross-validation),
    each query (a distinct held-out n-gram) weighted by its count [U]; nats per
    held-out token."""
    hi = torch.tensor([method.discount_range(j) for j in range(1, method.n_discounts + 1)])
    hi = hi.double()
    init = torch.tensor(start, dtype=torch.float64).clamp(min=0.02).minimum(0.98 * hi)
    theta = torch.logit(init / hi).requires_grad_(True)  # (N, m)
    opt = torch.optim.LBFGS([theta], lr=1, max_iter=max_iter, line_search_fn="strong_wolfe")
    tokens = float(sum(weight.sum() for _, _, weight in parts))

    def part_nll(levels: Sequence[Level], queries: Queries, weight: torch.Tensor) -> torch.Tensor:
        D = list(hi * torch.sigmoid(theta))  # (N, m), inside (0, hi)
        lp = query_probs(method, levels, D, queries, vocab_size).log()
        return -(lp * weight).sum() / tokens

    def closure() -> torch.Tensor:
        # One part's autograd graph at a time (its gradient is added to theta's),
        # so the folds of a cross-validation do not all hold their graphs at once.
        opt.zero_grad()
        loss = torch.zeros((), dtype=torch.float64)
        for part in parts:
            piece = part_nll(*part)
            piece.backward()
            loss += piece.detach()
        return loss

    opt.step(closure)
    with torch.no_grad():
        loss = sum(part_nll(*part) for part in parts)
        D = hi * torch.sigmoid(theta)
    return [tuple(float(x) for x in row) for row in D], float(loss)
