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
import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .errors import BackendError
from .model import LanguageModel
from .options import Option
from .results import Metrics, impossible_total

GROUP = "ngramkit.backends"
HOME = "ngramkit"
RULE = "ngramkit's own backends win, then the distribution whose name sorts first"


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
        text = getattr(self.cls, "description", "") or ""
        return text.strip().splitlines()[0] if text.strip() else ""

    @property
    def class_path(self) -> str:
        return self.value.replace(":", ".")

    @property
    def status(self) -> str:
        return "ok" if self.ok else "broken"

    def to_json(self) -> dict[str, Any]:
        """The entry as `ngramkit backends --json` shows it."""
        return {
            "name": self.name,
            "class": self.class_path,
            "distribution": self.distribution,
            "version": self.version,
            "description": self.description,
            "status": self.status,
            "error": self.error,
            "shadows": [
                {"class": s.class_path, "distribution": s.distribution, "version": s.version}
                for s in self.shadows
            ],
        }

    def conflict(self) -> str | None:
        """A warning when other distributions also claim this name, else None."""
        if not self.shadows:
            return None
        others = ", ".join(f"{s.distribution} {s.version}" for s in self.shadows)
        return (
            f"backend '{self.name}' is provided by {self.distribution} {self.version} and by "
            f"{others}; using {self.distribution} ({RULE})"
        )


def _load(ep: md.EntryPoint) -> BackendEntry:
    dist = getattr(ep, "dist", None)
    entry = BackendEntry(
        ep.name,
        ep.value,
        dist.metadata["Name"] if dist is not None else "?",
        dist.version if dist is not None else "?",
    )
    try:
        obj = ep.load()
    except (Exception, SystemExit) as e:  # a plugin's import error must not break the host
        entry.error = f"import failed: {type(e).__name__}: {e}".splitlines()[0]
        return entry
    if not (isinstance(obj, type) and issubclass(obj, LanguageModel)):
        entry.error = f"{ep.value} is not a LanguageModel subclass"
        return entry
    if inspect.isabstract(obj):
        missing = ", ".join(sorted(getattr(obj, "__abstractmethods__", ())))
        entry.error = f"{ep.value} is abstract: it does not implement {missing}"
        return entry
    problem = declaration_error(ep.name, obj)
    if problem is not None:
        entry.error = f"{ep.value}: {problem}"
        return entry
    entry.cls = obj
    return entry


def declaration_error(registered: str, cls: type) -> str | None:
    """A plugin author's mistake in what backend class `cls` declares, or None.

    The class's `name` must be the entry point's (a model file records the
    name, and loading looks the backend up by it), and every option must be a
    valid declaration (see Option.declaration_error), declared once, with
    `order` an int. Such a backend is listed as broken: the CLI, which builds
    flags from every backend's options, keeps working for the others.
    """
    if getattr(cls, "name", None) != registered:
        return (
            f"the class sets name = {getattr(cls, 'name', None)!r} but its entry point is "
            f"named '{registered}'; make the two agree"
        )
    options = getattr(cls, "options", ())
    if not isinstance(options, (tuple, list)):
        return "options must be a tuple of Option declarations"
    seen: set[str] = set()
    for opt in options:
        if not isinstance(opt, Option):
            return f"options holds {opt!r}, which is not an ngramkit Option"
        problem = opt.declaration_error()
        if problem is None and opt.name in seen:
            problem = f"option '{opt.name}' is declared twice"
        if problem is None and opt.name == "order" and opt.type is not int:
            problem = f"option 'order' is declared {opt.type.__name__}; it must be int"
        if problem is not None:
            return problem
        seen.add(opt.name)
    return None


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
        # Keep every loser on the winner, also those the loser had beaten before.
        win.shadows.extend([lose, *lose.shadows])
        win.shadows.sort(key=_rank)
        lose.shadows = []
        found[entry.name] = win
    return dict(sorted(found.items()))


@lru_cache(maxsize=1)
def installed() -> dict[str, BackendEntry]:
    """The installed backends, discovered once per process."""
    return discover()


def built_in_names() -> set[str]:
    """Names of ngramkit's own backends, read from its entry points without importing them
    (a plugin of such a name is shadowed: see the module docstring)."""
    eps = md.entry_points(group=GROUP)
    return {ep.name for ep in eps if getattr(ep.dist, "name", None) == HOME}


def get(name: str, backends: dict[str, BackendEntry] | None = None) -> type:
    """The LanguageModel subclass registered as `name`; BackendError if none works."""
    backends = installed() if backends is None else backends
    entry = backends.get(name)
    if entry is None:
        names = ", ".join(n for n, e in backends.items() if e.ok) or "none"
        raise BackendError(
            f"unknown backend '{name}' (installed: {names}; see `ngramkit backends`)"
        )
    if entry.cls is None:
        raise BackendError(
            f"backend '{name}' from {entry.distribution} {entry.version} is broken: {entry.error}"
        )
    return entry.cls


def check_logprobs(backend: type, totals: Iterable[tuple[str, Metrics | None]]) -> None:
    """One clear line (BackendError) naming the backend and its distribution when a
    total shows log-probabilities above 0 (the rule: results.impossible_total)."""
    found = impossible_total(totals)
    if found is None:
        return
    label, m = found
    name = getattr(backend, "name", backend.__name__)
    dist, version = provider(backend)
    raise BackendError(
        f"backend '{name}' from {dist} {version} gives log-probabilities above 0 "
        f"(NLL {m.nll:.4f} nats/token, perplexity {m.perplexity:.4g} < 1, on {label}): "
        "next_logprobs must return natural-log probabilities, every row's logsumexp 0; "
        "fix the backend to return log p (e.g. logits.log_softmax(dim=1)), "
        "not p, and run its conformance kit (ngramkit.testing)"
    )


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
