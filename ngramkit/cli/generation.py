"""The options `sample` and `top` share: constraints on the item, as click options."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..constraints import Constraints


def constraint_options(f: Any) -> Any:
    """--prefix, --suffix, --min-len, --max-len, --new (in order of --help)."""
    f = click.option("--new", is_flag=True, help="Only items not seen in training.")(f)
    f = click.option(
        "--max-len",
        type=click.IntRange(min=1),
        default=None,
        help="Only items of at most this many symbols (prefix included).",
    )(f)
    f = click.option(
        "--min-len",
        type=click.IntRange(min=0),
        default=0,
        help="Only items of at least this many symbols (prefix included).",
    )(f)
    f = click.option("--suffix", default="", help="Every item ends with this text.")(f)
    return click.option("--prefix", default="", help="Every item starts with this text.")(f)


def constraints(kw: dict[str, Any], unique: bool = False) -> Constraints:
    """The Constraints the shared options spell (popped from a command's kwargs)."""
    from ..constraints import Constraints

    return Constraints(
        prefix=kw.pop("prefix"),
        suffix=kw.pop("suffix"),
        min_len=kw.pop("min_len"),
        max_len=kw.pop("max_len"),
        new=kw.pop("new"),
        unique=unique,
    )


def note_changes(c: Constraints, model: Any) -> None:
    """On stderr, one line per affix the model's text rule changes (the run uses the
    normalized text, as the items are normalized)."""
    for line in c.changes(model.require_fitted()):
        click.echo(f"note: {line}", err=True)
