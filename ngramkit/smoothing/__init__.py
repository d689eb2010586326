"""Smoothing for the count backend: count -> merge -> estimate.

`--smooth` takes a number (add-k, the lecture's fake counts) or a method:

- kn: interpolated Kneser-Ney, one discount per order;
- mkn: modified Kneser-Ney, three discounts per order (Chen & Goodman 1998);
- wb: interpolated Witten-Bell;
- abs: interpolated absolute discounting;
- auto: add-k with k tuned on a dev split cut from the training items.

The interpolated methods (methods.py) estimate from a `NgramCounts` table
(levels.py), with discounts estimated from count-of-counts, given, or tuned
(discounts.py, tune.py), into backoff tables (backoff.py) that score with a
few searchsorted calls per batch and write straight to ARPA (arpa.py).
"""

from __future__ import annotations

from typing import Any

from .methods import METHODS, Method

ADDK_AUTO = "auto"
IMPORTED = "arpa"
"""`smooth` of a model read from an ARPA file (its probabilities are given)."""

SMOOTH_NAMES = (*METHODS, ADDK_AUTO)


def parse_smooth(value: Any) -> float | str:
    """A number >= 0 (add-k) or a method name: parse_smooth("kn") == "kn"."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number >= 0 or one of {', '.join(SMOOTH_NAMES)}")
    if isinstance(value, (int, float)):
        k = float(value)
    else:
        text = str(value).strip().lower()
        if text in SMOOTH_NAMES or text == IMPORTED:
            return text
        try:
            k = float(text)
        except ValueError:
            raise ValueError(
                f"must be a number >= 0 (add-k) or one of {', '.join(SMOOTH_NAMES)}, got {value!r}"
            ) from None
    if not k >= 0 or k == float("inf"):
        raise ValueError(f"add-k needs a finite number >= 0, got {value!r}")
    return k


def parse_discounts(value: Any) -> list[float] | None:
    """'0.5,1,1.5' or [0.5, 1, 1.5] -> [0.5, 1.0, 1.5]; '' -> None (estimate)."""
    from .discounts import parse

    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)]
    if isinstance(value, (list, tuple)):
        return [float(v) for v in value]
    out = list(parse(str(value)))
    return out or None


def method(name: str) -> Method:
    return METHODS[name]
