"""`ngramkit top MODEL`: the K most probable items, in order, exactly (best.py).

Memory is proportional to K. The first row is known only when the search is
over (the threshold search finds items out of order, then sorts them), so
nothing can be written before that; then tsv and jsonl rows stream: they are
spelled from the search's compact token tensors and written a chunk at a time,
so `top MODEL -n 1000000 --format tsv` never holds a million row objects. The
table and json hold the rows (one table, one object).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from typing import Any

import click

from .common import console, emit_json, format_options, load_model
from .generation import constraint_options, constraints, note_changes

FORMATS = ("table", "tsv", "jsonl", "json")
COLUMNS = ("rank", "item", "logprob", "prob", "new")


@click.command("top")
@click.argument("model_path", metavar="MODEL")
@click.option(
    "-n",
    "count",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="How many items (K).",
)
@constraint_options
@format_options(FORMATS, "tsv/jsonl: one row per item; json: one object.")
def command(model_path: str, count: int, fmt: str, as_json: bool, **kw: Any) -> None:
    """The COUNT most probable items of MODEL, most probable first.

    Exact: every item not listed is at most as probable as the last one.
    Columns: rank, item, log p (nats), probability, new (not in training).
    """
    from ..best import iter_top_items
    from ..report.generation import top_table

    c = constraints(kw)
    model = load_model(model_path).model
    note_changes(c, model)
    rows = iter_top_items(model, count, c)
    fmt = "json" if as_json else fmt
    if fmt == "json":
        listed = [r.to_json() for r in rows]
        emit_json({"items": listed, "complete": len(listed) == count})
        found = len(listed)
    elif fmt == "table":
        shown = list(rows)
        console().print(top_table(shown, title=f"the {len(shown):,} most probable items"))
        found = len(shown)
    else:
        found = _write(rows, fmt)
    if found < count:
        raise click.ClickException(
            f"the model gives only {found:,} items meeting the constraints a probability > 0"
        )


def _write(rows: Iterator[Any], fmt: str) -> int:
    """tsv (with a header) or jsonl rows, one per item, as they come; how many."""
    out, n = sys.stdout, 0
    if fmt == "tsv":
        out.write("\t".join(COLUMNS) + "\n")
    for r in rows:
        n = r.rank
        if fmt == "jsonl":
            out.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
            continue
        new = "" if r.seen is None else str(not r.seen).lower()
        out.write(f"{r.rank}\t{r.item}\t{r.logprob!r}\t{math.exp(r.logprob)!r}\t{new}\n")
    return n
