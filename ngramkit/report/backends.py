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

if TYPE_CHECKING:
    from ..registry import BackendEntry


def _status(entry: BackendEntry) -> Text:
    if entry.ok:
        return Text("ok", style="green")
    return Text(f"broken: {entry.error}", style="red")


def backends_table(entries: Iterable[BackendEntry]) -> Table:
    """Rows of name, class, distribution, version, description, status."""
    table = Table(title="Backends (entry points in group ngramkit.backends)", title_justify="left")
    table.add_column("name", style="bold")
    table.add_column("class", overflow="fold")
    table.add_column("distribution", no_wrap=True)
    table.add_column("version", no_wrap=True)
    table.add_column("description")
    table.add_column("status")
    for entry in entries:
        table.add_row(
            entry.name,
            entry.class_path,
            entry.distribution,
            entry.version,
            entry.description,
            _status(entry),
        )
        for loser in entry.shadows:
            table.add_row(
                "",
                Text(loser.class_path, style="dim"),
                Text(loser.distribution, style="dim"),
                Text(loser.version, style="dim"),
                Text(f"shadowed by {entry.distribution}", style="dim"),
                _status(loser),
            )
    return table
