"""`ngramkit sample MODEL`: draw items with the lecture's seeded procedure."""

from __future__ import annotations

import sys

import click

from ..options import LECTURE_SEED, MAX_SEED
from ..report import samples_table
from .common import TABLE_ROWS, console, emit_json, finite, load_model

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
@click.option("--prefix", default="", help="Every item starts with this text.")
@click.option(
    "--max-len",
    type=click.IntRange(min=1),
    default=None,
    help="Cut items after this many drawn symbols [default: 256].",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table (the first 1,000 items, marked new or seen in training), plain "
    "(every item, one a line: a word list, e.g. > list.txt) or json.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def command(
    model_path: str,
    count: int,
    seed: int,
    temperature: float,
    prefix: str,
    max_len: int | None,
    fmt: str,
    as_json: bool,
) -> None:
    """Draw items from MODEL; the same seed gives the same items."""
    fmt = "json" if as_json else fmt
    model = load_model(model_path).model
    drawn = model.sample(count, seed=seed, temperature=temperature, prefix=prefix, max_len=max_len)
    if fmt == "json":
        emit_json({"samples": drawn, "seed": seed})
    elif fmt == "plain":
        write_lines(drawn)
    else:
        seen = model.training.seen if model.training else None
        rows = [(s, None if seen is None else s in seen) for s in drawn[:TABLE_ROWS]]
        title = f"{count} samples, seed {seed}"
        console().print(samples_table(rows, title=title, total=count))


def write_lines(items: list[str]) -> None:
    """Every item on its own line of stdout, as drawn (a word list; an empty item is an
    empty line, which word lists skip)."""
    out = sys.stdout
    for start in range(0, len(items), 10_000):  # a few large writes, not one per item
        out.write("".join(s + "\n" for s in items[start : start + 10_000]))
    out.flush()
