"""`ngramkit compare MODEL... --on WORDLIST`: models side by side on one list."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import visible
from ..options import MAX_RESAMPLES
from ..report.compare import compare_report
from .common import check_export, emit_json, export_option, load_model, print_report


def model_names(paths: tuple[str, ...]) -> list[str]:
    """File stems, or the paths themselves when two stems coincide."""
    stems = [Path(p).stem for p in paths]
    return stems if len(set(stems)) == len(stems) else list(paths)


@click.command("compare")
@click.argument("model_paths", nargs=-1, required=True, metavar="MODEL...")
@click.option("--on", "wordlist", required=True, metavar="WORDLIST", help="Items to score.")
@click.option(
    "--bootstrap",
    "resamples",
    type=click.IntRange(0, MAX_RESAMPLES),
    default=1000,
    show_default=True,
    help=f"Paired bootstrap resamples (0: no interval; at most {MAX_RESAMPLES:,}).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Largest per-item disagreements shown.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@export_option
def command(
    model_paths: tuple[str, ...],
    wordlist: str,
    resamples: int,
    seed: int,
    top: int,
    as_json: bool,
    export: str | None,
) -> None:
    """Score WORDLIST under each MODEL; differences are against the first MODEL.

    Shows each model's NLL, perplexity, bits and OOV count, the NLL difference
    on the items every model scores with a paired bootstrap confidence
    interval, and the items where the models disagree most.
    """
    from ..compare import compare
    from ..reader import read_items
    from ..registry import check_logprobs

    check_export(export, as_json)
    models = [load_model(p).model for p in model_paths]
    words = read_items(wordlist)
    names = model_names(model_paths)
    result = compare(
        models, names, words.items, words.source, resamples=resamples, seed=seed, top=top
    )
    for k, model in enumerate(models):
        check_logprobs(type(model), [(f"{words.source} ({names[k]})", result.scores.metrics(k))])
    if as_json:
        emit_json(result.to_json())
    else:
        print_report(export, compare_report(result))
    for line in result.notes():  # exit 0 with the rows, as eval does for an all-OOV list
        click.echo(visible(line), err=True)
