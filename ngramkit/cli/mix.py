"""`ngramkit mix MODEL... --tune-on DEV -o MIX`: one model file mixing saved models."""

from __future__ import annotations

import click

from ..errors import OptionError
from .common import console, emit_json, load_model


def _weights(text: str | None) -> list[float] | None:
    """'0.3,0.7' -> [0.3, 0.7]; OptionError naming what is not a number."""
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise OptionError(f"--weights takes numbers separated by commas, got {text!r}") from None


@click.command("mix")
@click.argument("models", nargs=-1, required=True, metavar="MODEL...")
@click.option("--tune-on", "dev", default=None, metavar="WORDLIST", help="Held-out items.")
@click.option("--weights", default=None, metavar="W1,W2,...", help="Linear weights by hand.")
@click.option(
    "--weighting", type=click.Choice(["linear", "loglinear"]), default="linear", show_default=True
)
@click.option(
    "--buckets",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Weight rows by the context's training count (1: global weights).",
)
@click.option("-o", "--output", default="mix.ngk", show_default=True, metavar="MIX")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def command(
    models: tuple[str, ...],
    dev: str | None,
    weights: str | None,
    weighting: str,
    buckets: int,
    output: str,
    as_json: bool,
) -> None:
    """Mix saved MODELs into one model file, weights fitted on --tune-on items.

    The held-out list must be items the components were not trained on.
    Any command (sample, eval, score, show, compare, classify) takes the result.
    """
    from .. import persist
    from ..mixture import mix
    from ..reader import read_items

    given = _weights(weights)
    if (given is None) == (dev is None):
        raise OptionError("give either --tune-on WORDLIST or --weights W1,W2,...")
    if len(models) < 2:
        raise OptionError("a mixture needs at least two models")
    files = [load_model(p) for p in models]
    items = read_items(dev).items if dev is not None else None
    hparams = {"weighting": weighting, "buckets": 1 if given else buckets}
    m = mix(
        [f.model for f in files],
        items,
        labels=list(models),
        weights=given,
        source=str(dev),
        **hparams,
    )
    persist.save(m, output)
    out = m.to_json()
    if as_json:
        emit_json({"model": output, "order": m.order, **out})
        return
    from ..report.mixture import mix_report

    console().print(mix_report(out, output))
