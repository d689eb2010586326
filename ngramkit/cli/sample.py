"""`ngramkit sample MODEL`: draw items with the lecture's seeded procedure.

Constraints (--new, --unique, lengths, --suffix) condition the draws by
rejection (generate.py); with none the draws are exactly the lecture's.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ..options import LECTURE_SEED, MAX_SEED
from ..report import samples_table
from .common import TABLE_ROWS, console, emit_json, finite, format_options, load_model
from .generation import constraint_options, constraints, note_changes

FORMATS = ("table", "plain", "json")


@click.command("sample")
@click.argument("model_path", metavar="MODEL")
@click.option(
    "-n",
    "count",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="How many items to draw.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, MAX_SEED),
    default=LECTURE_SEED,
    show_default=True,
    help="Generator seed (the lecture's by default).",
)
@click.option(
    "--temperature",
    type=click.FloatRange(min=0, min_open=True),
    callback=finite,
    default=1.0,
    show_default=True,
    help="Divide log-probabilities by T before drawing.",
)
@click.option("--top-k", type=int, default=None, help="Draw each token among the K most probable.")
@click.option(
    "--top-p", type=float, default=None, help="Draw each token from the nucleus of mass P (0, 1]."
)
@constraint_options
@click.option("--unique", is_flag=True, help="No item twice.")
@click.option(
    "--cut",
    type=click.IntRange(min=1),
    default=None,
    help="Cut items after this many drawn symbols [default: 256].",
)
@click.option(
    "--tries",
    type=click.IntRange(min=1),
    default=None,
    help="Candidates to draw at most under constraints [default: max(10000, 100 n)].",
)
@format_options(
    FORMATS,
    (
        "table (the first 1,000 items, marked new or seen in training), plain "
        "(every item, one a line: a word list, e.g. > list.txt) or json."
    ),
)
def command(model_path: str, count: int, seed: int, fmt: str, as_json: bool, **kw: Any) -> None:
    """Draw items from MODEL; the same seed gives the same items."""
    from ..generate import draw

    fmt = "json" if as_json else fmt
    c = constraints(kw, unique=kw.pop("unique"))
    model = load_model(model_path).model
    note_changes(c, model)
    got = draw(model, count, c, seed=seed, **kw)
    if fmt == "json":
        extra = {"candidates": got.candidates, "complete": got.complete} if c.restricts else {}
        emit_json({"samples": got.items, "seed": seed, **extra})
    elif fmt == "plain":
        write_lines(got.items)
    else:
        seen = model.training.seen if model.training else None
        rows = [(s, None if seen is None else s in seen) for s in got.items[:TABLE_ROWS]]
        title = f"{len(got.items)} samples, seed {seed}"
        console().print(samples_table(rows, title=title, total=len(got.items)))
    if not got.complete:
        raise click.ClickException(got.shortfall(c))


def write_lines(items: list[str]) -> None:
    """Every item on its own line of stdout, as drawn (a word list; an empty item is an
    empty line, which word lists skip)."""
    out = sys.stdout
    for start in range(0, len(items), 10_000):  # a few large writes, not one per item
        out.write("".join(s + "\n" for s in items[start : start + 10_000]))
    out.flush()
