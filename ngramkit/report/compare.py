"""The `compare` report: models side by side, the verdict, the disagreements. No I/O."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .evaluation import item_text
from .tables import num, simple_table

if TYPE_CHECKING:
    from ..compare import CompareResult, Comparison, Difference
    from ..model import LanguageModel


def models_table(cmp: Comparison, models: Sequence[LanguageModel]) -> Table:
    """One row per model: its own NLL and the NLL on the items all models score."""
    table = simple_table("Models")
    table.add_column("model", overflow="fold")
    table.add_column("backend", no_wrap=True)
    table.add_column("order", justify="right", no_wrap=True)
    table.add_column("OOV", justify="right", no_wrap=True)
    table.add_column("p=0", justify="right", no_wrap=True)
    table.add_column("tokens", justify="right", no_wrap=True)
    table.add_column("NLL\nnats/tok", justify="right", no_wrap=True)
    table.add_column("ppl", justify="right", no_wrap=True)
    table.add_column("bits\n/tok", justify="right", no_wrap=True)
    table.add_column("NLL shared\nnats/tok", justify="right", no_wrap=True)
    for k, (name, model) in enumerate(zip(cmp.names, models)):
        own, shared = cmp.metrics(k), cmp.metrics(k, shared_only=True)
        table.add_row(
            Text(name),
            model.name,
            str(model.order),
            f"{int(cmp.oov[k].sum()):,}",
            f"{cmp.zero_probability(k):,}",
            f"{own.tokens:,}",
            num(own.nll),
            num(own.perplexity, 2),
            num(own.bits, 3),
            num(shared.nll),
        )
    return table


def differences_table(cmp: Comparison, diffs: Sequence[Difference]) -> Table:
    """Each model against the first: ΔNLL, its CI, share of resamples better."""
    d0 = diffs[0] if diffs else None
    level = f"{d0.level:.0%} CI" if d0 else "CI"
    resamples = d0.resamples if d0 else 0
    table = simple_table(f"Against {cmp.names[0]} (paired bootstrap, {resamples:,} resamples)")
    table.add_column("model", overflow="fold")
    table.add_column("ΔNLL\nnats/tok", justify="right")
    table.add_column(level, justify="right")
    table.add_column("resamples\nbetter", justify="right")
    for k, d in enumerate(diffs, 1):
        style = "green" if d.high < 0 else "red" if d.low > 0 else "yellow"
        table.add_row(
            Text(cmp.names[k]),
            Text(f"{d.delta:+.4f}", style=style),
            f"[{d.low:+.4f}, {d.high:+.4f}]",
            f"{d.better:.1%}",
        )
    return table


def disagreements_table(cmp: Comparison, k: int, rows: Sequence[int]) -> Table:
    """Shared items where model k and the baseline differ most (per-item NLL)."""
    a, b = cmp.item_nll(0), cmp.item_nll(k)
    table = simple_table(f"Largest disagreements: {cmp.names[k]} vs {cmp.names[0]}")
    table.add_column("item", overflow="fold")
    table.add_column(f"NLL {cmp.names[0]}", justify="right", overflow="fold")
    table.add_column(f"NLL {cmp.names[k]}", justify="right", overflow="fold")
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


def compare_report(result: CompareResult) -> RenderableType:
    """Models, then each against the first with its verdict, then the disagreements."""
    cmp = result.scores
    shared = int(cmp.shared.sum())
    head = Text(
        f"{len(cmp.items):,} items of {result.source}; {shared:,} scored by every model "
        "(differences use those)",
        style="dim",
    )
    parts: list[RenderableType] = [head, models_table(cmp, result.models)]
    if result.differences:
        parts.append(differences_table(cmp, result.differences))
        parts += [Text(v, style="bold") for v in result.verdicts]
    for k, rows in enumerate(result.disagreements, 1):
        if rows:
            parts.append(disagreements_table(cmp, k, rows))
    return Group(*parts)
