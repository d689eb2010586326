"""YAML run configs for `ngramkit fit --config run.yaml`, validated.

A config is one flat mapping: the general fit settings (GENERAL) plus the
chosen backend's declared options, e.g.

    backend: count
    order: 3
    smooth: 0.5
    val_fraction: 0.1

Loading is safe (yaml.SafeLoader: no Python objects, no code), bounded
(MAX_BYTES, nesting at most MAX_DEPTH, no aliases, so no alias bombs: all
checked on the event stream before any node is built) and precise: an
unknown key or a wrong type is an error naming the key and its line, always
one line. Flags given on the command line override the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import OptionError
from .options import MAX_SEED, Option

MAX_BYTES = 1 << 20
MAX_DEPTH = 8  # a config is one flat mapping; 8 leaves room to say what is wrong

GENERAL: dict[str, Option] = {
    o.name: o
    for o in (
        Option("data", str, None, "word list to train on"),
        Option("backend", str, "count", "backend name"),
        Option("order", int, 2, "n-gram order", min=1, max=32),
        Option("seed", int, 2147483647, "seed of the split, init and samples", min=0, max=MAX_SEED),
        Option("val_fraction", float, 0.1, "share of items held out", min=0, max=0.99),
        Option("output", str, None, "model file to write"),
        Option("tokenizer", str, "char", "char or word", choices=("char", "word")),
        Option("samples", int, 10, "samples shown in the report", min=0),
    )
}


@dataclass
class RunConfig:
    """Values read from a config file, with the line of each key."""

    path: str
    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    def where(self, key: str) -> str:
        return f"{self.path}:{self.lines.get(key, 1)}"


def load_config(path: str | Path) -> RunConfig:
    """Parse a config file; OptionError (naming file and line) when it is malformed."""
    import yaml

    name = str(path)
    p = Path(path)
    if not p.is_file():
        raise OptionError(f"{name}: no such config file")
    raw = p.read_bytes()
    if len(raw) > MAX_BYTES:
        raise OptionError(f"{name}: config file is larger than {MAX_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
        _check_events(name, yaml.parse(text, Loader=yaml.SafeLoader))
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except UnicodeDecodeError:
        raise OptionError(f"{name}: config file is not valid UTF-8") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = " ".join(str(getattr(e, "problem", None) or "invalid YAML").split())
        raise OptionError(f"{name}{line}: {problem}") from None
    config = RunConfig(name)
    if node is None:
        return config
    if not isinstance(node, yaml.MappingNode):
        raise OptionError(f"{name}:{node.start_mark.line + 1}: a config is a mapping of key: value")
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            raise OptionError(f"{name}:{line}: keys must be plain names")
        key = str(key_node.value).replace("-", "_")
        if key in config.values:
            raise OptionError(f"{name}:{line}: key {key!r} is given twice")
        if not isinstance(value_node, yaml.ScalarNode):
            raise OptionError(f"{name}:{line}: {key!r} must be a single value")
        try:
            config.values[key] = yaml.safe_load(yaml.serialize(value_node))
        # YAMLError: a tag SafeLoader refuses, e.g. !!python/name; ValueError and
        # OverflowError: a scalar its constructors choke on (a 5000-digit int,
        # a date like 2024-13-45).
        except (yaml.YAMLError, ValueError, OverflowError):
            raise OptionError(
                f"{name}:{line}: {key!r} has a value plain YAML cannot hold"
            ) from None
        config.lines[key] = line
    return config


def _check_events(name: str, events: Iterable[Any]) -> None:
    """Refuse aliases and deep nesting while parsing, before a node is built.

    An alias bomb (a: &a [x, x], b: &b [*a, *a], ...) grows exponentially only
    when composed; nesting costs recursion in the composer. Both stop here.
    """
    import yaml

    depth = 0
    for event in events:
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            raise OptionError(f"{name}:{line}: YAML aliases are not allowed in configs")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise OptionError(f"{name}:{line}: nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def check(config: RunConfig, backend_options: dict[str, Option], backend: str) -> dict[str, Any]:
    """Coerced values of `config`; unknown keys and bad values name their line."""
    out: dict[str, Any] = {}
    for key, value in config.values.items():
        # The backend's own declaration first: its `order` may have tighter bounds.
        opt = backend_options.get(key) or GENERAL.get(key)
        if opt is None:
            takes = ", ".join([*GENERAL, *(k for k in backend_options if k not in GENERAL)])
            raise OptionError(
                f"{config.where(key)}: unknown key {key!r} for backend '{backend}' "
                f"(known keys: {takes})"
            )
        try:
            out[key] = opt.coerce(value)
        except OptionError as e:
            raise OptionError(f"{config.where(key)}: {key}: {e}") from None
    return out
