"""Renderables for generated items: the K most probable (top) and ranks (eval --rank)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..errors import visible
from .tables import simple_table

if TYPE_CHECKING:
    from ..best import Ranked
    from ..guessing import Coverage, Rank


def _mark(seen: bool | None) -> Text:
    if seen is None:
        return Text("")
    return Text("seen", style="dim") if seen else Text("new", style="green")


def top_table(rows: Sequence[Ranked], title: str) -> Table:
    """rank, item, log p (nats), probability, new/seen: one row per item."""
    table = simple_table(title)
    for name in ("rank", "item", "log p (nats)", "probability", ""):
        table.add_column(name, justify="left" if name in ("item", "") else "right")
    for r in rows:
        table.add_row(
            f"{r.rank:,}",
            r.item or Text("(empty)", style="dim"),
            f"{r.logprob:.4f}",
            f"{math.exp(r.logprob):.3e}",
            _mark(r.seen),
        )
    return table


def _count(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def rank_table(ranks: Sequence[Rank], title: str) -> Table:
    """item, log p, rank (guess number), its 95% interval, exact or estimated."""
    table = simple_table(title)
    for name in ("item", "log p (nats)", "rank", "95% interval", ""):
        table.add_column(name, justify="left" if name in ("item", "") else "right")
    for r in ranks:
        span = "" if r.exact or r.low is None else f"{_count(r.low)} .. {_count(r.high)}"
        how = "" if r.rank is None else ("exact" if r.exact else "estimate")
        table.add_row(r.item, f"{r.logprob:.4f}", _count(r.rank), span, Text(how, style="dim"))
    return table


def guesses_label(k: int) -> str:
    """A guess count as tables show it: '1,000,000' up to a million, then '10^7', ..."""
    if k <= 1_000_000:
        return f"{k:,}"
    e = round(math.log10(k))
    return f"10^{e}" if 10**e == k else f"{k:.3g}"


def coverage_table(cov: Coverage) -> Table:
    """guesses K, items found within K, fraction: the coverage curve."""
    table = simple_table(
        f"coverage of {cov.items:,} items (exact up to {cov.exact_upto:,} guesses)"
    )
    for name in ("guesses", "found", "fraction"):
        table.add_column(name, justify="right")
    for k, f in zip(cov.guesses, cov.found):
        frac = f"{f / cov.items:.1%}" if cov.items else "-"
        table.add_row(guesses_label(k), f"{f:,}", frac)
    return table


def coverages_table(curves: Sequence[tuple[str, Coverage]]) -> Group:
    """Several models' coverage of one list side by side: guesses K, then per model the
    fraction of the list found within K guesses (the curves share their K)."""
    first = curves[0][1]
    head = Text(
        f"Coverage of {first.items:,} items: the share found within K guesses "
        f"(exact up to {first.exact_upto:,} guesses, estimated beyond)"
    )
    table = simple_table()
    table.add_column("guesses", justify="right")
    for name, _ in curves:
        table.add_column(visible(name), justify="right")
    for i, k in enumerate(first.guesses):
        cells = [f"{c.found[i] / c.items:.1%}" if c.items else "-" for _, c in curves]
        table.add_row(guesses_label(k), *cells)
    return Group(head, table)
