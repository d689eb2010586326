"""The `eval` report: per-file totals and the scored items. No I/O.

Items are shown as plain Text (never Rich markup, so "[red]" in a list is
just text); Rich measures terminal cells, so accents, CJK, emoji and
combining marks stay aligned. A very long item is cut to ITEM_CELLS cells
with its full length noted; the machine formats always carry it whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ..errors import visible
from .tables import key_table, natural_width, num, simple_table

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

    from ..ranking import Selection
    from ..results import ItemScore, Metrics

ITEM_CELLS = 48  # widest item shown in full in the table


def item_text(item: str, limit: int = ITEM_CELLS) -> Text:
    """An item as table text; cut with a note past `limit` terminal cells."""
    text = Text(visible(item))
    if text.cell_len <= limit:
        return text
    text.truncate(limit - 1, overflow="ellipsis")
    text.append(f" ({len(item):,} chars)", style="dim")
    return text


LIST_CELLS = 16  # widest list name shown beside the items; longer names go to a key


def totals_table(
    files: Sequence[Metrics], overall: Metrics | None, labels: Mapping[str, str] | None = None
) -> Table:
    """One row per list (and an overall row when there are several).

    labels: what names each list by source (its file name, or "#1" when a key lists
    the paths); none: the paths.
    """
    names = labels or {f.source: f.source for f in files}
    table = simple_table("Word lists")
    table.add_column("list", no_wrap=True, min_width=8)
    for name in ("items", "OOV", "dupes", "in\ntrain", "tokens"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("NLL\nnats/tok", justify="right", no_wrap=True)
    table.add_column("ppl", justify="right", no_wrap=True)
    table.add_column("bits\n/tok", justify="right", no_wrap=True)
    rows = [*files, overall] if overall is not None and len(files) > 1 else list(files)
    for f in rows:
        all_oov = f.items > 0 and f.scored == 0
        table.add_row(
            Text("all", style="bold") if f is overall else Text(names[f.source]),
            f"{f.items:,}",
            Text(f"{f.oov:,}", style="red" if f.oov else ""),
            f"{f.duplicates:,}",
            f"{f.in_train:,}",
            f"{f.tokens:,}",
            Text("all OOV", style="red") if all_oov else num(f.nll),
            "-" if all_oov else num(f.perplexity, 2),
            "-" if all_oov else num(f.bits, 3),
        )
    return table


def items_table(
    rows: Sequence[ItemScore], title: str = "", labels: Mapping[str, str] | None = None
) -> Table:
    """The scored items: line, item, tokens, log p, NLL, perplexity, marks.

    labels: each list's name by source, shown in a first column (none: one list).
    """
    table = simple_table(title)
    if labels:
        table.add_column("list", style="dim", no_wrap=True)
    table.add_column("line", justify="right", style="dim", no_wrap=True)
    table.add_column("item", overflow="fold", min_width=8)
    table.add_column("tokens", justify="right", no_wrap=True)
    table.add_column("log p\nnats", justify="right", no_wrap=True)
    table.add_column("NLL\nnats/tok", justify="right", no_wrap=True)
    table.add_column("ppl", justify="right", no_wrap=True)
    table.add_column("in\ntrain", no_wrap=True)
    table.add_column("OOV\nsymbols", overflow="fold")
    flags = any(r.flagged is not None for r in rows)  # eval --flag
    if flags:
        table.add_column("flag", no_wrap=True)
    for r in rows:
        cells: list[RenderableType] = [Text(labels[r.source])] if labels else []
        cells += [
            str(r.line or r.index + 1),
            item_text(r.item),
            str(r.tokens),
            "-" if r.oov else num(r.logprob, 3),
            "-" if r.oov else num(r.nll),
            "-" if r.oov else num(r.perplexity, 2),
            "" if r.in_train is None else ("yes" if r.in_train else "no"),
            Text(visible(" ".join(r.unknown)), style="red") if r.oov else "",
        ]
        if flags:
            cells.append(Text("FLAG", style="red") if r.flagged else "")
        table.add_row(*cells)
    return table


def unknown_line(overall: Metrics) -> Text | None:
    """'OOV symbols: É ×50, ü ×30, …' over the whole run, or None."""
    if not overall.unknown:
        return None
    top = overall.unknown.most_common(10)
    more = len(overall.unknown) - len(top)
    text = Text("OOV items hold symbols the model never saw: ", style="dim")
    text.append(", ".join(f"{s!r} ×{n:,}" for s, n in top), style="red")
    if more:
        text.append(f", and {more} more", style="dim")
    return text


def selection_note(shown: Selection, total: int) -> str:
    """'top 5 of 1,000 items by nll' when fewer rows are shown than were scored, else ''."""
    if len(shown.rows) >= total:
        return ""
    if shown.top or shown.bottom:
        what = f"top {shown.top}" if shown.top else f"bottom {shown.bottom}"
        return f"{what} of {total:,} items by {shown.sort}"
    return (
        f"first {len(shown.rows):,} of {total:,} items by {shown.sort}"
        " (use --top/--bottom, or --format tsv for every row)"
    )


class EvalReport:
    """Items table, then the per-list totals, then notes.

    Lists are named by their file names (their paths when two names coincide);
    when a name is too long to sit beside the figures (LIST_CELLS beside the
    items, or the totals table wider than the console), a key lists every path
    in full and the tables say #1, #2, ...
    """

    def __init__(
        self, shown: Selection, files: Sequence[Metrics], overall: Metrics, title: str = ""
    ) -> None:
        self.shown, self.files, self.overall, self.title = shown, files, overall, title

    def _labels(self, console: Console, options: ConsoleOptions) -> dict[str, str] | None:
        """Each list's name in the tables: file names when they are unique, else paths;
        None when those do not fit (then the tables number the lists)."""
        sources = [f.source for f in self.files]
        names = [Path(s).name for s in sources]
        labels = dict(zip(sources, names if len(set(names)) == len(names) else sources))
        wide = natural_width(console, options, totals_table(self.files, self.overall, labels))
        beside_items = len(sources) > 1 and max(map(cell_len, labels.values())) > LIST_CELLS
        return None if wide > options.max_width or beside_items else labels

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        shown, files, overall = self.shown, self.files, self.overall
        sources = [f.source for f in files]
        named = self._labels(console, options)
        keyed = named is None
        labels = named or {s: f"#{k}" for k, s in enumerate(sources, 1)}
        if keyed:
            yield Text("Word lists (numbered in the tables below)")
            yield key_table(sources)
        if shown.rows:
            yield items_table(shown.rows, self.title, labels if len(files) > 1 else None)
        note = selection_note(shown, overall.items)
        if note:
            yield Text(note, style="dim")
        yield totals_table(files, overall, labels)
        oov = unknown_line(overall)
        if oov is not None:
            yield oov
        if overall.unk_tokens:
            n = overall.unk_tokens
            yield Text(f"{n:,} token(s) were unseen symbols, scored as the unknown token", "dim")
        if overall.normalized:
            n = overall.normalized
            text = f"{n:,} item(s) normalized by the model's rule before scoring (shown as given)"
            yield Text(text, style="dim")
        if overall.blank:
            yield Text(f"{overall.blank:,} blank line(s) skipped", style="dim")


def eval_report(
    shown: Selection, files: Sequence[Metrics], overall: Metrics, *, title: str = ""
) -> RenderableType:
    """The `eval` report as one renderable (see EvalReport)."""
    return EvalReport(shown, files, overall, title)
