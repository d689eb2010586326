"""The `compare` report: models side by side, the verdict, the disagreements. No I/O."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..errors import visible
from .evaluation import item_text
from .tables import key_table, natural_width, num, simple_table

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

    from ..compare import CompareResult, Comparison, Difference
    from ..model import LanguageModel


def models_table(cmp: Comparison, models: Sequence[LanguageModel], labels: Sequence[str]) -> Table:
    """One row per model: its own NLL and the NLL on the items all models score."""
    table = simple_table("Models")
    table.padding = (0, 1, 0, 0)  # nine columns: two cells between them, not three
    table.add_column("model", no_wrap=True)
    table.add_column("backend\norder", no_wrap=True)
    for header in (
        "OOV",
        "p=0",
        "tokens",
        "NLL\nnats/tok",
        "ppl",
        "bits\n/tok",
        "shared\nnats/tok",
    ):
        table.add_column(header, justify="right", no_wrap=True)
    for k, (label, model) in enumerate(zip(labels, models)):
        own, shared = cmp.metrics(k), cmp.metrics(k, shared_only=True)
        table.add_row(
            Text(label),
            f"{model.name} {model.order}",
            f"{int(cmp.oov[k].sum()):,}",
            f"{cmp.zero_probability(k):,}",
            f"{own.tokens:,}",
            num(own.nll),
            num(own.perplexity, 2),
            num(own.bits, 3),
            num(shared.nll),
        )
    return table


def differences_table(cmp: Comparison, diffs: Sequence[Difference], labels: Sequence[str]) -> Table:
    """Each model against the first: ΔNLL, its CI, share of resamples better."""
    d0 = diffs[0] if diffs else None
    level = f"{d0.level:.0%} CI" if d0 else "CI"
    resamples = d0.resamples if d0 else 0
    table = simple_table(escape(f"Against {labels[0]} (paired bootstrap, {resamples:,} resamples)"))
    table.add_column("model", overflow="fold")
    table.add_column("ΔNLL\nnats/tok", justify="right")
    table.add_column(level, justify="right")
    table.add_column("resamples\nbetter", justify="right")
    for k, d in enumerate(diffs, 1):
        style = "green" if d.high < 0 else "red" if d.low > 0 else "yellow"
        table.add_row(
            Text(labels[k]),
            Text(f"{d.delta:+.4f}", style=style),
            f"[{d.low:+.4f}, {d.high:+.4f}]",
            f"{d.better:.1%}",
        )
    return table


def disagreements_table(
    cmp: Comparison, k: int, rows: Sequence[int], labels: Sequence[str]
) -> Table:
    """Shared items where model k and the baseline differ most (per-item NLL)."""
    a, b = cmp.item_nll(0), cmp.item_nll(k)
    table = simple_table()
    table.add_column("item", overflow="fold")
    table.add_column(Text(f"NLL {labels[0]}"), justify="right", overflow="fold")
    table.add_column(Text(f"NLL {labels[k]}"), justify="right", overflow="fold")
    table.add_column("Δ nats/tok", justify="right")
    for i in rows:
        delta = float(b[i] - a[i])
        table.add_row(
            item_text(cmp.items[i]),
            num(float(a[i])),
            num(float(b[i])),
            Text(f"{delta:+.4f}", style="green" if delta < 0 else "red"),
        )
    return table


class CompareReport:
    """Models, then each against the first with its verdict, then the disagreements.

    Rows name their model; when the names do not fit beside the figures at the
    console's width, a key lists them in full and the tables say #1, #2, ...
    Every name, the list's path and the verdicts pass through errors.visible: a
    path holding ESC shows it as \\x1b and never drives the terminal.
    """

    def __init__(self, result: CompareResult) -> None:
        self.result = result

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        result, cmp = self.result, self.result.scores
        names = [visible(n) for n in cmp.names]
        labels: list[str] = list(names)
        keyed = natural_width(console, options, models_table(cmp, result.models, labels))
        keyed_rows = keyed > options.max_width
        if keyed_rows:
            labels = [f"#{k}" for k in range(1, len(labels) + 1)]
        shared = int(cmp.shared.sum())
        yield Text(
            f"{len(cmp.items):,} items of {visible(result.source)}; {shared:,} scored by "
            "every model (differences use those)",
            style="dim",
        )
        if keyed_rows:
            yield Text("Models (numbered in the tables below)")
            yield key_table(names)
        yield models_table(cmp, result.models, labels)
        if result.differences:
            yield differences_table(cmp, result.differences, labels)
            yield from (Text(visible(v), style="bold") for v in result.verdicts)
        for k, rows in enumerate(result.disagreements, 1):
            if rows:  # the title in full names, outside the table: it wraps at spaces only
                yield Text(f"Largest disagreements: {names[k]} vs {names[0]}")
                yield disagreements_table(cmp, k, rows, labels)


def compare_report(result: CompareResult) -> RenderableType:
    """The `compare` report as one renderable (see CompareReport)."""
    return CompareReport(result)
