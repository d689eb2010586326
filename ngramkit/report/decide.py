"""Reports of decisions: classification, its evaluation, thresholds, ROC. No I/O.

Terminal pictures are plain Text: `histogram` draws a distribution with
Unicode block characters (one row per bin, the bar's length is the count),
`roc_plot` the ROC curve on a small grid of characters ("·" for the chance
diagonal, "█" for the curve), so both survive a pipe and fit 80 columns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ..errors import visible
from .evaluation import item_text
from .html import bin_counts, shared_bins
from .tables import kv_table, num, simple_table

if TYPE_CHECKING:
    from ..classify import Classification, Confusion
    from ..threshold import Calibration

BLOCKS = " ▏▎▍▌▋▊▉█"  # eighths of a cell: bars end at 1/8-cell precision


def histogram(values: Sequence[float], title: str, bins: int = 12, width: int = 40) -> Text:
    """Counts of finite `values` in `bins` equal bins, one bar per bin (Unicode eighths).

    histogram([0, 0, 1], "x", bins=2, width=8): bin [0, 0.5) holds 2 (a full bar
    of 8 cells), [0.5, 1] holds 1 (4 cells).
    """
    text = Text(f"{title}\n", style="bold")
    if not any(math.isfinite(x) for x in values):
        return text.append("(no finite values)\n", style="dim")
    lo, step, counts = bin_counts(values, bins)
    return _bars(text, lo, step, counts, max(counts), width)


def histograms(
    series: Sequence[tuple[str, Sequence[float]]], title: str, bins: int = 12, width: int = 40
) -> Text:
    """One histogram per series on shared bins and one scale (compare's models): bars of
    the same length mean the same count, whatever the model."""
    finite = [x for _, xs in series for x in xs if math.isfinite(x)]
    text = Text(f"{title}\n", style="bold")
    if not finite:
        return text.append("(no finite values)\n", style="dim")
    lo, step, _ = bin_counts(finite, bins)
    counted = [shared_bins(xs, lo, step, bins) for _, xs in series]
    top = max(max(c) for c in counted) or 1
    for (name, _), counts in zip(series, counted):
        text.append(f"{visible(name)}\n", style="italic")
        _bars(text, lo, step, counts, top, width)
    return text


def _bars(text: Text, lo: float, step: float, counts: Sequence[int], top: int, width: int) -> Text:
    """One row per bin: its low edge, a bar of `width` cells at count `top`, the count."""
    for i, c in enumerate(counts):
        eighths = round(8 * width * c / top)
        bar = "█" * (eighths // 8) + (BLOCKS[eighths % 8] if eighths % 8 else "")
        text.append(f"{lo + i * step:>10.3f} ").append(f"{bar:<{width}}", style="cyan")
        text.append(f" {c:,}\n")
    return text


def roc_plot(curve: Sequence[tuple[float, float, float]], size: int = 10) -> Text:
    """The ROC curve (x: FPR, y: TPR, both 0..1) on a size x 2*size grid of characters."""
    w, h = 2 * size, size
    grid = [[" "] * (w + 1) for _ in range(h + 1)]
    for i in range(w + 1):
        grid[h - round(i * h / w)][i] = "·"  # the chance diagonal
    for _, f, t in curve:
        grid[h - round(t * h)][round(f * w)] = "█"
    text = Text("ROC (x: false-positive rate, y: true-positive rate)\n", style="bold")
    for r, row in enumerate(grid):
        label = "1.0 " if r == 0 else ("0.0 " if r == h else "    ")
        text.append(label + "│" + "".join(row) + "\n")
    text.append("    └" + "─" * (w + 1) + "\n")
    text.append("     0.0" + " " * (w - 6) + "1.0\n")
    return text


def classify_table(result: Classification, limit: int) -> Table:
    """One row per item (at most `limit`): label, margin and each model's posterior."""
    table = simple_table("Items" + (f" (first {limit:,})" if len(result.items) > limit else ""))
    table.add_column("item", overflow="fold")
    table.add_column("label")
    table.add_column("margin\nnats", justify="right", no_wrap=True)
    for label in result.labels:
        table.add_column(f"p({label})", justify="right", no_wrap=True)
    post, pred = result.posterior()[:limit].tolist(), result.predicted()[:limit].tolist()
    margin, out = result.margin()[:limit].tolist(), result.out[:limit].tolist()
    for n in range(len(post)):
        label = result.label_of(pred[n])
        cells = [
            Text("OOV" if o else num(p, 3), style="red" if o else "")
            for p, o in zip(post[n], out[n])
        ]
        table.add_row(
            item_text(result.items[n], 24),
            Text(label or "none", style="" if label else "red"),
            num(margin[n], 2),
            *cells,
        )
    return table


def confusion_table(c: Confusion) -> Table:
    """Rows: gold labels; columns: predicted labels and none."""
    table = simple_table("Confusion: gold rows")
    table.add_column("gold")
    for label in (*c.labels, "none"):
        table.add_column(label, justify="right", no_wrap=True)
    for label, row in zip(c.labels, c.matrix.tolist()):
        table.add_row(label, *[f"{x:,}" for x in row])
    return table


def class_table(c: Confusion) -> Table:
    """Per class: precision, recall, F1, support; then accuracy and macro F1."""
    table = simple_table(
        f"Accuracy {c.accuracy:.4f} on {c.total:,} items, macro F1 {num(c.macro_f1())}"
    )
    table.add_column("class")
    for name in ("precision", "recall", "F1", "support"):
        table.add_column(name, justify="right", no_wrap=True)
    for label, s in c.per_class().items():
        table.add_row(
            label, num(s["precision"]), num(s["recall"]), num(s["f1"]), f"{s['support']:,}"
        )
    return table


def classify_report(
    result: Classification, confusion: Confusion | None, limit: int, hist: bool = False
) -> list[RenderableType]:
    """The items table, what each model won and lost, then the evaluation when gold is given."""
    s = result.summary_json()
    wins = "  ".join(f"{k} {v:,}" for k, v in s["per_label"].items())
    outs = "  ".join(f"{k} {v:,}" for k, v in s["out"].items() if v) or "none"
    parts: list[RenderableType] = [
        classify_table(result, limit),
        kv_table(
            [
                ("items", s["items"]),
                ("won", wins),
                ("no label", s["none"]),
                ("model out (OOV)", outs),
            ],
            "Summary",
        ),
    ]
    if hist:
        parts.append(histogram(result.margin().tolist(), "Margins (nats)"))
    if confusion is not None:
        parts += [class_table(confusion), confusion_table(confusion)]
    return parts


def classify_tsv(result: Classification, gold: Sequence[str | None] | None) -> str:
    """Header then one line per item: item, label, margin, p_<label>..., out[, gold]."""
    cols = ["item", "label", "margin", *(f"p_{x}" for x in result.labels), "out"]
    lines = ["\t".join([*cols, "gold"] if gold is not None else cols)]
    for n, row in enumerate(result.rows_json(gold)):
        cells = [row["item"], row["label"] or "", _cell(row["margin"])]
        cells += [_cell(row["posterior"][x]) for x in result.labels]
        cells.append(" ".join(row["out"]))
        if gold is not None:
            cells.append(gold[n] or "")
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def _cell(x: float | None) -> str:
    return "" if x is None else repr(x)


def threshold_report(
    c: Calibration, hist_values: Sequence[float] | None = None
) -> list[RenderableType]:
    """The threshold and its rates, every score's AUC, the ROC plot (with bad items)."""
    t = c.threshold
    parts: list[RenderableType] = [kv_table(threshold_rows(c), "Threshold")]
    if c.aucs:
        table = simple_table("AUC by score")
        table.add_column("score")
        table.add_column("AUC", justify="right")
        for name, a in c.aucs.items():
            table.add_row(name + (" (used)" if name == t.score else ""), num(a))
        parts.append(table)
    if c.curve:
        parts.append(roc_plot(c.curve))
    if hist_values is not None:
        parts.append(histogram(hist_values, f"Real items' {t.score} scores"))
    return parts


def threshold_rows(c: Calibration) -> list[tuple[str, str]]:
    """The threshold's facts: score, value (and which side is flagged), rates."""
    from ..threshold import shown

    t = c.threshold
    word = "above" if t.score == "nll" else "below"
    rows = [
        ("score", t.score),
        ("threshold", f"{num(shown(t.score, t.value))} (flag {word})"),
        ("asked FPR", f"{t.fpr:g}"),
        ("real items", f"{c.real:,} scored, {c.real_oov:,} OOV"),
        ("FPR on them", f"{c.fpr:.4f} ({c.real_flagged:,} flagged)"),
    ]
    if c.aucs is not None:
        rows += [
            ("bad items", f"{c.bad:,} scored, {c.bad_oov:,} OOV"),
            ("TPR on them", f"{c.tpr:.4f} ({c.bad_flagged:,} flagged)"),
        ]
    return rows
