"""Rich renderables for ngramkit's reports, one concept per module. No I/O.

Every function takes plain result objects and returns something Rich can
render; only the CLI prints. Units stand in column headers.
"""

from __future__ import annotations

from .fit import fit_report
from .tables import samples_table

__all__ = ["fit_report", "samples_table"]
