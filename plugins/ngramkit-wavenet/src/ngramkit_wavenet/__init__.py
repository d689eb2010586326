"""ngramkit-wavenet: makemore part 5's hierarchical MLP ("WaveNet") as an ngramkit backend.

Importing the package is cheap (no torch): ngramkit lists installed backends
by importing their entry points, and `ngramkit backends` must stay fast.
"""

from __future__ import annotations

__version__ = "0.1.0"
