"""Figures with matplotlib (optional extra `ngramkit[plot]`): the lecture's matrix,
and coverage curves (`compare --coverage --plot`).

The figure is the lecture's: imshow of the matrix in "Blues", each cell
labeled with its bigram (above) and its count or probability (below),
axes off. Written to PNG or SVG by suffix. matplotlib is imported here only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import NgramkitError

if TYPE_CHECKING:
    from .guessing import Coverage
    from .transitions import Matrix


def require_matplotlib() -> None:
    """One clear line when the optional extra is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise NgramkitError(
            "writing a figure needs matplotlib: pip install 'ngramkit[plot]'"
        ) from None


def save_matrix(m: Matrix, path: str) -> None:
    """Write the matrix figure to `path` (.png or .svg)."""
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    V = len(m.tokens)
    vals = m.values.double()
    size = max(4.0, V * 0.6)  # the lecture's 27 tokens -> 16 inches
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(vals.numpy(), cmap="Blues")
    for i in range(V):
        for j in range(V):
            v = float(vals[i, j])
            label = f"{int(v)}" if m.kind == "count" else f"{v:.2f}"
            ax.text(
                j,
                i,
                m.tokens[i] + m.separator + m.tokens[j],
                ha="center",
                va="bottom",
                color="gray",
            )
            ax.text(j, i, label, ha="center", va="top", color="gray")
    ax.axis("off")
    _save(fig, path)


def check_figure_path(path: str, suffix: str) -> None:
    p = Path(path)
    if p.suffix.lower() != suffix:
        raise NgramkitError(f"{path}: the file name must end in {suffix}")
    if not (p.parent if str(p.parent) else Path(".")).is_dir():
        raise NgramkitError(f"{path}: folder {p.parent} does not exist")


def save_coverage(curves: Sequence[tuple[str, Coverage]], path: str) -> None:
    """Coverage curves (guessing.Coverage), one line per model, to `path` (.png or .svg):
    x the guesses K (log scale), y the fraction of the list found within K guesses."""
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, c in curves:
        ax.plot(
            c.guesses, [f / c.items if c.items else 0.0 for f in c.found], marker="o", label=name
        )
    exact = curves[0][1].exact_upto if curves else 0
    if exact:
        ax.axvline(exact, ls="--", color="gray", lw=1, label=f"exact up to {exact:,}")
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("guesses K (enumeration order)")
    ax.set_ylabel("fraction of the list found")
    ax.grid(True, alpha=0.3)
    ax.legend()
    _save(fig, path)


def _save(fig: Any, path: str | Path) -> None:
    """Write `fig` to `path` (its suffix picks PNG or SVG) and close it; a failed
    write is one NgramkitError line."""
    import matplotlib.pyplot as plt

    try:
        fig.savefig(path, bbox_inches="tight")
    except OSError as e:
        raise NgramkitError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        plt.close(fig)
