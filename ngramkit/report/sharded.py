"""The report of a fit from count tables (`fit --workers/--dask/--from-counts`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .tables import kv_table, metrics_table, model_rows, samples_table

if TYPE_CHECKING:
    from ..counting import ShardedFit


def stage_table(seconds: dict[str, float]) -> Table:
    """Seconds per stage (symbols, count, merge, estimate) and each one's share."""
    table = Table(title="Stages", title_justify="left")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    table.add_column("share", justify="right")
    total = sum(seconds.values()) or 1.0
    for stage, s in seconds.items():
        table.add_row(stage, f"{s:.2f}", f"{100 * s / total:.0f}%")
    return table


def sharded_fit_report(
    fit: ShardedFit, path: str, how: str, shards: int, seconds: dict[str, float]
) -> RenderableType:
    t = fit.table
    data = kv_table(
        [
            ("counted", how),
            ("shards", shards),
            ("items read", t.items),
            ("blank lines skipped", t.blank),
            ("items left out (symbols outside the vocabulary)", t.oov),
            ("vocabulary (tokens)", len(t.vocab)),
            ("predicted train tokens", t.tokens),
            ("validation", "none: every item is counted (score a held-out file with eval)"),
        ],
        "Data",
    )
    model = kv_table(model_rows(fit.model), "Model")
    metrics = metrics_table([("train", fit.train)])
    samples = samples_table([(s, None) for s in fit.samples])
    footer = Text.assemble(
        ("saved ", "dim"), (path, "bold"), (f"  ·  {sum(seconds.values()):.2f} s", "dim")
    )
    parts = [data, Text(""), model, Text(""), stage_table(seconds), metrics, Text("")]
    return Panel(
        Group(*parts, samples, Text(""), footer),
        title=f"ngramkit fit · {fit.model.name} · order {fit.model.order} · from counts",
        title_align="left",
    )
