"""Self-contained HTML reports: sections of plain data, drawn by one template. No I/O.

A `Page` is a title and a list of `Section`s; each section has a kind the
template knows how to draw:

- "facts": groups of (key, value) rows (the model card);
- "table": a header and rows of cells, sortable by clicking a header when
  `sortable` (a cell is text, or a `Cell` with a sort value and, for items,
  per-token surprisal spans);
- "heatmap": the lecture's count matrix, every row and column, cells shaded
  white to blue by log(1 + value) as in the terminal;
- "chart": an inline SVG plot (bars for a histogram, lines for ROC and coverage
  curves) whose coordinates are computed here, in a W x H viewBox;
- "grid": the confusion matrix as inline SVG squares.

The page has no external resource (CSS and the sorting script are inline, a
Content-Security-Policy forbids fetching anything), so it opens offline and
can be mailed. `render(page)` returns the HTML text; the CLI saves it
atomically (cli/common.write_html).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .heatmap import cell_value
from .tables import num

W, H = 640, 300  # chart viewBox, in SVG user units
PAD_L, PAD_R, PAD_T, PAD_B = 60, 24, 14, 48  # room for the axes' ticks and labels
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")
WHITE, BLUE = (247, 251, 255), (8, 48, 107)  # matplotlib Blues, as the terminal heatmap
SURPRISAL_LEVELS = 9  # shades of a token: 0..8 bits (8: p <= 1/256, the darkest red)


@dataclass(frozen=True)
class Cell:
    """A table cell: its text, its sort value (None: sorts as text), and optional
    per-token spans (text, surprisal level, tooltip) drawn instead of the text."""

    text: str
    value: float | None = None
    spans: tuple[tuple[str, int, str], ...] = ()

    @property
    def sort_value(self) -> str | None:
        """The value as JavaScript's parseFloat reads it ('Infinity' for inf)."""
        if self.value is None:
            return None
        if math.isinf(self.value):
            return "Infinity" if self.value > 0 else "-Infinity"
        return repr(self.value)


@dataclass(frozen=True)
class Section:
    """One block of the page; `data` is what its kind's template macro reads."""

    kind: str
    title: str
    data: dict[str, Any]
    note: str = ""


@dataclass(frozen=True)
class Page:
    title: str
    subtitle: str = ""
    sections: list[Section] = field(default_factory=list)


def render(page: Page) -> str:
    """The page as one HTML document (the template: report/templates/report.html)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ngramkit.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.html").render(page=page, W=W, H=H, levels=SURPRISAL_LEVELS)


def _blues(x: float) -> str:
    """The heatmap's color at intensity x in [0, 1] (white to blue)."""
    r, g, b = (round(lo + (hi - lo) * x) for lo, hi in zip(WHITE, BLUE))
    return f"rgb({r},{g},{b})"


def surprisal_level(bits: float) -> int:
    """A token's shade, 0 (white, 0 bits) to SURPRISAL_LEVELS - 1 (red, 8 bits or more):
    its surprisal rounded to whole bits; the template's classes b0..b8 color them."""
    if not math.isfinite(bits):
        return SURPRISAL_LEVELS - 1
    return min(max(round(bits), 0), SURPRISAL_LEVELS - 1)


def facts(title: str, groups: dict[str, Sequence[tuple[str, Any]]]) -> Section:
    """Groups of key/value rows, e.g. the model card's Model, Vocabulary, Sizes."""
    rows = {g: [(str(k), str(v)) for k, v in r] for g, r in groups.items()}
    return Section("facts", title, {"groups": rows})


def table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str | Cell]],
    *,
    sortable: bool = False,
    numeric: Sequence[int] = (),
    note: str = "",
) -> Section:
    """A table; columns in `numeric` are right-aligned (and sort by value)."""
    cells = [[c if isinstance(c, Cell) else Cell(str(c)) for c in r] for r in rows]
    data = {"headers": list(headers), "rows": cells, "sortable": sortable, "numeric": set(numeric)}
    return Section("table", title, data, note)


def number(x: float | None, digits: int = 4) -> Cell:
    """A numeric cell: shown as the terminal shows it, sorted by value (nan/None last)."""
    v = None if x is None or math.isnan(x) else x
    return Cell(num(x, digits), math.inf if v is None else v)


def token_cell(item: str, tokens: Sequence[Any]) -> Cell:
    """An item drawn token by token, each shaded by its surprisal (tokens: TokenScore).

    The last token is the end boundary: drawn as itself, dimmed by the template.
    """
    spans = tuple(
        (
            t.token,
            surprisal_level(t.surprisal_bits),
            f"p({t.token}|{t.context})={t.prob:.3g}, {t.surprisal_bits:.1f} bits",
        )
        for t in tokens
    )
    return Cell(item, None, spans)


def heatmap_section(matrix: Any, title: str = "Transition matrix") -> Section:
    """The whole [V, V] matrix (transitions.Matrix): labels, and per cell text and color."""
    vals = matrix.values.double()
    top = math.log1p(float(vals.max())) if vals.numel() else 1.0
    tokens, sep = list(matrix.tokens), matrix.separator
    rows = []
    for i, a in enumerate(tokens):
        row = []
        for j, b in enumerate(tokens):
            v = float(vals[i, j])
            x = math.log1p(v) / top if top > 0 else 0.0
            row.append((f"{a}{sep}{b}", cell_value(v, matrix.kind), _blues(x), x > 0.5))
        rows.append((a, row))
    what = "counts" if matrix.kind == "count" else "p(next | previous)"
    note = f"rows: previous token, columns: next token; cells: bigram and {what}; "
    note += "shade: log(1 + value)"
    return Section("heatmap", title, {"tokens": tokens, "rows": rows}, note)


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About n round tick values covering [lo, hi] (steps of 1, 2 or 5 times 10^k)."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(s * mag for s in (1, 2, 5, 10) if s * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


def _power(e: int) -> str:
    """10^e as a tick label: '1,000' up to 10^3, then '10⁴', '10⁵', ..."""
    return f"{10**e:,}" if e <= 3 else "10" + str(e).translate(SUPERSCRIPT)


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _tick_label(x: float) -> str:
    return f"{x:.6g}" if abs(x) >= 1e-4 or x == 0 else f"{x:.1e}"


@dataclass(frozen=True)
class Axis:
    """Maps data values to SVG units: linear, or log10 when `log`."""

    lo: float
    hi: float
    start: float
    end: float
    log: bool = False

    def __call__(self, x: float) -> float:
        f = (lambda v: math.log10(v)) if self.log else (lambda v: v)
        lo, hi = f(self.lo), f(self.hi)
        t = (f(x) - lo) / (hi - lo) if hi > lo else 0.5
        return round(self.start + t * (self.end - self.start), 2)

    def ticks(self) -> list[tuple[float, str]]:
        if self.log:
            e0, e1 = math.floor(math.log10(self.lo)), math.ceil(math.log10(self.hi))
            step = max(1, math.ceil((e1 - e0) / 8))  # at most about 8 labels
            return [(self(10.0**e), _power(e)) for e in range(e0, e1 + 1, step)]
        return [(self(v), _tick_label(v)) for v in _ticks(self.lo, self.hi)]


def _frame(x: Axis, y: Axis, x_label: str, y_label: str) -> dict[str, Any]:
    return {
        "x_ticks": x.ticks(),
        "y_ticks": y.ticks(),
        "x_label": x_label,
        "y_label": y_label,
        "left": PAD_L,
        "right": W - PAD_R,
        "top": PAD_T,
        "bottom": H - PAD_B,
        "marks": [],
    }


def bin_counts(values: Sequence[float], bins: int) -> tuple[float, float, list[int]]:
    """(low, step, counts) of finite `values` in `bins` equal bins (the last one closed).

    bin_counts([0, 0, 1], 2) == (0, 0.5, [2, 1]).
    """
    xs = [x for x in values if math.isfinite(x)]
    if not xs:
        return 0.0, 1.0, [0] * bins
    lo, hi = min(xs), max(xs)
    step = (hi - lo) / bins or 1.0
    counts = [0] * bins
    for v in xs:
        counts[min(int((v - lo) / step), bins - 1)] += 1
    return lo, step, counts


def histogram_chart(
    series: Sequence[tuple[str, Sequence[float]]], title: str, x_label: str, bins: int = 30
) -> Section:
    """Histogram(s) of per-item values on shared bins; several series are drawn as
    outlined steps over each other (compare's models), one as filled bars."""
    finite = [v for _, vs in series for v in vs if math.isfinite(v)]
    lo, step, _ = bin_counts(finite, bins)
    counted = [shared_bins(vs, lo, step, bins) for _, vs in series]
    top = max((max(c) for c in counted if c), default=1) or 1
    x = Axis(lo, lo + step * bins, PAD_L, W - PAD_R)
    y = Axis(0, top, H - PAD_B, PAD_T)
    bars, lines = [], []
    for k, ((name, vs), counts) in enumerate(zip(series, counted)):
        color = PALETTE[k % len(PALETTE)]
        if len(series) == 1:
            for i, c in enumerate(counts):
                x0, x1 = x(lo + i * step), x(lo + (i + 1) * step)
                tip = f"[{lo + i * step:.3f}, {lo + (i + 1) * step:.3f}): {c:,}"
                bars.append((x0, y(c), max(x1 - x0 - 1, 0.5), y(0) - y(c), color, tip))
        else:
            pts = [(x(lo), y(0))]
            for i, c in enumerate(counts):
                pts += [(x(lo + i * step), y(c)), (x(lo + (i + 1) * step), y(c))]
            pts.append((x(lo + bins * step), y(0)))
            lines.append(_line(f"{name} ({len(vs):,})", color, pts))
    data = _frame(x, y, x_label, "items") | {
        "bars": bars,
        "lines": lines,
        "legend": len(series) > 1,
    }
    return Section("chart", title, data)


def shared_bins(values: Sequence[float], lo: float, step: float, bins: int) -> list[int]:
    """Counts of finite `values` in `bins` bins of `step` from `lo` (outside: the end bins)."""
    counts = [0] * bins
    for v in values:
        if math.isfinite(v):
            counts[min(max(int((v - lo) / step), 0), bins - 1)] += 1
    return counts


def _line(name: str, color: str, pts: Sequence[tuple[float, float]]) -> dict[str, Any]:
    return {"name": name, "color": color, "points": " ".join(f"{a},{b}" for a, b in pts)}


def roc_chart(
    curve: Sequence[tuple[float, float, float]], auc: float, chosen: tuple[float, float]
) -> Section:
    """The ROC curve (x: FPR, y: TPR), the chance diagonal and the calibrated point."""
    x, y = Axis(0, 1, PAD_L, W - PAD_R), Axis(0, 1, H - PAD_B, PAD_T)
    pts = [(x(f), y(t)) for _, f, t in curve]
    lines = [
        _line("chance", "#999999", [(x(0), y(0)), (x(1), y(1))]),
        _line(f"ROC (AUC {auc:.4f})", PALETTE[0], pts),
    ]
    f, t = chosen
    marks = [(x(f), y(t), f"threshold: FPR {f:.4f}, TPR {t:.4f}")]
    data = _frame(x, y, "false-positive rate (real items flagged)", "true-positive rate (bad)")
    data |= {"bars": [], "lines": lines, "marks": marks, "legend": True}
    return Section("chart", "ROC curve", data)


def coverage_chart(curves: Sequence[tuple[str, Any]], title: str = "Coverage") -> Section:
    """Coverage curves (guessing.Coverage): fraction of the list found within K guesses,
    K on a log axis; one line per model."""
    top = max((max(c.guesses) for _, c in curves if c.guesses), default=10)
    x, y = Axis(1, max(top, 10), PAD_L, W - PAD_R, log=True), Axis(0, 1, H - PAD_B, PAD_T)
    lines = []
    for k, (name, c) in enumerate(curves):
        pts = [(x(g), y(f / c.items if c.items else 0.0)) for g, f in zip(c.guesses, c.found)]
        lines.append(_line(name, PALETTE[k % len(PALETTE)], pts))
    data = _frame(x, y, "guesses K (enumeration order)", "fraction found")
    data |= {"bars": [], "lines": lines, "legend": True}
    exact = curves[0][1].exact_upto if curves else 0
    note = f"Exact up to {exact:,} guesses (enumerated), estimated beyond (sampled ranks)."
    return Section("chart", title, data, note if exact else "")


def confusion_grid(c: Any) -> Section:
    """The confusion matrix (classify.Confusion) as squares: rows gold, columns predicted."""
    m = c.matrix.tolist()
    gold, predicted = list(c.labels), [*c.labels, "none"]
    top = max((v for row in m for v in row), default=1) or 1
    size = 56  # SVG units per cell
    cells = [
        (j * size, i * size, v, _blues(v / top), v / top > 0.5)
        for i, row in enumerate(m)
        for j, v in enumerate(row)
    ]
    data = {"gold": gold, "predicted": predicted, "cells": cells, "size": size}
    return Section("grid", "Confusion matrix", data, "rows: gold label, columns: predicted label")
