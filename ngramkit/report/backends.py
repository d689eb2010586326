"""The table of installed backends shown by `ngramkit backends`. No I/O.

One row per backend name: the class the entry point loads, the distribution
and version that provide it, its one-line description, and its status (ok,
or broken with the reason). Names claimed by several distributions show the
losers in dim rows under the winner.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from .tables import simple_table

if TYPE_CHECKING:
    from ..registry import BackendEntry


def _about(class_path: str, note: tuple[str, str], dim: bool = False) -> Text:
    """The class path on its first line, the description (or what is wrong) under it."""
    text, style = note
    return Text.assemble((class_path, "dim" if dim else ""), "\n", (text, style))


def _status(entry: BackendEntry) -> Text:
    return Text("ok", style="green") if entry.ok else Text("broken", style="red")


def _note(entry: BackendEntry) -> tuple[str, str]:
    """What a row says under its class: the description, or the reason it is broken."""
    return (entry.description, "dim") if entry.ok else (f"broken: {entry.error}", "red")


def backends_table(entries: Iterable[BackendEntry]) -> Table:
    """Rows of name, class (description under it), distribution (version under it), status.

    Only the class column wraps, and only between words: the other columns are
    short and whole, so at 80 columns a class path is never cut mid-word.
    """
    table = simple_table("Backends (entry points in group ngramkit.backends)")
    table.show_lines = True  # a blank line between backends: each takes two or more
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("class / description", overflow="fold")
    table.add_column("distribution\nversion", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for entry in entries:
        table.add_row(
            entry.name,
            _about(entry.class_path, _note(entry)),
            f"{entry.distribution}\n{entry.version}",
            _status(entry),
        )
        for loser in entry.shadows:
            why = f"shadowed by {entry.distribution}" + ("" if loser.ok else f"; {_note(loser)[0]}")
            table.add_row(
                "",
                _about(loser.class_path, (why, "dim"), dim=True),
                Text(f"{loser.distribution}\n{loser.version}", style="dim"),
                _status(loser),
            )
    return table
