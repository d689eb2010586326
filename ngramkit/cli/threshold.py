"""`ngramkit threshold MODEL --real real.txt [--bad bad.txt] --fpr 0.01`: calibrate a cut.

The threshold is saved next to the model (MODEL.threshold.json, atomically)
for `ngramkit eval MODEL LIST --flag`; nothing is written when anything fails.
"""

from __future__ import annotations

from typing import Any

import click

from .common import check_html, emit_json, html_option, load_model, write_html

SCORE_HELP = (
    "logprob: total log p; nll: NLL per token (flag above); adjusted: log p minus the "
    "log p expected at the item's length (least-squares line over the real items)."
)


@click.command("threshold")
@click.argument("model_path", metavar="MODEL")
@click.option(
    "--real",
    "real_path",
    required=True,
    metavar="LIST",
    help="Real items: the false-positive rate is measured on them.",
)
@click.option(
    "--bad",
    "bad_path",
    default=None,
    metavar="LIST",
    help="Bad items: the true-positive rate, the ROC curve and AUCs.",
)
@click.option(
    "--fpr",
    type=float,
    default=0.01,
    show_default=True,
    help="False-positive rate to calibrate to, in (0, 1).",
)
@click.option(
    "--score",
    type=click.Choice(["logprob", "nll", "adjusted"]),
    default=None,
    help=f"{SCORE_HELP} [default: nll, the best measured]",
)
@click.option(
    "-o",
    "--output",
    default=None,
    metavar="FILE",
    help="Where to save the threshold [default: MODEL.threshold.json].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--hist", is_flag=True, help="Also show a histogram of the real items' scores.")
@html_option
def command(
    model_path: str,
    real_path: str,
    bad_path: str | None,
    fpr: float,
    score: str | None,
    output: str | None,
    as_json: bool,
    hist: bool,
    html_path: str | None,
) -> None:
    """Find the score threshold that flags --fpr of the real items, and save it.

    Needs at least ceil(3 / fpr) real items (300 for 0.01). With --bad, also
    reports how many bad items it flags (TPR), every score's AUC and the ROC.
    """
    from .. import threshold as th
    from ..evaluate import score_batch
    from ..reader import read_items
    from ..registry import check_logprobs

    th.check_fpr(fpr)
    check_html(html_path)
    loaded = load_model(model_path)
    real = score_batch(loaded.model, read_items(real_path).items)
    bad = score_batch(loaded.model, read_items(bad_path).items) if bad_path else None
    check_logprobs(type(loaded.model), [(real_path, real.metrics())])
    check_logprobs(type(loaded.model), [(bad_path or "", bad.metrics() if bad else None)])
    sha = str(loaded.header.get("header_sha256", ""))
    result = th.calibration(real, bad, fpr, score or th.DEFAULT_SCORE, sha)
    path = th.save(result.threshold, output or th.sidecar(model_path))
    values = _real_scores(real, result) if hist or html_path else None
    if html_path is not None:
        from ..report.pages import threshold_page

        write_html(html_path, threshold_page(result, values, model_path))
    if as_json:
        emit_json({**result.to_json(), "saved": str(path)})
        return
    from ..report.decide import threshold_report
    from .common import console, print_report

    print_report(None, *threshold_report(result, values if hist else None))
    console(stderr=True).print(f"[dim]threshold saved to[/dim] {path}")


def _real_scores(real: Any, result: Any) -> list[float]:
    """The scored real items' values of the chosen score, in its own units."""
    from .. import threshold as th

    t = result.threshold
    s = th.scores(real, t.score, t.fit)[~real.oov]
    return [th.shown(t.score, x) for x in s.tolist()]
