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
one line.

`fit_settings` is the precedence, for the CLI and library callers alike:
defaults < config file < flags. It resolves what to run; fitting.py runs it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import registry
from .errors import OptionError
from .normalize import DEFAULT, Normalization
from .options import LECTURE_SEED, MAX_SEED, RESERVED, Option, check_reserved
from .tabular import ListFormat

if TYPE_CHECKING:
    from .model import LanguageModel


def _column(value: Any) -> str:
    """A column as YAML or a flag gives it: a name, or a number from 1 (2 or "2")."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError("must be a column number from 1 or a header name")
    return str(value)


MAX_BYTES = 1 << 20
MAX_DEPTH = 8  # a config is one flat mapping; 8 leaves room to say what is wrong

GENERAL: dict[str, Option] = {
    o.name: o
    for o in (
        Option("data", str, None, "word list to train on"),
        Option("backend", str, "count", "backend name"),
        Option("order", int, 2, "n-gram order", min=1, max=32),
        Option(
            "seed", int, LECTURE_SEED, "seed of the split, init and samples", min=0, max=MAX_SEED
        ),
        Option("val_fraction", float, 0.1, "share of items held out", min=0, max=0.99),
        Option("output", str, None, "model file to write"),
        Option("tokenizer", str, "char", "char or word", choices=("char", "word")),
        Option("samples", int, 10, "samples shown in the report", min=0),
        Option("unk", bool, False, "add the unknown token: unseen symbols get a score"),
        Option(
            "min_count",
            int,
            None,
            "symbols seen fewer times become the unknown token (implies unk)",
            min=1,
        ),
        Option("normalize", str, "nfc", "Unicode form", choices=("nfc", "nfkc", "none")),
        Option("case", str, "auto", "case rule", choices=("auto", "keep", "lower")),
        Option("accents", str, "auto", "accents rule", choices=("auto", "keep", "strip")),
        # the list's form (tabular.ListFormat) and --dedup
        Option("weighted", bool, False, "lines are item<TAB>count"),
        Option(
            "column", str, None, "column of the items (from 1, or a header name)", parse=_column
        ),
        Option("weight_column", str, None, "column of the weights", parse=_column),
        Option("delimiter", str, None, "field separator (one character, tab, comma, ...)"),
        Option("header", bool, False, "the first line names the columns"),
        Option("dedup", bool, False, "train on each distinct item once"),
    )
}
LIST_KEYS = ("column", "weight_column", "weighted", "delimiter", "header")
"""The GENERAL keys that make a tabular list format (list_format)."""


LISTS = frozenset({"components"})
"""Keys that may hold a YAML list (of flat mappings): a mixture's components, e.g.

    backend: mixture
    components:
      - {backend: count, order: 6, smooth: mkn, tune: true}
      - {backend: mlp, order: 8}
"""


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
        listed = key in LISTS and isinstance(value_node, yaml.SequenceNode)
        if not (isinstance(value_node, yaml.ScalarNode) or listed):
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
            raise OptionError(f"{config.where(key)}: {key}: {e.cli}") from None
    return out


@lru_cache(maxsize=1)
def backend_options() -> dict[str, list[tuple[str, Option]]]:
    """option name -> [(backend, Option), ...] over the working backends, less RESERVED."""
    found: dict[str, list[tuple[str, Option]]] = {}
    for name, entry in registry.installed().items():
        for opt in getattr(entry.cls, "options", ()):
            if opt.name not in RESERVED:
                found.setdefault(opt.name, []).append((name, opt))
    return found


SHARDS_PER_WORKER = 4  # more shards than workers: a slow shard does not hold up the rest


@dataclass(frozen=True)
class Engine:
    """Where and in how many pieces to count (--workers, --shards, --dask); all unset: no engine."""

    workers: int | None = None
    shards: int | None = None
    dask: str | None = None  # a scheduler address, or "local": a cluster started for the run

    def __bool__(self) -> bool:
        return bool(self.workers or self.shards or self.dask)

    def n_shards(self, n_files: int) -> int:
        """--shards, else SHARDS_PER_WORKER per worker, else one shard per file."""
        if self.shards:
            return self.shards
        workers = self.workers or (2 if self.dask else 1)
        return SHARDS_PER_WORKER * workers if workers > 1 else n_files

    def describe(self) -> str:
        """Where the counting ran, for the report: 'this process', '4 local processes'..."""
        if self.dask == "local":
            return f"Dask LocalCluster, {self.workers or 2} workers"
        if self.dask:
            return f"Dask cluster at {self.dask}"
        workers = self.workers or 1
        return f"{workers} local processes" if workers > 1 else "this process"


@dataclass(frozen=True)
class FitSettings:
    """One `ngramkit fit` run, resolved: defaults < config file < flags."""

    backend: str
    cls: type[LanguageModel]
    hparams: dict[str, Any]  # backend options given (file, flags); its defaults fill the rest
    data: list[str]  # word lists, or count tables (from_counts)
    output: str | None  # None: <data stem>.<backend>.ngk in the working folder
    seed: int
    val_fraction: float
    val_flag: float | None  # --val-fraction as given: a fit from counts refuses one > 0
    tokenizer: str
    samples: int
    engine: Engine
    from_counts: bool
    unk: bool = False  # the vocabulary gets the unknown token
    min_count: int = 1  # symbols seen fewer times become it (1: none)
    list_format: ListFormat | None = None  # --column, --weight-column, --weighted ...
    dedup: bool = False  # --dedup: each distinct item once (types)
    normalization: Normalization = DEFAULT
    memory: int | None = None  # --memory: bytes of resident memory counting keeps within
    temp_dir: str | None = None  # --temp-dir: where --memory spills sorted runs

    @property
    def counted(self) -> bool:
        """Fit from count tables: an engine, --from-counts, or several files for a
        backend that estimates from counts (other backends read the files as one list)."""
        several = len(self.data) > 1 and hasattr(self.cls, "fit_counts")
        return several or self.from_counts or bool(self.engine)


def fit_settings(flags: Mapping[str, Any]) -> FitSettings:
    """The settings of one fit from `flags` over a config file over the defaults.

    flags: by name, None where not given: `data` (paths), `config` (a YAML
    path), GENERAL's names, Engine's, `from_counts`, and backend options
    (raw values, coerced by the backend). A backend option not declared by
    the chosen backend is refused, naming the backends that take it.
    """
    given = {k: v for k, v in flags.items() if v is not None}
    paths = [str(p) for p in given.pop("data", ())]
    path = given.pop("config", None)
    config = load_config(path) if path else RunConfig("")
    backend = str(given.pop("backend", None) or config.values.get("backend") or "count")
    cls = registry.get(backend)
    check_reserved(cls.options, backend)
    declared = {o.name: o for o in cls.options}
    from_file = check(config, declared, backend) if config.values else {}
    engine = Engine(*(given.pop(k, None) for k in ("workers", "shards", "dask")))
    from_counts = bool(given.pop("from_counts", False))
    budget, temp_dir = _budget(given.pop("memory", None), given.pop("temp_dir", None))
    raw = {k: given.pop(k) for k in list(given) if k in GENERAL}
    hparams = {k: v for k, v in from_file.items() if k in declared}
    hparams.update(_backend_flags(given, declared, backend))
    flag = {k: GENERAL[k].coerce(v) for k, v in raw.items()}
    s = {k: flag.get(k, from_file.get(k, o.default)) for k, o in GENERAL.items()}
    fmt, dedup = _list_format(s, flag, config), bool(s["dedup"])
    if dedup and fmt is not None and fmt.weighted:
        raise OptionError("--dedup keeps each item once, ignoring its weight: drop one of them")
    if dedup and (engine or from_counts):
        raise OptionError(
            "--dedup needs the whole list in one process: drop --workers, "
            "--shards, --dask, --from-counts"
        )
    if fmt is not None and from_counts:
        raise OptionError(
            "--column, --weight-column, --weighted read word lists; "
            "--from-counts reads count tables"
        )
    # --order given by flag or file goes to the backend; otherwise its own default does.
    if "order" in declared and ("order" in flag or "order" in from_file):
        hparams["order"] = s["order"]
    unk, min_count = _open_vocabulary(cls, backend, flag, from_file)
    if "unk" in declared and unk:
        hparams["unk"] = True
    _try_construct(cls, hparams, config, [k for k in from_file if k in hparams])
    return FitSettings(
        backend=backend,
        cls=cls,
        hparams=hparams,
        data=paths or [s["data"]] * bool(s["data"]),
        val_flag=flag.get("val_fraction"),
        engine=engine,
        from_counts=from_counts,
        unk=unk,
        min_count=min_count,
        list_format=fmt,
        dedup=dedup,
        normalization=Normalization(s["normalize"], s["case"], s["accents"]),
        memory=budget,
        temp_dir=temp_dir,
        **{k: s[k] for k in ("output", "seed", "val_fraction", "tokenizer", "samples")},
    )


def _budget(size: str | None, temp_dir: str | None) -> tuple[int | None, str | None]:
    """(--memory in bytes or None, --temp-dir): checked before any work is done."""
    from .memory import parse_size

    if size is None:
        if temp_dir is not None:
            raise OptionError("--temp-dir is where --memory spills sorted runs: give --memory too")
        return None, None
    return parse_size(size), temp_dir


def _open_vocabulary(
    cls: type[LanguageModel], backend: str, flag: Mapping[str, Any], from_file: Mapping[str, Any]
) -> tuple[bool, int]:
    """(unk, min_count) of a fit: --min-count N > 1 implies --unk, and without it a
    backend's own `unk_min_count` applies; refused for a backend without unk support."""
    given = {k: flag.get(k, from_file.get(k)) for k in ("unk", "min_count")}
    min_count = given["min_count"]
    if min_count is not None and min_count > 1 and given["unk"] is False:
        raise OptionError(
            f"--min-count {min_count} makes rare symbols the unknown token: drop --no-unk"
        )
    unk = bool(given["unk"]) or (min_count or 1) > 1
    if unk and not getattr(cls, "supports_unk", True):
        raise OptionError(
            f"--unk: backend '{backend}' does not support the unknown token "
            "(it declares supports_unk = False); fit it without --unk or --min-count"
        )
    if min_count is None:
        min_count = int(getattr(cls, "unk_min_count", 1)) if unk else 1
    return unk, min_count


def list_format(flags: dict[str, Any]) -> ListFormat | None:
    """The tabular list format that --column, --weight-column, --weighted, --delimiter and
    --header ask for (popped from `flags`), or None for a plain list."""
    given = {k: flags.pop(k, None) for k in LIST_KEYS}
    return ListFormat.of(
        given["column"],
        given["weight_column"],
        weighted=bool(given["weighted"]),
        delimiter=given["delimiter"],
        header=bool(given["header"]),
    )


def _list_format(
    settings: dict[str, Any], flag: Mapping[str, Any], config: RunConfig
) -> ListFormat | None:
    """list_format of the merged settings; a bad value from the file names its line."""
    try:
        return list_format(dict(settings))
    except OptionError as e:
        from_file = [k for k in LIST_KEYS if k in config.values and k not in flag]
        if not from_file:
            raise
        at = [(e.cli.find(GENERAL[k].flag), k) for k in from_file]  # the key it names first
        named = sorted((i, k) for i, k in at if i >= 0) or [(0, from_file[0])]
        raise OptionError(f"{config.where(named[0][1])}: {e.cli}") from None


def _try_construct(
    cls: type, hparams: dict[str, Any], config: RunConfig, from_file: list[str]
) -> None:
    """Build the backend once, so that a check across options in its own __init__
    names the config line of the option its message mentions first (else the file).

    A plain ValueError from a plugin's __init__ becomes an OptionError: one line.
    """
    try:
        cls(**hparams)
    except ValueError as e:  # OptionError is a ValueError
        text = e.cli if isinstance(e, OptionError) else f"backend '{cls.name}': {e}"
        if not from_file:
            raise OptionError(text) from None
        flags = {o.name: o.flag for o in cls.options}
        at = {k: text.find(flags[k]) for k in from_file}
        named = sorted((i, k) for k, i in at.items() if i >= 0)
        where = config.where(named[0][1]) if named else config.path
        raise OptionError(f"{where}: {text}") from None


def _backend_flags(given: dict[str, Any], declared: Mapping[str, Option], backend: str) -> dict:
    """`given` when the backend declares every name in it; else OptionError naming who does."""
    for name in given:
        if name not in declared:
            owners = ", ".join(b for b, _ in backend_options().get(name, ())) or "none installed"
            takes = ", ".join(o.flag for o in declared.values()) or "no options"
            raise OptionError(
                f"--{name.replace('_', '-')} is an option of backend {owners}, not of "
                f"'{backend}' (it takes {takes})"
            )
    return given
