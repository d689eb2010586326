"""Model files: a backend's state in the container (container.py). Never unpickles.

The header holds the format, backend, provider, config, training data,
metrics, tensor index and checksums; the payload the backend's tensors (and
`__seen__`, the training items, one blob). Loading checks the container (see
container.py: every size before it allocates, both checksums), then finds the
backend class, rebuilds it with from_state and scores one context. Anything
wrong with a file (damaged, truncated, foreign, newer, crafted) raises
ModelFileError with one line, never another exception; see docs/security.md
and bench/fuzz_persist.py. Saving is atomic (container.atomic_write).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from . import __version__, container, registry
from .container import Format, is_int, tensor_view
from .errors import BackendError, ModelFileError, NgramkitError
from .model import LanguageModel, TrainingInfo
from .registry import BackendEntry

MAGIC = b"NGRAMKIT\n"
MODEL = Format(
    MAGIC,
    "ngramkit-model",
    1,
    "model file",
    ModelFileError,
    sealed=True,
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


def save(model: LanguageModel, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write `model` to `path` atomically (see container.atomic_write); returns the path."""
    path = Path(path)
    container.check_target(path, ModelFileError)  # before model.state(): a bad target first
    fields, tensors = _contents(model, container.json_safe(extra or {}))
    parts = container.pack(MODEL, fields, tensors)
    return container.atomic_write(path, lambda f: f.writelines(parts), ModelFileError)


def _contents(
    model: LanguageModel, extra: dict[str, Any]
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
        seen = sorted(training.seen)
        if not any("\n" in s for s in seen):
            blob = bytearray("\n".join(seen), "utf-8")  # one copy of the text, not two
            tensors["__seen__"] = torch.frombuffer(blob, dtype=torch.uint8)
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
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file")
    if path.is_dir():
        raise ModelFileError(f"{path}: is a directory, not a model file")
    return container.read(MODEL, path)


def load(path: str | Path, backends: Mapping[str, BackendEntry] | None = None) -> ModelFile:
    """Load a model file; ModelFileError (one line) for anything wrong with it.

    backends: where to look the file's backend up (default: the installed ones).
    """
    name = str(path)
    header, payload = read_header(path)
    tensors = container.tensors(MODEL, name, header, payload)
    cls = _backend_class(name, header, backends)
    seen_blob = tensors.pop("__seen__", None)
    model = _rebuild(name, cls, header, tensors)
    model.training = _training(name, header.get("training"), seen_blob)
    if not isinstance(header.get("metrics", {}), (dict, type(None))):
        raise MODEL.damaged(name, "metrics are not a mapping")
    return ModelFile(model, header, name)


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
        rows = model.next_logprobs(torch.zeros(1, model.order - 1, dtype=torch.long))  # (1, V)
        broken = bool(torch.isnan(rows).any())
    except Exception as e:
        detail = str(e) if isinstance(e, NgramkitError) else f"{type(e).__name__}: {e}"
        skew = _version_skew(header, cls)
        if skew is not None:
            raise ModelFileError(f"{name}: {skew} ({detail})") from None
        if isinstance(e, ModelFileError):
            raise ModelFileError(f"{name}: {e}") from None
        raise MODEL.damaged(name, detail) from None
    if broken:
        raise MODEL.damaged(name, "its scores are not numbers")
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


def _training(name: str, training: Any, seen_blob: torch.Tensor | None) -> TrainingInfo | None:
    """TrainingInfo from the header's "training" entry and the __seen__ blob."""
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
    seen = None
    if seen_blob is not None:
        try:
            text = bytes(tensor_view(seen_blob)).decode("utf-8")
        except UnicodeDecodeError:
            raise MODEL.damaged(name, "seen items") from None
        seen = frozenset(text.split("\n")) if text else frozenset()
    return TrainingInfo(items, tokens, fp, seen)
