"""`ngramkit export MODEL --format arpa -o FILE`: write a model for other tools."""

from __future__ import annotations

import click

from ..errors import ArpaError
from .common import console, emit_json, load_model


@click.command("export")
@click.argument("model_path", metavar="MODEL")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["arpa"]),
    default="arpa",
    show_default=True,
    help="File format (ARPA: KenLM, SRILM).",
)
@click.option("-o", "--output", required=True, metavar="FILE", help="File to write.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
def command(model_path: str, fmt: str, output: str, as_json: bool) -> None:
    """Write a count MODEL as an ARPA back-off file (see docs/smoothing.md)."""
    from ..smoothing import arpa

    model = load_model(model_path).model
    if not hasattr(model, "backoff_tables"):
        raise ArpaError(
            f"{model_path}: backend '{model.name}' has no backoff_tables(), which ARPA export "
            "reads (the count backend has it; see docs/plugins.md, optional hooks)"
        )
    sizes = arpa.save(model, output)
    if as_json:
        emit_json({"model": model_path, "output": output, "format": fmt, "ngrams": sizes})
    else:
        counts = ", ".join(f"{k}-grams {n}" for k, n in enumerate(sizes, 1))
        console().print(f"wrote {output} ({fmt}, order {len(sizes)}): {counts}")
