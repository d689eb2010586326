"""The `mix` report: each component, its weights and held-out NLL, then the mixture's. No I/O."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .tables import num, simple_table

MAX_WEIGHTS = 4  # weight rows shown per component; more are summarized as min..max


def weights_text(weights: list[float]) -> str:
    """'0.7312' for one bucket; '0.50 0.38 0.20 0.17' for a few; 'min..max (B buckets)'."""
    if len(weights) == 1:
        return f"{weights[0]:.4f}"
    if len(weights) <= MAX_WEIGHTS:
        return " ".join(f"{w:.2f}" for w in weights)
    return f"{min(weights):.2f}..{max(weights):.2f} ({len(weights)} buckets)"


def components_table(mix: dict[str, Any]) -> Table:
    """One row per component (mixture.MixtureLM.to_json's "components"), then the mixture."""
    table = simple_table("Components")
    table.add_column("#", justify="right")
    table.add_column("component", overflow="fold")
    table.add_column("weight", no_wrap=True)
    table.add_column("held-out\nnats/tok", justify="right", no_wrap=True)
    for i, c in enumerate(mix["components"], 1):
        table.add_row(str(i), c["label"], weights_text(c["weights"]), num(c["heldout_nll"]))
    t = mix["tuning"] or {}
    table.add_row("", Text("mixture", style="bold"), mix["weighting"], num(t.get("nll")))
    return table


def mix_report(mix: dict[str, Any], path: str) -> RenderableType:
    """The table and a line saying where the weights came from and where the model went."""
    t = mix["tuning"] or {}
    if t.get("source") == "given":
        how = "weights given by hand"
    else:
        how = (
            f"weights fitted on {t.get('source')}: {t.get('items', 0):,} items, "
            f"{t.get('tokens', 0):,} tokens, {mix['buckets']} context-count bucket(s)"
        )
    return Group(components_table(mix), Text(how), Text(f"saved {path}"))
