"""YAML run configs for `ngramkit fit --config run.yaml`, validated.

A config is one flat mapping: the general fit settings (GENERAL) plus the
chosen backend's declared options, e.g.

    backend: count
    order: 3
    smooth: 0.5
    val_fraction: 0.1

Loading is safe (yaml.SafeLoader: no Python objects), bounded (MAX_BYTES,
no aliases, so no alias bombs) and precise: an unknown key or a wrong type is
an error naming the key and its line. Flags given on the command line
override the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import OptionError
from .options import MAX_SEED, Option

MAX_BYTES = 1 << 20

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
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1
                raise OptionError(f"{name}:{line}: YAML aliases are not allowed in configs")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except UnicodeDecodeError:
        raise OptionError(f"{name}: config file is not valid UTF-8") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or "invalid YAML"
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
            raise OptionError(f"{name}:{line}: key '{key}' is given twice")
        if not isinstance(value_node, yaml.ScalarNode):
            raise OptionError(f"{name}:{line}: '{key}' must be a single value")
        try:
            config.values[key] = yaml.safe_load(yaml.serialize(value_node))
        except yaml.YAMLError:  # a tag SafeLoader refuses, e.g. !!python/name
            raise OptionError(
                f"{name}:{line}: '{key}' has a value plain YAML cannot hold"
            ) from None
        config.lines[key] = line
    return config


def check(config: RunConfig, backend_options: dict[str, Option], backend: str) -> dict[str, Any]:
    """Coerced values of `config`; unknown keys and bad values name their line."""
    out: dict[str, Any] = {}
    for key, value in config.values.items():
        # The backend's own declaration first: its `order` may have tighter bounds.
        opt = backend_options.get(key) or GENERAL.get(key)
        if opt is None:
            takes = ", ".join([*GENERAL, *(k for k in backend_options if k not in GENERAL)])
            raise OptionError(
                f"{config.where(key)}: unknown key '{key}' for backend '{backend}' "
                f"(known keys: {takes})"
            )
        try:
            out[key] = opt.coerce(value)
        except OptionError as e:
            raise OptionError(f"{config.where(key)}: {key}: {e}") from None
    return out
