"""Held-out tuning: pick the smoothing knobs that minimize dev NLL.

The held-out tokens come from the training items only (fit.held_out: K-fold
cross-validation, or one seeded dev split); the test set is never seen. The
knobs minimize the NLL of every held-out token under the counts that did not
see it; the model is then re-estimated on all training items with them.

- add-k (`--smooth auto`): k by golden-section search on log k (one knob,
  each evaluation a handful of vector operations);
- discounts (`--tune`): every order's discounts at once by L-BFGS, through
  autograd: the interpolated probability of each dev token is a smooth
  function of the discounts (interpolate.query_probs). Each discount is kept
  inside its range (0, hi) as hi * sigmoid(theta).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .interpolate import Queries, query_probs
from .levels import Level
from .methods import Method

if TYPE_CHECKING:
    import torch

K_RANGE = (1e-4, 10.0)  # add-k search interval, fake counts


def addk_nll(k: float, pair: torch.Tensor, total: torch.Tensor, vocab_size: int) -> float:
    """Dev NLL (nats/token) of add-k: pair = c(h, w), total = c(h) per dev token."""
    import torch

    p = torch.where(total > 0, (pair + k) / (total + k * vocab_size), 1.0 / vocab_size)
    return float(-p.log().mean())


def tune_addk(pair: torch.Tensor, total: torch.Tensor, vocab_size: int, steps: int = 40) -> float:
    """k in K_RANGE minimizing addk_nll, by golden-section search on log k."""
    lo, hi = math.log(K_RANGE[0]), math.log(K_RANGE[1])
    phi = (math.sqrt(5) - 1) / 2
    a, b = hi - phi * (hi - lo), lo + phi * (hi - lo)
    fa = addk_nll(math.exp(a), pair, total, vocab_size)
    fb = addk_nll(math.exp(b), pair, total, vocab_size)
    for _ in range(steps):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - phi * (hi - lo)
            fa = addk_nll(math.exp(a), pair, total, vocab_size)
        else:
            lo, a, fa = a, b, fb
            b = lo + phi * (hi - lo)
            fb = addk_nll(math.exp(b), pair, total, vocab_size)
    return math.exp((lo + hi) / 2)


def tune_discounts(
    method: Method,
    parts: Sequence[tuple[Sequence[Level], Queries]],
    vocab_size: int,
    start: Sequence[Sequence[float]],
    unk: bool = False,
    max_iter: int = 60,
) -> tuple[list[tuple[float, ...]], float]:
    """(discounts per order, held-out NLL) minimizing the NLL of every part's
    queries under its levels (one dev split, or the folds of a cross-validation),
    in nats per held-out token."""
    import torch

    hi = torch.tensor([method.discount_range(j) for j in range(1, method.n_discounts + 1)])
    hi = hi.double()
    init = torch.tensor(start, dtype=torch.float64).clamp(min=0.02).minimum(0.98 * hi)
    theta = torch.logit(init / hi).requires_grad_(True)  # (N, m)
    opt = torch.optim.LBFGS([theta], lr=1, max_iter=max_iter, line_search_fn="strong_wolfe")
    tokens = sum(len(queries.targets) for _, queries in parts)

    def nll() -> torch.Tensor:
        D = list(hi * torch.sigmoid(theta))  # (N, m), inside (0, hi)
        per_part = [
            query_probs(method, levels, D, queries, vocab_size, unk).log().sum()
            for levels, queries in parts
        ]
        return -torch.stack(per_part).sum() / tokens

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = nll()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        D = hi * torch.sigmoid(theta)
        loss = float(nll())
    return [tuple(float(x) for x in row) for row in D], loss
