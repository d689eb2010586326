"""`ngramkit compare MODEL... --on WORDLIST`: models side by side on one list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .common import (
    check_export,
    emit_json,
    export_option,
    load_model,
    report_console,
    save_export,
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
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Paired bootstrap resamples (0: no interval).",
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
    from ..compare import paired_bootstrap, score_models, verdict
    from ..reader import read_items

    check_export(export, as_json)
    models = [load_model(p).model for p in model_paths]
    words = read_items(wordlist)
    names = model_names(model_paths)
    cmp = score_models(models, names, words.items)
    ks = range(1, len(models))
    diffs = (
        [paired_bootstrap(cmp, k, resamples=resamples, seed=seed) for k in ks] if resamples else []
    )
    verdicts = [verdict(names, k, d) for k, d in zip(ks, diffs)]
    disagreements = [cmp.disagreements(k, top) for k in ks]
    if as_json:
        emit_json(_json(cmp, models, diffs, verdicts, disagreements, words.source))
        return
    from ..report.compare import compare_report

    con = report_console(export)
    con.print(compare_report(cmp, models, diffs, verdicts, disagreements, words.source))
    save_export(con, export)


def _json(
    cmp: Any, models: list[Any], diffs: list[Any], verdicts: list[str], dis: list[Any], source: str
) -> dict[str, Any]:
    from ..compare import finite

    out_models = []
    for k, (name, model) in enumerate(zip(cmp.names, models)):
        own = cmp.metrics(k).to_json()
        out_models.append(
            {
                "name": name,
                "backend": model.name,
                "order": model.order,
                "oov": int(cmp.oov[k].sum()),
                "zero_probability": int((cmp.logprob[k] == float("-inf")).sum()),
                **own,
                "shared": cmp.metrics(k, shared_only=True).to_json(),
            }
        )
    out_diffs = []
    for k, (d, v, rows) in enumerate(
        zip(diffs or [None] * len(dis), verdicts or [""] * len(dis), dis), 1
    ):
        a, b = cmp.item_nll(0), cmp.item_nll(k)
        entry: dict[str, Any] = {"model": cmp.names[k], "baseline": cmp.names[0]}
        if d is not None:
            entry.update(
                {
                    "delta_nll": d.delta,
                    "ci": [d.low, d.high],
                    "level": d.level,
                    "resamples": d.resamples,
                    "share_better": d.better,
                    "verdict": v,
                }
            )
        entry["disagreements"] = [
            {"item": cmp.items[i], "nll_baseline": finite(float(a[i])), "nll": finite(float(b[i]))}
            for i in rows
        ]
        out_diffs.append(entry)
    return {
        "on": source,
        "items": len(cmp.items),
        "shared": int(cmp.shared.sum()),
        "models": out_models,
        "differences": out_diffs,
    }
