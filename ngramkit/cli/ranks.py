"""`eval --rank`: each item's guess number and the list's coverage curve."""

from __future__ import annotations

import sys
from typing import Any

from .common import console, emit_json


def show_ranks(model: Any, wordlists: tuple[str, ...], fmt: str, samples: int) -> None:
    """Rank every item of the lists (table, json, or tsv/csv/jsonl rows)."""
    import json

    from ..guessing import list_coverage
    from ..reader import read_items
    from ..report.generation import coverage_table, rank_table

    items = [s for path in wordlists for s in read_items(path).items]
    ranks, cov = list_coverage(model, items, samples)
    if fmt == "json":
        emit_json({"ranks": [r.to_json() for r in ranks], "coverage": cov.to_json()})
    elif fmt == "table":
        con = console()
        con.print(rank_table(ranks[:1000], f"ranks of {len(ranks):,} items ({samples:,} samples)"))
        con.print(coverage_table(cov))
    elif fmt == "jsonl":
        for r in ranks:
            sys.stdout.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
    else:
        sep = "\t" if fmt == "tsv" else ","
        sys.stdout.write(sep.join(("item", "logprob", "rank", "low", "high", "exact")) + "\n")
        for r in ranks:
            cells = (r.item, r.logprob, r.rank, r.low, r.high, str(r.exact).lower())
            sys.stdout.write(sep.join("" if c is None else str(c) for c in cells) + "\n")
