"""`ngramkit score MODEL ITEM...`: per-token breakdown of items."""

from __future__ import annotations

import math

import click

from .common import console, emit_json, load_model


@click.command("score")
@click.argument("model_path", metavar="MODEL")
@click.argument("items", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per item (a list).")
def command(model_path: str, items: tuple[str, ...], as_json: bool) -> None:
    """Show each predicted token of ITEM with its probability and log-probability."""
    from ..evaluate import finite_or_none, token_breakdown
    from ..report import score_table

    model = load_model(model_path).model
    vocab = model.require_fitted()
    out = []
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
                console().print(f"[bold]{item}[/bold]: OOV, {reason}", markup=True)
            continue
        tokens = token_breakdown(model, item)
        total = sum(t.logprob for t in tokens)
        if as_json:
            out.append(
                {
                    "item": item,
                    "tokens": [
                        {
                            "context": t.context,
                            "token": t.token,
                            "prob": t.prob,
                            "logprob": finite_or_none(t.logprob),
                        }
                        for t in tokens
                    ],
                    "logprob": finite_or_none(total),
                    **(
                        {}
                        if math.isfinite(total)
                        else {"reason": "a token has probability 0 under this model"}
                    ),
                }
            )
        else:
            console().print(score_table(item, tokens, vocab.separator))
    if as_json:
        emit_json(out[0] if len(out) == 1 else out)
