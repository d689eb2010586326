"""The report of `ngramkit fit`: data, model, stages, metrics, samples. No I/O.

One renderable for every fit: from a word list (with its validation split)
or from count tables (counted in shards or read), where the data rows say
how it was counted and a stage table shows where the seconds went.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..errors import visible
from .curve import curve_of
from .tables import kv_table, metrics_table, model_rows, samples_table

if TYPE_CHECKING:
    from ..fitting import CountedStats, DataStats, FitResult


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


def normalization_rows(rule: Any, changed: dict[str, int] | None) -> list[tuple[str, Any]]:
    """The model's text rule and the training items each part changed, as rows."""
    rows: list[tuple[str, Any]] = [("normalization", rule.describe())]
    if changed is not None:
        text = ", ".join(f"{part} {n:,}" for part, n in changed.items())
        rows.append(("train items changed by it", text))
    return rows


def split_rows(d: DataStats) -> list[tuple[str, Any]]:
    """A word list read and split, as (key, value) rows (weight and --dedup when used)."""
    weight = [] if d.weight is None else [("total weight (items counted)", d.weight)]
    kept = "(kept)" if d.dedup is None else "(dropped: --dedup)"
    merged = f" ({d.dedup_merged:,} spellings merged by the rule)" if d.dedup_merged else ""
    dedup = (
        [("distinct items trained on", f"{d.dedup:,} of {d.items:,}{merged}")] if d.dedup else []
    )
    return [
        ("source", d.source),
        ("items read", d.items),
        *weight,
        ("blank lines skipped", d.blank),
        (f"duplicate items {kept}", d.duplicates),
        *dedup,
        ("train / val items", f"{d.train:,} / {d.val:,}"),
        ("val items OOV (not scored)", d.val_oov),
        ("vocabulary (tokens)", d.vocab_size),
        ("predicted train tokens", d.tokens),
        *unk_rows(d),
    ]


def source_files(sources: tuple[str, ...], shown: int = 8) -> str:
    """The files a table was counted from, once each: 'a.txt, b.txt' (shards 'a.txt[0:9]').

    More than `shown` files end in "and N more" (the JSON and the model file keep
    the fingerprint; a report line stays a line).
    """
    files = list(dict.fromkeys(s.rsplit("[", 1)[0] if s.endswith("]") else s for s in sources))
    more = len(files) - shown
    return ", ".join(files[:shown]) + (f", and {more} more" if more > 0 else "")


def unk_rows(d: DataStats) -> list[tuple[str, Any]]:
    """The unknown token's row, when the vocabulary has one."""
    if d.unk_tokens is None:
        return []
    cut = f"symbols seen < {d.min_count} times" if d.min_count > 1 else "no cut-off"
    return [("unknown token (train tokens)", f"{d.unk_tokens:,} ({cut})")]


def counted_rows(d: CountedStats) -> list[tuple[str, Any]]:
    """A merged count table and how it was counted, as (key, value) rows."""
    t = d.table
    weight = [("total weight (items counted)", t.provenance.weight)] if t.provenance.weight else []
    return [
        ("sources", source_files(t.provenance.sources) or "-"),
        ("counted", d.how),
        ("shards", d.shards),
        ("items read", t.provenance.items),
        *weight,
        ("blank lines skipped", t.provenance.blank),
        ("items left out (symbols outside the vocabulary)", t.provenance.oov),
        ("vocabulary (tokens)", len(t.vocab)),
        ("predicted train tokens", t.tokens),
        ("validation", "none: every item is counted (score a held-out file with eval)"),
    ]


def fit_report(result: FitResult) -> RenderableType:
    """The panel `ngramkit fit` prints once the model file is saved."""
    from ..fitting import CountedStats  # at render time: fitting (and torch) are loaded already

    model, d = result.model, result.data
    counted = isinstance(d, CountedStats)
    curve = curve_of(model)  # only backends that keep a loss curve
    rows = counted_rows(d) if counted else split_rows(d)
    rows += normalization_rows(model.require_fitted().normalization, d.normalized)
    parts = [kv_table(rows, "Data"), Text("")]
    parts += [kv_table(model_rows(model), "Model"), Text("")]
    parts += [stage_table(d.stages)] if counted else []
    parts += [curve, Text("")] if curve is not None else []
    parts += [metrics_table([("train", result.train), ("val", result.val)]), Text("")]
    footer = Text.assemble(
        ("saved ", "dim"),
        (visible(str(result.output)), "bold"),
        (f"  ·  {result.seconds:.2f} s", "dim"),
    )
    title = f"ngramkit fit · {model.name} · order {model.order}"
    return Panel(
        Group(*parts, samples_table(result.samples), Text(""), footer),
        title=title + (" · from counts" if counted else ""),
        title_align="left",
    )
