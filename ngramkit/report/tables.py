"""Rich renderables for ngramkit's reports. No I/O: the CLI prints them.

Every function takes plain result objects (models, results.py's
types) and returns something Rich can render. Units stand in the column
headers: NLL in nats per token, perplexity per token, bits per token.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from ..errors import visible

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions

    from ..model import LanguageModel
    from ..results import Metrics, TokenScore


def num(x: float | None, digits: int = 4) -> str:
    """A number as shown in tables: 'inf' for infinities, '-' for nothing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}f}"


def simple_table(title: str = "") -> Table:
    """The reports' plain table: a left-aligned title, one rule under the header."""
    return Table(title=title or None, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)


def natural_width(console: Console, options: ConsoleOptions, renderable: RenderableType) -> int:
    """Terminal cells `renderable` takes when nothing in it wraps or folds."""
    return Measurement.get(console, options.update_width(10_000), renderable).maximum


def key_table(labels: Sequence[str]) -> Table:
    """The key of numbered rows: '#1  some/long/model-name.ngk', one line each, never cut.

    Reports switch to it when their rows' names do not fit beside the figures
    at the console's width (80 columns in a pipe): the tables then show #1, #2, ...
    """
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for k, label in enumerate(labels, 1):
        table.add_row(f"#{k}", Text(label))
    return table


def kv_table(rows: Iterable[tuple[str, Any]], title: str) -> Table:
    """A titled two-column key/value table; integers get thousands separators."""
    table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        plain_int = isinstance(value, int) and not isinstance(value, bool)
        table.add_row(key, f"{value:,}" if plain_int else Text(visible(str(value))))
    return table


def metrics_table(rows: Sequence[tuple[str, Metrics | None]]) -> Table:
    table = Table(title="Metrics", title_justify="left")
    table.add_column("split")
    table.add_column("tokens", justify="right")
    table.add_column("NLL (nats/token)", justify="right")
    table.add_column("perplexity", justify="right")
    table.add_column("bits/token", justify="right")
    for name, m in rows:
        if m is None:
            continue
        table.add_row(name, f"{m.tokens:,}", num(m.nll), num(m.perplexity, 3), num(m.bits))
    return table


def more_note(shown: int, total: int, what: str, formats: str) -> str:
    """'first 1,000 of 200,000 items shown; --format plain or --json prints every one'."""
    return f"first {shown:,} of {total:,} {what} shown; {formats} prints every one"


def samples_table(
    samples: Sequence[tuple[str, bool | None]], title: str = "Samples", total: int | None = None
) -> RenderableType:
    """Drawn items and whether each was a training item; `total` (when more were drawn
    than `samples` holds) is said on a line under the table."""
    table = Table(  # at least as wide as its title, which would wrap to the table's width
        title=title, title_justify="left", show_header=False, box=None, min_width=len(title)
    )
    if total is not None and total > len(samples):
        note = more_note(len(samples), total, "items", "--format plain or --json")
        return Group(_samples_rows(table, samples), Text(note, style="dim"))
    return _samples_rows(table, samples)


def _samples_rows(table: Table, samples: Sequence[tuple[str, bool | None]]) -> Table:
    """`table` with a row per sample: the item, then 'seen in training', 'new' or ''."""
    table.add_column("sample")
    table.add_column("seen")
    for item, seen in samples:
        mark = (
            Text("seen in training", style="dim")
            if seen
            else Text("new", style="green")
            if seen is False
            else Text("")
        )
        table.add_row(Text(visible(item)) if item else Text("(empty)", style="dim"), mark)
    return table


def model_rows(model: LanguageModel) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [("backend", model.name)]
    rows += [(k, str(v)) for k, v in model.hparams.items()]  # seeds read better without commas
    rows += list(model.summary().items())
    return rows


def surprisal_style(logprob: float) -> str:
    """Color for a token by surprisal: green (expected) .. red (odd) .. reverse red (p=0)."""
    if not math.isfinite(logprob):
        return "bold white on red"
    bits = -logprob / math.log(2)
    if bits < 3:
        return "green"
    if bits < 5:
        return "yellow"
    if bits < 8:
        return "red"
    return "bold red"


def colored_item(tokens: Sequence[TokenScore], separator: str = "") -> Text:
    """The item with each symbol colored by its surprisal; the end token shown last."""
    text = Text()
    for i, t in enumerate(tokens):
        if i and separator:
            text.append(separator)
        text.append(visible(t.token), style=surprisal_style(t.logprob))
    return text


def score_table(
    item: str, tokens: Sequence[TokenScore], separator: str = "", limit: int | None = None
) -> RenderableType:
    """One item's tokens, a row each (the first `limit` of them), and its totals (all)."""
    shown = tokens if limit is None else tokens[:limit]
    title = Text.assemble("score ", colored_item(shown, separator))
    if len(shown) < len(tokens):
        title.append(" …", style="dim")
    # at least as wide as its title, which would wrap (mid-item) to the table's width
    table = Table(title=title, title_justify="left", min_width=title.cell_len)
    table.add_column("context")
    table.add_column("token")
    table.add_column("prob", justify="right")
    table.add_column("log p (nats)", justify="right")
    table.add_column("surprisal (bits)")
    for t in shown:
        bits = t.surprisal_bits
        bar = "█" * min(int(bits) if math.isfinite(bits) else 20, 20)
        table.add_row(
            Text(visible(t.context)),
            Text(visible(t.token)),
            f"{t.prob:.4f}",
            num(t.logprob),
            Text(f"{num(bits, 2):>6} {bar}", style=surprisal_style(t.logprob)),
        )
    total = sum(t.logprob for t in tokens)
    nll = -total / len(tokens)
    foot = Text(
        f"log p = {num(total)} nats   NLL = {num(nll)} nats/token over {len(tokens)} tokens"
    )
    if len(shown) < len(tokens):
        note = Text(more_note(len(shown), len(tokens), "tokens", "--json"), style="dim")
        return Group(table, note, foot)
    return Group(table, foot)
