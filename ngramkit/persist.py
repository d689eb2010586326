"""Model files: a backend's state in the container (container.py). Never unpickles.

The header holds the format, backend, provider, config, training data,
metrics, tensor index and checksums; the payload the backend's tensors (and
the training items, one blob: `__seen_zlib__`, zlib-compressed, from format
2; `__seen__`, plain UTF-8, in format 1). Format 2 is the container's mapped
layout: loading maps the file and views the tensors in place. Format 1
files (ngramkit before 0.2) still load. Loading checks the container (see
container.py: every size before it allocates, both checksums), then finds the
backend class, rebuilds it with from_state and scores one context. The
training items are decoded on first use (SeenItems). Anything
wrong with a file (damaged, truncated, foreign, newer, crafted) raises
ModelFileError with one line, never another exception; see docs/security.md
and bench/fuzz_persist.py. Saving is atomic (container.atomic_write).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch

from . import __version__, container, registry, threads
from .container import Format, is_int, tensor_view
from .errors import BackendError, ModelFileError, NgramkitError
from .model import FirstSeen, LanguageModel, TrainingInfo
from .options import MAX_SEED
from .reader import path_problem
from .registry import BackendEntry

MAGIC = b"NGRAMKIT\n"
MODEL = Format(
    MAGIC,
    "ngramkit-model",
    2,
    "model file",
    ModelFileError,
    sealed=True,
    mapped_from=2,
    size_detail="{got} payload bytes, the header declares {need}: truncated or altered",
    checksum_detail="checksum mismatch: truncated or altered",
)


@dataclass(frozen=True)
class ModelFile:
    """A loaded model and the metadata stored with it."""

    model: LanguageModel
    header: dict[str, Any]
    path: str

    @property
    def metrics(self) -> dict[str, Any]:
        return self.header.get("metrics") or {}


def save(
    model: LanguageModel,
    path: str | Path,
    extra: dict[str, Any] | None = None,
    *,
    format_version: int | None = None,
) -> Path:
    """Write `model` to `path` atomically (see container.atomic_write); returns the path.

    format_version: MODEL.version (the default, the mapped layout) or 1, the
    layout of ngramkit before 0.2, for a reader that old.
    """
    path = Path(path)
    version = MODEL.version if format_version is None else format_version
    if not is_int(version) or not 1 <= version <= MODEL.version:
        raise ModelFileError(f"{path}: not saved: no model file format {version!r}")
    container.check_target(path, ModelFileError)  # before model.state(): a bad target first
    fields, tensors = _contents(model, container.json_safe(extra or {}), version)
    problem = fields_problem(fields)
    if problem:  # a file load would refuse is never written
        raise ModelFileError(f"{path}: not saved: {problem}")
    parts = container.pack(MODEL, fields, tensors, version=version)
    return container.atomic_write(path, lambda f: f.writelines(parts), ModelFileError)


SEEN_LEVEL = 1  # zlib level of the training items: 3.0x smaller on code lines at ~50 MB/s
SEEN_PIECE = 2**16  # training items joined and compressed at once


Packed = tuple[str, "torch.Tensor | None"]  # (tensor name, blob) of the training items


def pack_seen(seen: AbstractSet[str], version: int = MODEL.version) -> Packed:
    """(tensor name, uint8 blob) of the training items in a file of `version`; the blob
    is None when an item holds a newline (the items are not stored then).

    First-seen order where the set keeps one (a fit, a file), else sorted: a
    merge of shards' sets has no order of its own; format 1 was always sorted.
    """
    ordered = getattr(seen, "ordered", False) and version >= 2
    items = list(seen) if ordered else sorted(seen)
    zipper = zlib.compressobj(SEEN_LEVEL) if version >= 2 else None
    blob = bytearray()
    for start in range(0, len(items), SEEN_PIECE):  # the text a piece at a time, not whole
        text = ("\n" if start else "") + "\n".join(items[start : start + SEEN_PIECE])
        if text.count("\n") != min(SEEN_PIECE, len(items) - start) - (start == 0):
            return "", None  # an item holds a newline
        raw = text.encode("utf-8")
        blob += raw if zipper is None else zipper.compress(raw)
    if zipper is not None:
        blob += zipper.flush()
    key = "__seen_zlib__" if version >= 2 else "__seen__"
    empty = torch.zeros(0, dtype=torch.uint8)
    return key, torch.frombuffer(blob, dtype=torch.uint8) if blob else empty


def _contents(
    model: LanguageModel, extra: dict[str, Any], version: int = MODEL.version
) -> tuple[dict[str, Any], list[tuple[str, torch.Tensor]]]:
    """The header's fields and the tensors (by name, sorted) of `model`'s file."""
    config, tensors = model.state()
    tensors = dict(tensors)
    taken = sorted(k for k in tensors if k.startswith("__") and k.endswith("__"))
    if taken:  # the file's own tensors (__seen__): a backend's would be lost on load
        raise ModelFileError(
            f"backend '{model.name}' names a state tensor {taken[0]!r}: names of the form "
            "__name__ are reserved by the model file; rename it"
        )
    training = model.training
    if training is not None and training.seen is not None:
        key, blob = pack_seen(training.seen, version)
        if blob is not None:
            tensors[key] = blob
    dist, version = registry.provider(type(model))
    fields = {
        "backend": model.name,
        "provider": {"distribution": dist, "version": version},
        "ngramkit_version": __version__,
        "config": config,
        "training": None
        if training is None
        else {
            "items": training.items,
            "tokens": training.tokens,
            "fingerprint": training.fingerprint,
        },
        **extra,
    }
    return fields, sorted(tensors.items())


def read_header(path: str | Path) -> tuple[dict[str, Any], bytes]:
    """(header, payload) of a model file, fully validated but not yet a model."""
    _check_path(path)
    return container.read(MODEL, path)


def _check_path(path: str | Path) -> None:
    """ModelFileError unless `path` names a readable file."""
    path = Path(path)
    problem = path_problem(path)
    if problem:
        raise ModelFileError(f"{path}: {problem.replace('no such file', 'no such model file')}")
    if path.is_dir():
        raise ModelFileError(f"{path}: is a directory, not a model file")


def load(path: str | Path, backends: Mapping[str, BackendEntry] | None = None) -> ModelFile:
    """Load a model file; ModelFileError (one line) for anything wrong with it.

    backends: where to look the file's backend up (default: the installed ones).
    """
    name = str(path)
    _check_path(path)
    with threads.one_thread():
        header, tensors = container.load(MODEL, path)
    cls = _backend_class(name, header, backends)
    problem = fields_problem(header)
    if problem:
        raise MODEL.damaged(name, problem)
    plain, packed = tensors.pop("__seen__", None), tensors.pop("__seen_zlib__", None)
    if plain is not None and packed is not None:
        raise MODEL.damaged(name, "seen items twice")
    with threads.one_thread():
        model = _rebuild(name, cls, header, tensors)
    model.training = _training(name, header.get("training"), plain, packed)
    return ModelFile(model, header, name)


def _count(x: Any) -> bool:
    return is_int(x) and x >= 0


def _number(x: Any, low: float = 0.0) -> bool:  # a finite JSON number >= low
    return isinstance(x, (int, float)) and not isinstance(x, bool) and low <= x < math.inf


FIELDS: dict[tuple[str, str], tuple[Callable[[Any], bool], str]] = {
    ("provider", "distribution"): (lambda x: isinstance(x, str), "a string"),
    ("provider", "version"): (lambda x: isinstance(x, str), "a string"),
    ("data", "source"): (lambda x: isinstance(x, str), "a string"),
    ("data", "format"): (lambda x: isinstance(x, str), "a string"),
    ("data", "items"): (_count, "a count"),
    ("data", "train"): (_count, "a count"),
    ("data", "val"): (_count, "a count"),
    ("data", "weight"): (_count, "a count"),
    ("data", "dedup"): (_count, "a count"),
    ("data", "seed"): (lambda x: _count(x) and x <= MAX_SEED, "a seed"),
    ("data", "val_fraction"): (lambda x: _number(x) and x < 1, "a fraction in [0, 1)"),
}
"""The descriptive header fields a model file may hold: (section, key) -> (test, what).
Checked on load, so that `show` and the reports can trust their types."""
METRICS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "tokens": (_count, "a count"),
    "nll": (lambda x: x is None or _number(x), "a number >= 0 or null"),
    "perplexity": (lambda x: x is None or _number(x, 1.0), "a number >= 1 or null"),
    "bits": (lambda x: x is None or _number(x), "a number >= 0 or null"),
    "reason": (lambda x: isinstance(x, str), "a string"),
}
"""The keys of one split's metrics (results.Metrics.to_json) and their tests."""


def fields_problem(header: dict[str, Any]) -> str | None:
    """What is wrong with the descriptive fields of a model file's header, or None.

    Types first (FIELDS, METRICS), then the sums that must agree: data.items =
    data.train + data.val, data.train = training.items, metrics.train.tokens =
    training.tokens, and each split's perplexity and bits as its NLL gives them.
    """
    if not isinstance(header.get("ngramkit_version", ""), str):
        return "ngramkit_version is not a string"
    for section in ("provider", "data", "metrics", "training"):
        value = header.get(section, {})
        if not isinstance(value, dict) and (value is not None or section == "provider"):
            return f"{section} is not a mapping"  # null: no such section (but a provider)
    for (section, key), (ok, what) in FIELDS.items():
        value = (header.get(section) or {}).get(key, ok)  # absent: nothing to check
        if value is not ok and not ok(value):
            return f"{section}.{key} is {_shown(value)}, not {what}"
    for split, m in (header.get("metrics") or {}).items():
        problem = None if m is None else _metrics_problem(m)  # None: no such split
        if problem:
            return f"metrics.{split}{problem}"
    return _sums_problem(header)


def _metrics_problem(m: Any) -> str | None:
    """What is wrong with one split's metrics (".nll is 'x', not ..."), or None."""
    from .results import perplexity

    if not isinstance(m, dict):
        return " is not a mapping"
    for key, value in m.items():
        ok, what = METRICS.get(key, (lambda x: True, ""))
        if not ok(value):
            return f".{key} is {_shown(value)}, not {what}"
    nll = m.get("nll")
    want = {"perplexity": None, "bits": None}
    if nll is not None:
        want = {"perplexity": perplexity(nll), "bits": nll / math.log(2)}
    for key, w in want.items():  # each as the NLL gives it, where the file has it
        w = w if w is not None and math.isfinite(w) else None
        got = m.get(key, w)
        if (got is None) != (w is None) or (w is not None and not math.isclose(got, w)):
            return f".{key} does not follow from the NLL"
    return None


def _sums_problem(header: dict[str, Any]) -> str | None:
    """Which of the header's counts disagree with each other, or None.

    With --dedup the split holds `data.dedup` items (the distinct ones kept);
    a weighted list's training.items counts each line `weight` times, so it is
    at least data.train there, not equal to it.
    """
    data, training = header.get("data") or {}, header.get("training") or {}
    train = (header.get("metrics") or {}).get("train") or {}
    kept = "dedup" if "dedup" in data else "items"
    if all(k in data for k in (kept, "train", "val")) and data[kept] != data["train"] + data["val"]:
        return f"data.{kept} is not data.train + data.val"
    pairs = [
        (train.get("tokens"), training.get("tokens"), "metrics.train.tokens", "training.tokens")
    ]
    if "weight" not in data:
        pairs.append((data.get("train"), training.get("items"), "data.train", "training.items"))
    for a, b, name_a, name_b in pairs:
        if a is not None and b is not None and a != b:
            return f"{name_a} ({a}) is not {name_b} ({b})"
    weighted = data.get("train"), training.get("items")
    if "weight" in data and None not in weighted and weighted[1] < weighted[0]:
        return f"training.items ({weighted[1]}) is below data.train ({weighted[0]})"
    return None


def _shown(value: Any) -> str:
    """A crafted value, short and printable, for a one-line message."""
    text = ascii(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _backend_class(
    name: str, header: dict[str, Any], backends: Mapping[str, BackendEntry] | None
) -> type[LanguageModel]:
    """The installed class for the header's backend; a clear line when it is missing."""
    backend = header.get("backend")
    if not isinstance(backend, str):
        raise MODEL.damaged(name, "no backend name")
    found = registry.installed() if backends is None else backends
    try:
        return registry.get(backend, dict(found))
    except BackendError as e:
        if backend in found:  # installed, but broken: say why
            raise ModelFileError(f"{name}: {e}") from None
    prov = header.get("provider")
    dist = prov.get("distribution") if isinstance(prov, dict) else None
    dist = dist if isinstance(dist, str) and dist.isprintable() else "?"
    raise ModelFileError(
        f"{name}: needs backend {backend!r}, which is not installed "
        f"(it comes from the distribution '{dist}': pip install {dist})"
    )


def _rebuild(
    name: str, cls: type[LanguageModel], header: dict[str, Any], tensors: dict[str, torch.Tensor]
) -> LanguageModel:
    """cls.from_state(config, tensors), then one scored context as a smoke test.

    Any exception from the backend becomes ModelFileError: whatever a crafted
    config or tensor trips in a backend (ours or a plugin's), the user sees one line.
    """
    config = header.get("config")
    if not isinstance(config, dict):
        raise MODEL.damaged(name, "config is not a mapping")
    try:
        model = cls.from_state(config, tensors)
        unused = sorted(set(tensors) - set(model.state()[1]))
        if unused:  # e.g. an order-2 file resealed as order 1: its bigrams would be ignored
            raise ModelFileError(f"holds tensor {unused[0]!r}, which this model does not use")
        rows = model.next_logprobs(torch.zeros(1, model.order - 1, dtype=torch.long))  # (1, V)
        nan = bool(torch.isnan(rows).any())
        mass = float(torch.logsumexp(rows.double(), 1))  # log of the row's total
        # a row of zeros is no model (a crafted k of 1e308, say); a row above 1 is left
        # to results.check_logprobs, which names the backend that gives probabilities
        broken = "not numbers" if nan else "all zero" if mass == -math.inf else None
    except Exception as e:
        detail = str(e) if isinstance(e, NgramkitError) else f"{type(e).__name__}: {e}"
        skew = _version_skew(header, cls)
        if skew is not None:
            raise ModelFileError(f"{name}: {skew} ({detail})") from None
        if isinstance(e, ModelFileError):
            raise ModelFileError(f"{name}: {e}") from None
        raise MODEL.damaged(name, detail) from None
    if broken:
        raise MODEL.damaged(name, f"its scores are {broken}")
    return model


def _version_skew(header: dict[str, Any], cls: type[LanguageModel]) -> str | None:
    """What to say when the file was written by another version of the installed
    backend's distribution (the checksums passed, so the file is as written), or None."""
    prov = header.get("provider")
    if not isinstance(prov, dict):
        return None
    dist, then = prov.get("distribution"), prov.get("version")
    now_dist, now = registry.provider(cls)
    if dist != now_dist or then == now or not all(map(_printable, (then, now))):
        return None
    return (
        f"written by {dist} {then}, and the installed {dist} {now} cannot read it: "
        f"install {dist}=={then} to use it, or fit the model again"
    )


def _printable(x: Any) -> bool:
    return isinstance(x, str) and x.isprintable() and len(x) <= 64


def _training(
    name: str, training: Any, plain: torch.Tensor | None, packed: torch.Tensor | None
) -> TrainingInfo | None:
    """TrainingInfo from the header's "training" entry and the seen-items blob.

    A plain blob (format 1) is decoded here, as ngramkit before 0.2 did; a
    compressed one when the items are first asked for (SeenItems).
    """
    if not isinstance(training, dict):
        return None
    items, tokens, fp = (training.get(k) for k in ("items", "tokens", "fingerprint"))
    if not (
        is_int(items)
        and is_int(tokens)
        and items >= 0
        and tokens >= 0
        and isinstance(fp, (str, type(None)))  # None: counted in shards, order unknown
    ):
        raise MODEL.damaged(name, "training info")
    seen: AbstractSet[str] | None = None
    if plain is not None:
        seen = _decode_seen(name, bytes(tensor_view(plain)))
    elif packed is not None:
        seen = SeenItems(name, packed)
    return TrainingInfo(items, tokens, fp, seen)


def _decode_seen(name: str, raw: bytes) -> FirstSeen:
    """The items of a plain blob: UTF-8 text, one item a line, in the file's order."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MODEL.damaged(name, "seen items") from None
    return FirstSeen(text.split("\n")) if text else FirstSeen()


MAX_RATIO = 1100  # zlib expands a byte to at most ~1032: a stream claiming more is crafted


class SeenItems(AbstractSet[str]):
    """A model file's training items, decompressed and decoded on first use.

    Building the set of a large corpus's items costs far more than mapping the
    rest of the file (0.9 s for the 657,496 lines of the stdlib model), and
    only --new and the "in training" marks need it. The blob's checksum was
    checked on load; a crafted blob (valid checksum, bad zlib or UTF-8) is
    refused here with the loader's one line, before any item is used.
    Memory is bounded by MAX_RATIO times the blob.
    """

    def __init__(self, name: str, blob: torch.Tensor) -> None:
        self._name, self._blob = name, blob
        self._items: FirstSeen | None = None

    ordered: ClassVar[bool] = True  # iterates in the file's order

    def _get(self) -> FirstSeen:
        if self._items is None:
            packed = bytes(tensor_view(self._blob))
            unzip = zlib.decompressobj()
            try:
                raw = unzip.decompress(packed, MAX_RATIO * len(packed) + 64)
            except zlib.error:
                raise MODEL.damaged(self._name, "seen items") from None
            if not unzip.eof or unzip.unconsumed_tail or unzip.unused_data:
                raise MODEL.damaged(self._name, "seen items")
            self._items = _decode_seen(self._name, raw)
            self._blob = torch.zeros(0, dtype=torch.uint8)  # the set replaces it
        return self._items

    def __contains__(self, item: object) -> bool:
        return item in self._get()

    def contains(self) -> Callable[[object], bool]:
        """The decoded set's membership test (model.marks)."""
        return self._get().contains()

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __repr__(self) -> str:
        return f"SeenItems({self._name!r})"
