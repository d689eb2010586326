"""Discounts: estimated from count-of-counts, given by the user, or checked.

Estimates (Chen & Goodman 1998, eq. 26), from n_j = k-grams of count j:

    Y  = n1 / (n1 + 2 n2)
    D  = Y                                   (abs, kn)
    Dj = j - (j + 1) Y n_{j+1} / n_j         (mkn, j = 1, 2, 3)

When a count-of-counts is zero or an estimate falls outside (0, j], the
order falls back to D = 0.5 (abs, kn) or D1, D2, D3+ = 0.5, 1, 1.5 (mkn):
KenLM's `lmplz --discount_fallback` values. On character data this is the
rule for unigrams (no letter has a continuation count of one).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..errors import OptionError
from .levels import count_of_counts
from .methods import Method

FALLBACK = {1: (0.5,), 3: (0.5, 1.0, 1.5)}


def estimate(method: Method, counts: torch.Tensor) -> tuple[float, ...]:
    """The method's discounts for one level, from the integer counts (M,) it
    discounts (empty for Witten-Bell)."""
    if method.n_discounts == 0:
        return ()
    n = count_of_counts(counts, 4)
    if n[0] == 0 or n[1] == 0:
        return FALLBACK[method.n_discounts]
    y = n[0] / (n[0] + 2 * n[1])
    if method.n_discounts == 1:
        return (y,) if 0 < y <= 1 else FALLBACK[1]
    if n[2] == 0:
        return FALLBACK[3]
    d = tuple(j - (j + 1) * y * n[j] / n[j - 1] for j in (1, 2, 3))
    if any(not 0 < dj <= j for j, dj in zip((1, 2, 3), d)):
        return FALLBACK[3]
    return d


def per_order(method: Method, given: Sequence[float], order: int) -> list[tuple[float, ...]]:
    """Expand user discounts to one tuple per order, checking count and range.

    abs/kn take D (every order) or N values (one per order); mkn takes
    D1,D2,D3+ (every order) or 3N values (order 1 first).
    """
    m = method.n_discounts
    if m == 0:
        raise OptionError.named(f"<discount>: {method.name} ({method.title}) takes no discount")
    if len(given) == m:
        rows = [tuple(given)] * order
    elif len(given) == m * order:
        rows = [tuple(given[i * m : (i + 1) * m]) for i in range(order)]
    else:
        raise OptionError.named(
            f"<discount>: {method.name} takes {m} value(s) for every order or {m * order} "
            f"(one set per order), got {len(given)}"
        )
    for row in rows:
        for j, d in enumerate(row, 1):
            hi = method.discount_range(j)
            if not 0 < d <= hi:
                name = "D" if m == 1 else f"D{j}"
                raise OptionError.named(
                    f"<discount>: {method.name} needs 0 < {name} <= {hi:g}, got {d:g}"
                )
    return rows
