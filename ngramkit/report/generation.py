"""Renderables for generated items: the K most probable (top) and ranks (eval --rank)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from .tables import simple_table

if TYPE_CHECKING:
    from ..best import Ranked


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
