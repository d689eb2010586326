"""Rich renderables for ngramkit's reports, one concept per module. No I/O.

Every function takes plain result objects and returns something Rich can
render; only the CLI prints. Units stand in column headers.
"""

from __future__ import annotations

from .fit import fit_report
from .tables import (
    colored_item,
    metrics_table,
    model_rows,
    num,
    samples_table,
    score_table,
    surprisal_style,
)

__all__ = [
    "colored_item",
    "fit_report",
    "metrics_table",
    "model_rows",
    "num",
    "samples_table",
    "score_table",
    "surprisal_style",
]
