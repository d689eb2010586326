"""A loss curve drawn in the terminal: a small bar chart of block characters.

`LossCurve(values)` is a Rich renderable; `chart_rows` is the pure drawing
(a list of strings) it is built on, easy to test. The x axis is the step
(0 .. steps), resampled to the chart's width by averaging; the y axis is
linear between the lowest and highest loss. No I/O, no colors that carry
meaning: the numbers are printed alongside.

    >>> chart_rows([4.0, 3.0, 2.0, 2.0], width=4, height=2)
    ['█   ', '██▁▁']
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

from rich.text import Text

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

BLOCKS = " ▁▂▃▄▅▆▇█"  # 0..8 eighths of a cell
FLOOR = 1 / 16  # share of the height the lowest value keeps, so its bar shows


def resample(values: Sequence[float], width: int) -> list[float]:
    """`width` column values: the mean of each column's share of `values`.

    resample([1, 2, 3, 4], 2) == [1.5, 3.5]; fewer values than columns are kept as they are.
    """
    n = len(values)
    if n <= width:
        return list(values)
    cuts = [round(j * n / width) for j in range(width + 1)]
    return [sum(values[a:b]) / (b - a) for a, b in pairwise(cuts)]


def chart_rows(values: Sequence[float], width: int = 60, height: int = 6) -> list[str]:
    """The chart as `height` strings (top row first), one column per resampled value.

    A column's bar is (v - low) / (high - low) of the height, in eighths of a
    cell, lifted by FLOOR so that the lowest value is still drawn.
    """
    cols = resample(values, width)
    lo, hi = min(cols), max(cols)
    span = hi - lo or 1.0
    eighths = [round((FLOOR + (1 - FLOOR) * (v - lo) / span) * height * 8) for v in cols]
    rows = []
    for r in range(height - 1, -1, -1):  # top row first
        cells = (BLOCKS[min(max(e - 8 * r, 0), 8)] for e in eighths)
        rows.append("".join(cells))
    return rows


class LossCurve:
    """The training loss per step as a bar chart with its range labelled.

    values: the objective after 0, 1, ..., steps steps (nats/token, plus the
    regularization term where the backend has one).
    """

    def __init__(
        self, values: Sequence[float], title: str = "Training loss (nats/token)", height: int = 6
    ) -> None:
        self.values = [float(v) for v in values]
        self.title = title
        self.height = height

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        v = self.values
        if not v:
            return
        yield Text.assemble(
            (self.title, "italic"), f": {v[0]:.4f} → {v[-1]:.4f} in {len(v) - 1} steps"
        )
        pad = len(f"{max(v):.3f}")
        width = max(min(options.max_width - pad - 3, 64), 8)
        cols = resample(v, width)  # what the chart draws
        rows = chart_rows(cols, width, self.height)
        for i, row in enumerate(rows):
            label = (
                f"{max(cols):.3f}" if i == 0 else f"{min(cols):.3f}" if i == len(rows) - 1 else ""
            )
            yield Text.assemble((f"{label:>{pad}} ┤ ", "dim"), (row, "cyan"))
        steps = f"step {len(v) - 1}"
        axis = f"{'':>{pad}}   0{steps:>{max(len(rows[0]) - 1, len(steps))}}"
        yield Text(axis, style="dim")


def curve_of(model: object) -> LossCurve | None:
    """The model's loss curve as a renderable, or None if it keeps none.

    A backend opts in by holding its per-step losses in `loss_curve_`.
    """
    values = getattr(model, "loss_curve_", None)
    if values is None or len(values) < 2:
        return None
    return LossCurve(values)
