"""`ngramkit backends`: the installed backends, their packages and status.

Lists every entry point of group "ngramkit.backends". A plugin that fails to
import is shown as broken with its error and breaks nothing else; a name
claimed by two distributions gets a warning on stderr saying which wins.
"""

from __future__ import annotations

import click

from .. import registry
from ..report.backends import backends_table
from .common import console, emit_json


@click.command("backends")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
def command(as_json: bool) -> None:
    """List installed backends: name, class, distribution, version, status."""
    entries = list(registry.installed().values())
    err = console(stderr=True)
    for entry in entries:
        warning = entry.conflict()
        if warning:
            err.print(f"[yellow]warning:[/] {warning}", soft_wrap=True)
    if as_json:
        emit_json({"backends": [e.to_json() for e in entries]})
    else:
        console().print(backends_table(entries))
