"""`ngramkit score MODEL ITEM...`: per-token breakdown of items."""

from __future__ import annotations

import math
from typing import Any

import click

from .common import check_export, emit_json, export_option, load_model, report_console, save_export


def _json(item: str, tokens: list[Any]) -> dict[str, Any]:
    from ..evaluate import finite_or_none

    total = sum(t.logprob for t in tokens)
    out: dict[str, Any] = {
        "item": item,
        "tokens": [
            {
                "context": t.context,
                "token": t.token,
                "prob": t.prob,
                "logprob": finite_or_none(t.logprob),
                "surprisal_bits": finite_or_none(t.surprisal_bits),
            }
            for t in tokens
        ],
        "logprob": finite_or_none(total),
        "nll": finite_or_none(-total / len(tokens)),
    }
    if not math.isfinite(total):
        out["reason"] = "a token has probability 0 under this model"
    return out


@click.command("score")
@click.argument("model_path", metavar="MODEL")
@click.argument("items", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per item (a list).")
@export_option
def command(model_path: str, items: tuple[str, ...], as_json: bool, export: str | None) -> None:
    """Show each predicted token of ITEM: context, probability, log p, surprisal.

    The item is printed colored by surprisal (green: expected, red: odd), and
    its oddest spot is named: "andrejq" under the names bigram points at "jq".
    """
    from rich.console import Group
    from rich.text import Text

    from ..evaluate import token_breakdown
    from ..report import score_table
    from ..report.breakdown import oddest_line

    check_export(export, as_json)
    model = load_model(model_path).model
    vocab = model.require_fitted()
    out = []
    con = report_console(export)
    for item in items:
        unknown = vocab.unknown(item)
        if unknown:
            reason = f"symbols outside the model's vocabulary: {' '.join(unknown)}"
            if as_json:
                out.append(
                    {
                        "item": item,
                        "oov": True,
                        "unknown": unknown,
                        "tokens": [],
                        "logprob": None,
                        "reason": reason,
                    }
                )
            else:
                con.print(Text.assemble((item, "bold"), f": OOV, {reason}"))
            continue
        tokens = token_breakdown(model, item)
        if as_json:
            out.append(_json(item, tokens))
        else:
            con.print(
                Group(
                    score_table(item, tokens, vocab.separator), oddest_line(tokens, vocab.separator)
                )
            )
    if as_json:
        # One object always: DESIGN's keys for one item, {"items": [...]} for several.
        emit_json(out[0] if len(out) == 1 else {"items": out})
    else:
        save_export(con, export)
