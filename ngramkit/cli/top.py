"""`ngramkit top MODEL`: the K most probable items, in order, exactly (best.py).

Memory is proportional to K: `top MODEL -n 1000000 --format tsv` holds the
million items once and writes them as they are formatted.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import click

from .common import console, emit_json, format_options, load_model
from .generation import constraint_options, constraints

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
    from ..best import top_items
    from ..report.generation import top_table

    c = constraints(kw)
    model = load_model(model_path).model
    rows = top_items(model, count, c)
    fmt = "json" if as_json else fmt
    if fmt == "json":
        emit_json({"items": [r.to_json() for r in rows], "complete": len(rows) == count})
    elif fmt == "table":
        console().print(top_table(rows, title=f"the {len(rows):,} most probable items"))
    else:
        _write(rows, fmt)
    if len(rows) < count:
        raise click.ClickException(
            f"the model gives only {len(rows):,} items meeting the constraints a probability > 0"
        )


def _write(rows: list[Any], fmt: str) -> None:
    """tsv (with a header) or jsonl rows, one per item."""
    out = sys.stdout
    if fmt == "tsv":
        out.write("\t".join(COLUMNS) + "\n")
    for r in rows:
        if fmt == "jsonl":
            out.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
            continue
        new = "" if r.seen is None else str(not r.seen).lower()
        out.write(f"{r.rank}\t{r.item}\t{r.logprob!r}\t{math.exp(r.logprob)!r}\t{new}\n")
