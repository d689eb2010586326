"""`ngramkit sample MODEL`: draw items with the lecture's seeded procedure."""

from __future__ import annotations

import click

from ..options import LECTURE_SEED, MAX_SEED
from ..report import samples_table
from .common import console, emit_json, finite, load_model


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
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def command(
    model_path: str,
    count: int,
    seed: int,
    temperature: float,
    prefix: str,
    max_len: int | None,
    as_json: bool,
) -> None:
    """Draw items from MODEL; the same seed gives the same items."""
    model = load_model(model_path).model
    drawn = model.sample(count, seed=seed, temperature=temperature, prefix=prefix, max_len=max_len)
    if as_json:
        emit_json({"samples": drawn, "seed": seed})
        return
    seen = model.training.seen if model.training else None
    rows = [(s, None if seen is None else s in seen) for s in drawn]
    console().print(samples_table(rows, title=f"{count} samples, seed {seed}"))
