"""Hyperparameter declarations: one `Option` per knob, declared once by a backend.

A backend lists its options as a class attribute. From that one declaration the
CLI builds `ngramkit fit` flags, YAML configs are validated, and model files
record the values. This module only describes and validates values; it knows
nothing of click or YAML.

    >>> Option("smooth", float, 1.0, "fake counts", min=0).coerce("2")
    2.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import OptionError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Option:
    """One declared hyperparameter.

    name: python name (`init_seed`); the CLI flag is `--init-seed`.
    type: int, float, str or bool (the type values are coerced to).
    default: value used when the user gives none (None means "not set").
    help: one line for `--help`, with units where there are any.
    min/max: inclusive bounds for numbers; `min_exclusive` makes `min` strict.
    choices: allowed values for str options.
    parse: optional custom parser for values that are not one plain type
        (for example "a number or a method name"); it gets the raw value and
        returns the coerced one or raises ValueError with a message.
    """

    name: str
    type: type
    default: Any
    help: str = ""
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    choices: tuple[str, ...] | None = None
    parse: Callable[[Any], Any] | None = None
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def declaration_error(self) -> str | None:
        """What is wrong with this declaration itself, or None (a plugin author's mistake).

        Checked when the registry loads a backend, so that one bad declaration marks
        that backend broken instead of breaking `ngramkit fit` for every backend:
        Option("alpha", "float", 0.5).declaration_error() names the string type.
        """
        if not (isinstance(self.name, str) and self.name.isidentifier()):
            return f"option name {self.name!r} is not a Python identifier (use letters, _)"
        if self.type not in TYPES:
            names = ", ".join(t.__name__ for t in TYPES)
            return f"option '{self.name}' has type {self.type!r}; declare one of {names}"
        if self.min is not None and self.max is not None and self.min > self.max:
            return f"option '{self.name}' has min {self.min!r} above max {self.max!r}"
        if self.default is None or self.parse is not None:
            return None
        if not _is_type(self.default, self.type):
            return (
                f"option '{self.name}' is declared {self.type.__name__} but its default "
                f"{self.default!r} is a {type(self.default).__name__}"
            )
        try:
            self._check(self.default)
        except OptionError as e:
            return f"option '{self.name}': its default fails its own declaration ({e.cli})"
        return None

    def describe_range(self) -> str:
        """Human text for the allowed values, e.g. '> 0', '0..1', 'gd|adam'."""
        if self.choices:
            return "|".join(self.choices)
        if self.min is not None and self.max is not None and not self.min_exclusive:
            return f"between {self.min:g} and {self.max:g}"
        lo = None if self.min is None else f"{'>' if self.min_exclusive else '>='} {self.min:g}"
        hi = None if self.max is None else f"<= {self.max:g}"
        return ", ".join(x for x in (lo, hi) if x) or self.type.__name__

    def coerce(self, value: Any) -> Any:
        """Turn a CLI string or YAML value into this option's type, then check it."""
        if value is None:
            return None
        if self.parse is not None:
            try:
                return self.parse(value)
            except (TypeError, ValueError) as e:
                raise self._error(f": {e}") from None
        try:
            out = self._convert(value)
        except (TypeError, ValueError):
            kind = {int: "an integer", float: "a number", bool: "true or false"}.get(
                self.type, "a string"
            )
            raise self._error(f" must be {kind}, got {value!r}") from None
        self._check(out)
        return out

    def _error(self, problem: str) -> OptionError:
        """OptionError for '<name><problem>': `order must be ...` for Python callers,
        `--order must be ...` for the command line (OptionError.cli)."""
        return OptionError(f"{self.name}{problem}", cli=f"{self.flag}{problem}")

    def _convert(self, value: Any) -> Any:
        if self.type is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(value)
        if self.type is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(str(value).strip()) if isinstance(value, str) else int(value)
        if self.type is float:
            if isinstance(value, bool):
                raise ValueError(value)
            out = float(value)
            if not math.isfinite(out):  # nan, inf: no hyperparameter means these
                raise ValueError(value)
            return out
        if not isinstance(value, str):
            raise ValueError(value)
        return value

    def stored_error(self, value: Any) -> str | None:
        """What is wrong with `value` as a model file holds it, or None.

        A file holds values as the backend wrote them, so the JSON type must be
        exact (no coercion: the string "yes" is not true, 2.0 is not the integer 2;
        a JSON integer may stand for a float): Option("unk", bool, False)
        .stored_error("yes") says it must be true or false. Ranges are left to the
        constructor, which checks them for every value alike.
        """
        if value is None:
            return None if self.default is None else f"'{self.name}' is null"
        if self.parse is not None:  # stored already parsed: parsing must give it back
            try:
                ok = _same_json(self.parse(value), value)
            except (TypeError, ValueError):
                ok = False
            return None if ok else f"'{self.name}' holds {value!r}, not a value it takes"
        if _is_type(value, self.type) and not (self.type is float and not math.isfinite(value)):
            return None
        kind = {int: "an integer", float: "a number", bool: "true or false"}.get(
            self.type, "a string"
        )
        return f"'{self.name}' must be {kind}, got {value!r}"

    def _check(self, value: Any) -> None:
        if self.choices is not None and value not in self.choices:
            raise self._error(f" must be one of {', '.join(self.choices)}, got {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            too_low = self.min is not None and (
                value <= self.min if self.min_exclusive else value < self.min
            )
            too_high = self.max is not None and value > self.max
            if too_low or too_high:
                raise self._error(f" must be {self.describe_range()}, got {value:g}")


TYPES = (int, float, str, bool)
"""The value types an Option may declare."""


def _is_type(value: Any, kind: type) -> bool:
    """Whether a declared default already is of the declared type (bool is not an int here;
    an int is a float)."""
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def _same_json(a: Any, b: Any) -> bool:
    """Equal as JSON values: a bool is no number, a string no number, numbers compare."""
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (
            isinstance(a, (list, tuple))
            and isinstance(b, (list, tuple))
            and len(a) == len(b)
            and all(map(_same_json, a, b))
        )
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, numbers):
        return type(a) is type(b) and a == b
    return isinstance(b, numbers) and a == b


def check_stored(options: Iterable[Option], values: Mapping[str, Any]) -> None:
    """OptionError naming the first value of `values` (a model file's hyperparameters)
    whose JSON type is not its option's (see Option.stored_error); unknown names are
    left to `resolve`."""
    declared = {o.name: o for o in options}
    for name, value in values.items():
        problem = declared[name].stored_error(value) if name in declared else None
        if problem:
            raise OptionError(problem)


def resolve(options: Iterable[Option], values: Mapping[str, Any], owner: str) -> dict[str, Any]:
    """Defaults overlaid with `values`, every value coerced and checked.

    Unknown names are an error naming the owner (the backend) and what it takes:
    resolve([ORDER], {"order": "3"}, "count") == {"order": 3}.
    """
    declared = {o.name: o for o in options}
    unknown = [k for k in values if k not in declared]
    if unknown:
        flags = ", ".join("--" + k.replace("_", "-") for k in unknown)
        takes = ", ".join(o.flag for o in declared.values()) or "no options"
        names = ", ".join(declared) or "no options"
        raise OptionError(
            f"backend '{owner}' does not take {', '.join(unknown)} (it takes {names})",
            cli=f"backend '{owner}' does not take {flags} (it takes {takes})",
        )
    out = {name: opt.default for name, opt in declared.items()}
    for name, value in values.items():
        if value is not None:
            out[name] = declared[name].coerce(value)
    return out


MAX_SEED = 2**63 - 1
"""Largest seed torch.Generator.manual_seed takes here."""

MAX_RESAMPLES = 100_000
"""Most paired-bootstrap resamples (compare): each keeps one float and costs a pass
over the items; past 10^4 the interval's ends barely move, so a larger count only
risks the machine's memory and time."""

RANK_SAMPLES = 10_000
"""Draws of the Monte Carlo rank estimate (guessing.py) by default."""

LECTURE_SEED = 2147483647
"""The lecture's `torch.Generator().manual_seed(2147483647)`: every default seed."""

ORDER = Option(
    "order", int, 2, "n-gram order: the model sees order-1 previous tokens", min=1, max=32
)

RESERVED = frozenset(
    {"data", "backend", "order", "seed", "val_fraction", "output", "config", "tokenizer"}
    | {"samples", "json", "workers", "shards", "dask", "from_counts", "unk", "min_count"}
    | {"column", "weight_column", "weighted", "delimiter", "header", "dedup"}
    | {"normalize", "case", "accents"}
)
"""The names of `ngramkit fit`'s own flags. `order` and `unk` are shared (a backend
may declare them and the flag reaches it: every backend declares order, the count
backend unk); a backend option must use none of the others."""
SHARED = frozenset({"order", "unk"})


def check_reserved(options: Iterable[Option], owner: str) -> None:
    """OptionError when `owner` declares an option named like one of fit's own flags."""
    for o in options:
        if o.name in RESERVED and o.name not in SHARED:
            raise OptionError(
                f"backend '{owner}' declares option '{o.name}', which clashes with "
                f"`ngramkit fit {o.flag}`; rename the option"
            )
