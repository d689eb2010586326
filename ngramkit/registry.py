"""Backend discovery through the entry-point group "ngramkit.backends".

Built-in backends are registered exactly as third-party plugins are (see
pyproject.toml). A plugin that fails to import, or whose entry point names
something that is not a LanguageModel subclass, is kept as a broken entry
with its error: it never breaks the CLI or the other backends.

When two distributions claim the same name, the rule is: ngramkit's own
backend wins over a plugin; between plugins, the distribution whose name sorts
first wins. The loser is kept in `BackendEntry.shadows` and reported.
"""

from __future__ import annotations

import importlib.metadata as md
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from .errors import BackendError

GROUP = "ngramkit.backends"
HOME = "ngramkit"


@dataclass
class BackendEntry:
    """One installed backend (loaded or broken)."""

    name: str
    value: str  # "module:Class"
    distribution: str
    version: str
    cls: type | None = None
    error: str | None = None
    shadows: list[BackendEntry] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.cls is not None

    @property
    def description(self) -> str:
        return getattr(self.cls, "description", "") or ""

    @property
    def class_path(self) -> str:
        return self.value.replace(":", ".")


def _load(ep: md.EntryPoint) -> BackendEntry:
    from .model import LanguageModel

    dist = getattr(ep, "dist", None)
    entry = BackendEntry(
        ep.name,
        ep.value,
        dist.metadata["Name"] if dist is not None else "?",
        dist.version if dist is not None else "?",
    )
    try:
        obj = ep.load()
    except Exception as e:  # a plugin's import error must not break the host
        entry.error = f"import failed: {type(e).__name__}: {e}".splitlines()[0]
        return entry
    if not (isinstance(obj, type) and issubclass(obj, LanguageModel)):
        entry.error = f"{ep.value} is not a LanguageModel subclass"
        return entry
    entry.cls = obj
    return entry


def _rank(entry: BackendEntry) -> tuple[int, str]:
    return (0 if entry.distribution == HOME else 1, entry.distribution.lower())


def discover(entry_points: Iterable[md.EntryPoint] | None = None) -> dict[str, BackendEntry]:
    """name -> BackendEntry for every backend in `entry_points` (default: installed)."""
    eps = md.entry_points(group=GROUP) if entry_points is None else entry_points
    found: dict[str, BackendEntry] = {}
    for ep in eps:
        entry = _load(ep)
        other = found.get(entry.name)
        if other is None:
            found[entry.name] = entry
            continue
        if other.distribution == entry.distribution and other.value == entry.value:
            continue  # the same distribution seen twice on sys.path
        win, lose = sorted([other, entry], key=_rank)
        win.shadows.append(lose)
        found[entry.name] = win
    return dict(sorted(found.items()))


@lru_cache(maxsize=1)
def installed() -> dict[str, BackendEntry]:
    """The installed backends, discovered once per process."""
    return discover()


def get(name: str, backends: dict[str, BackendEntry] | None = None) -> type:
    """The LanguageModel subclass registered as `name`; BackendError if none works."""
    backends = installed() if backends is None else backends
    entry = backends.get(name)
    if entry is None:
        names = ", ".join(n for n, e in backends.items() if e.ok) or "none"
        raise BackendError(f"unknown backend '{name}' (installed: {names})")
    if entry.cls is None:
        raise BackendError(
            f"backend '{name}' from {entry.distribution} {entry.version} is broken: {entry.error}"
        )
    return entry.cls


def provider(cls: type) -> tuple[str, str]:
    """(distribution, version) that provides backend class `cls`."""
    for entry in installed().values():
        if entry.cls is cls:
            return entry.distribution, entry.version
    module = cls.__module__.split(".")[0]
    try:
        return module, md.version(module)
    except md.PackageNotFoundError:
        return module, "unknown"
