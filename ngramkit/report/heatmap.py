"""The lecture's transition matrix as a terminal heatmap. No I/O.

Each cell shows the bigram ("ab") over its count (or p(b|a) for backends
without counts), on a white-to-blue background like matplotlib's "Blues".
The shade follows log(1 + value) so that rare transitions stay visible
(the lecture's imshow is linear; the numbers in the cells are exact).
A matrix wider than the console is cut into column blocks, one under another.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .tables import simple_table

if TYPE_CHECKING:
    from ..transitions import Matrix, Transition

WHITE = (247, 251, 255)  # matplotlib Blues, low end
BLUE = (8, 48, 107)  # matplotlib Blues, high end


def shade(x: float) -> str:
    """Background and text colors for a cell at intensity x in [0, 1]."""
    r, g, b = (round(lo + (hi - lo) * x) for lo, hi in zip(WHITE, BLUE))
    fg = "white" if x > 0.5 else "black"
    return f"{fg} on rgb({r},{g},{b})"


def cell_value(value: float, kind: str) -> str:
    return f"{int(value)}" if kind == "count" else f"{value:.2f}".lstrip("0") or "0"


def heatmap(m: Matrix, width: int = 200) -> RenderableType:
    """Grid of cells (bigram over value); blocks of columns fit in `width` cells."""
    V = len(m.tokens)
    vals = m.values.double()
    top = math.log1p(float(vals.max())) if V else 1.0
    labels = m.tokens
    cellw = max(
        max(len(cell_value(float(v), m.kind)) for v in vals.flatten().tolist()),
        max(len(a) + len(m.separator) + len(b) for a in labels for b in labels),
    )
    label_w = max(len(t) for t in labels)
    per_block = max(1, (width - label_w - 1) // (cellw + 1))
    blocks: list[RenderableType] = []
    for lo in range(0, V, per_block):
        cols = range(lo, min(V, lo + per_block))
        table = Table(
            box=box.SIMPLE, show_edge=False, padding=(0, 0), pad_edge=False, collapse_padding=True
        )
        table.add_column("", justify="right", style="dim", no_wrap=True)
        for j in cols:
            table.add_column(labels[j], justify="center", width=cellw + 1, no_wrap=True)
        for i in range(V):
            cells: list[RenderableType] = [labels[i]]
            for j in cols:
                v = float(vals[i, j])
                style = shade(math.log1p(v) / top if top > 0 else 0.0)
                cells.append(
                    Text(
                        f"{labels[i]}{m.separator}{labels[j]}\n{cell_value(v, m.kind)}",
                        style=style,
                        justify="center",
                    )
                )
            table.add_row(*cells)
        blocks.append(table)
    what = "counts" if m.kind == "count" else "p(next | previous)"
    legend = Text(
        f"rows: previous token, columns: next token; cells: bigram and {what}; "
        "shade: log(1 + value)",
        style="dim",
    )
    return Group(*blocks, legend)


def transitions_table(rows: list[Transition], separator: str = "") -> Table:
    """The strongest transitions: context, next token, count, p(next | context)."""
    table = simple_table("Strongest transitions")
    table.add_column("context")
    table.add_column("next")
    table.add_column("count", justify="right")
    table.add_column("p(next | context)", justify="right")
    for t in rows:
        table.add_row(
            Text(separator.join(t.context)),
            Text(t.token),
            "" if t.count is None else f"{t.count:,}",
            f"{t.prob:.4f}",
        )
    return table
