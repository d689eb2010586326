"""The lecture's transition matrix as a terminal heatmap. No I/O.

Each cell shows the bigram ("ab") over its count (or p(b|a) for backends
without counts), on a white-to-blue background like matplotlib's "Blues".
The shade follows log(1 + value) so that rare transitions stay visible
(the lecture's imshow is linear; the numbers in the cells are exact).
A matrix wider than the console is cut into balanced blocks of columns, stacked
one under another, each headed by the columns it holds.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..errors import visible
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


def _cell_width(m: Matrix) -> int:
    """Cells a matrix cell needs: its widest bigram or value."""
    values = m.values.double().flatten().tolist()
    labels = m.tokens
    return max(
        max(len(cell_value(float(v), m.kind)) for v in values),
        max(len(a) + len(m.separator) + len(b) for a in labels for b in labels),
    )


def column_blocks(V: int, cellw: int, label_w: int, width: int) -> tuple[int, list[range]]:
    """The cells each column takes and the column blocks: all V in one block if they fit.

    A column takes cellw + 2 cells (a cell of padding and the divider); when
    that is too wide, cellw + 1; blocks are balanced (27 columns at 80: 14 and 13).
    """
    room = width - label_w - 1  # the row labels and their divider
    step = cellw + 2 if V * (cellw + 2) <= room else cellw + 1
    n = -(-V // max(1, room // step))  # blocks needed
    per = -(-V // n)
    return step, [range(lo, min(V, lo + per)) for lo in range(0, V, per)]


def _block(m: Matrix, cols: range, step: int, top: float) -> Table:
    """One block of columns: every row of the matrix, cells bigram over value."""
    labels, vals = m.tokens, m.values.double()
    table = Table(
        box=box.SIMPLE, show_edge=False, padding=(0, 0), pad_edge=False, collapse_padding=True
    )
    table.add_column("", justify="right", style="dim", no_wrap=True)
    for j in cols:
        table.add_column(labels[j], justify="center", width=step - 1, no_wrap=True)
    for i in range(len(labels)):
        cells: list[RenderableType] = [Text(labels[i])]
        for j in cols:
            v = float(vals[i, j])
            style = shade(math.log1p(v) / top if top > 0 else 0.0)
            text = f"{labels[i]}{m.separator}{labels[j]}\n{cell_value(v, m.kind)}"
            cells.append(Text(text, style=style, justify="center"))
        table.add_row(*cells)
    return table


def heatmap(m: Matrix, width: int = 200) -> RenderableType:
    """Grid of cells (bigram over value) in `width` cells: one block, or labelled blocks.

    A matrix too wide for one block is cut into blocks of columns stacked one
    under another, each headed by the columns it holds ("columns . to m (1 of 2)").
    """
    m = replace(m, tokens=tuple(map(visible, m.tokens)))  # labels show controls as \x..
    V = len(m.tokens)
    top = math.log1p(float(m.values.double().max())) if V else 1.0
    label_w = max(len(t) for t in m.tokens)
    step, blocks = column_blocks(V, _cell_width(m), label_w, width)
    parts: list[RenderableType] = []
    for k, cols in enumerate(blocks, 1):
        if len(blocks) > 1:
            first, last = m.tokens[cols[0]], m.tokens[cols[-1]]
            which = f"columns {first} to {last}" if len(cols) > 1 else f"column {first}"
            head = f"{which} ({k} of {len(blocks)})"
            parts += [Text(""), Text(head, style="bold")] if k > 1 else [Text(head, style="bold")]
        parts.append(_block(m, cols, step, top))
    what = "counts" if m.kind == "count" else "p(next | previous)"
    legend = Text(
        f"rows: previous token, columns: next token; cells: bigram and {what}; "
        "shade: log(1 + value)",
        style="dim",
    )
    return Group(*parts, legend)


def transitions_table(rows: list[Transition], separator: str = "") -> Table:
    """The strongest transitions: context, next token, count, p(next | context)."""
    table = simple_table("Strongest transitions")
    table.add_column("context")
    table.add_column("next")
    table.add_column("count", justify="right")
    table.add_column("p(next | context)", justify="right")
    for t in rows:
        table.add_row(
            Text(visible(separator.join(t.context))),
            Text(visible(t.token)),
            "" if t.count is None else f"{t.count:,}",
            f"{t.prob:.4f}",
        )
    return table
