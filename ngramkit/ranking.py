"""Ordering and picking scored items: --sort, --top K, --bottom K.

Sort orders put the most likely items first: NLL ascending, log-probability
descending, length ascending, or input order. Items with probability 0 (an
infinite NLL) come after every finite one and OOV items (no score) come last,
so `--sort nll --bottom 20` shows the oddest entries of a list.

`select` keeps memory bounded when it can: the first or last K in input
order need a K-slot buffer, the best or worst K a K-item heap. Only a full
sort (no --top/--bottom) holds every row. It does not score anything.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import OptionError
from .results import ItemScore

SORTS = ("input", "nll", "logprob", "length")

Key = Callable[["ItemScore"], tuple[float, ...]]


def _score_rank(x: float, oov: bool) -> tuple[float, float]:
    """(group, value): finite scores, then infinities, then OOV (nan)."""
    if oov or math.isnan(x):
        return (2.0, 0.0)
    return (0.0, x) if math.isfinite(x) else (1.0, 0.0)


def sort_key(sort: str) -> Key | None:
    """The key of a sort order (None for input order); smaller comes first."""
    if sort == "input":
        return None
    if sort == "nll":
        return lambda r: _score_rank(r.nll, r.oov)
    if sort == "logprob":
        return lambda r: _score_rank(-r.logprob, r.oov)
    if sort == "length":
        return lambda r: (float(r.tokens),)
    raise OptionError.named(f"<sort> must be one of {', '.join(SORTS)}, got {{s!r}}", s=sort)


@dataclass(frozen=True)
class Selection:
    """The rows to show, in sort order, and the choice that picked them."""

    rows: list[ItemScore]
    sort: str = "input"
    top: int | None = None
    bottom: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"sort": self.sort, "top": self.top, "bottom": self.bottom, "shown": len(self.rows)}


def select(
    rows: Iterable[ItemScore],
    sort: str = "input",
    top: int | None = None,
    bottom: int | None = None,
    *,
    limit: int | None = None,
) -> Selection:
    """Consume `rows` and pick the ones to show, in sort order.

    top=K: the first K; bottom=K: the last K; neither: all of them, or the
    first `limit`. Ties keep input order. Every row is consumed (so running
    totals see them all).
    """
    if top is not None and bottom is not None:
        raise OptionError.named("give <top> or <bottom>, not both")
    first = limit if top is bottom is None else top
    return Selection(_pick(rows, sort, first, bottom), sort, top, bottom)


def _pick(
    rows: Iterable[ItemScore], sort: str, top: int | None, bottom: int | None
) -> list[ItemScore]:
    key = sort_key(sort)
    if key is None:
        if top is not None:
            kept = list(itertools.islice(rows, top))
            deque(rows, maxlen=0)  # consume the rest for the totals
            return kept
        return list(deque(rows, maxlen=bottom) if bottom is not None else rows)
    numbered = ((key(r), i, r) for i, r in enumerate(rows))  # i: the tie-break
    if top is not None:
        return [r for _, _, r in heapq.nsmallest(top, numbered, key=lambda t: t[:2])]
    if bottom is not None:
        worst = heapq.nlargest(bottom, numbered, key=lambda t: t[:2])
        return [r for _, _, r in reversed(worst)]
    return [r for _, _, r in sorted(numbered, key=lambda t: t[:2])]
