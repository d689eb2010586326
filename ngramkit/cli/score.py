"""`ngramkit score MODEL ITEM...`: per-token breakdown of items."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from ..registry import check_logprobs
from ..report.breakdown import breakdown_report
from ..results import Metrics
from .common import TABLE_ROWS, check_export, emit_json, export_option, load_model, print_report


@click.command("score")
@click.argument("model_path", metavar="MODEL")
@click.argument("items", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per item (a list).")
@export_option
def command(model_path: str, items: tuple[str, ...], as_json: bool, export: str | None) -> None:
    """Show each predicted token of ITEM: context, probability, log p, surprisal.

    The item is printed colored by surprisal (green: expected, red: odd), and
    its oddest spot is named: "andrejq" under the names bigram points at "jq".
    The table shows an item's first 1,000 tokens; --json gives every one.
    """
    from ..evaluate import breakdown

    check_export(export, as_json)
    model = load_model(model_path).model
    results = [breakdown(model, item) for item in items]
    check_logprobs(type(model), [(b.item, Metrics(len(b.tokens), b.logprob)) for b in results])
    if as_json:
        # One object always: DESIGN's keys for one item, {"items": [...]} for several.
        out = [b.to_json() for b in results]
        emit_json(out[0] if len(out) == 1 else {"items": out})
        return
    separator = model.require_fitted().separator
    print_report(export, *(breakdown_report(b, separator, TABLE_ROWS) for b in results))
    for b in results:  # a word list given where items go: say which command reads it
        if b.unknown and Path(b.item).is_file():
            command = f"ngramkit eval {shlex.quote(model_path)} {shlex.quote(b.item)}"
            click.echo(f"note: {b.item} is a file; `{command}` scores its lines", err=True)
