"""`ngramkit compare MODEL... --on WORDLIST`: models side by side on one list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import OptionError, visible
from ..options import MAX_RESAMPLES
from ..report.compare import compare_report
from .common import (
    check_export,
    check_html,
    console,
    emit_json,
    export_option,
    html_option,
    load_model,
    print_report,
    rank_samples_option,
    write_html,
)


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
@click.option("--hist", is_flag=True, help="Also show each model's per-item NLL histogram.")
@click.option(
    "--coverage",
    is_flag=True,
    help="Also each model's coverage curve: the share of the list within its first K guesses.",
)
@rank_samples_option("With --coverage, per model")
@click.option(
    "--plot",
    default=None,
    metavar="FILE",
    help="With --coverage: write the curves as a figure (.png or .svg; needs ngramkit[plot]).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@export_option
@html_option
def command(
    model_paths: tuple[str, ...],
    wordlist: str,
    resamples: int,
    seed: int,
    top: int,
    as_json: bool,
    export: str | None,
    html_path: str | None,
    **extra: Any,
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
    check_html(html_path)
    _check_plot(extra["plot"], extra["coverage"])
    models = [load_model(p).model for p in model_paths]
    words = read_items(wordlist)
    names = model_names(model_paths)
    result = compare(
        models, names, words.items, words.source, resamples=resamples, seed=seed, top=top
    )
    for k, model in enumerate(models):
        check_logprobs(type(model), [(f"{words.source} ({names[k]})", result.scores.metrics(k))])
    curves = _coverage(models, names, words.items, extra) if extra["coverage"] else []
    if html_path is not None:
        from ..report.pages import compare_page

        write_html(html_path, compare_page(result, names, curves))
    if as_json:
        cov = {"coverage": {n: c.to_json() for n, c in curves}} if curves else {}
        emit_json(result.to_json() | cov)
    else:
        print_report(
            export, compare_report(result), *_pictures(result, names, curves, extra["hist"])
        )
    for line in result.notes():  # exit 0 with the rows, as eval does for an all-OOV list
        click.echo(visible(line), err=True)


def _check_plot(path: str | None, coverage: bool) -> None:
    """--plot needs --coverage, a .png or .svg name in an existing folder, and matplotlib."""
    if path is None:
        return
    from ..plot import check_figure_path, require_matplotlib

    if not coverage:
        raise OptionError("--plot draws the coverage curves: add --coverage")
    suffix = Path(path).suffix.lower()
    if suffix not in (".png", ".svg"):
        raise OptionError(f"--plot {path}: the file name must end in .png or .svg")
    check_figure_path(path, suffix)
    require_matplotlib()


def _coverage(
    models: list[Any], names: list[str], items: list[str], extra: dict[str, Any]
) -> list[tuple[str, Any]]:
    """Each model's coverage of the list at shared guesses K (powers of ten); the plot."""
    from ..guessing import EXACT_RANKS, RankEstimator, coverage, powers_of_ten

    ranks = [RankEstimator(m, extra["samples"], exact=EXACT_RANKS).ranks(items) for m in models]
    top = max((r.rank for rs in ranks for r in rs if r.rank is not None), default=1)
    guesses = powers_of_ten(top)
    curves = [(n, coverage(rs, guesses, EXACT_RANKS)) for n, rs in zip(names, ranks)]
    if extra["plot"] is not None:
        from ..plot import save_coverage

        save_coverage(curves, extra["plot"])
        console(stderr=True).print(f"[dim]figure saved to[/dim] {extra['plot']}")
    return curves


def _pictures(result: Any, names: list[str], curves: list[Any], hist: bool) -> list[Any]:
    """The terminal's extras: the models' histograms (--hist), the coverage table."""
    from ..report.decide import histograms
    from ..report.generation import coverages_table

    out: list[Any] = []
    if hist:
        series = [(n, result.scores.item_nll(k).tolist()) for k, n in enumerate(names)]
        out.append(histograms(series, "NLL per item (nats/token), each model"))
    if curves:
        out.append(coverages_table(curves))
    return out
