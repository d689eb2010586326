"""Model files: one file, JSON metadata plus raw tensors. Never unpickles.

Layout (little-endian):

    b"NGRAMKIT\\n"            9 bytes, the magic
    header length            8 bytes, unsigned
    header                   UTF-8 JSON (format, backend, provider, config,
                             training data, metrics, tensor index, checksum)
    payload                  the tensors' bytes, back to back

Loading checks everything before it allocates: the magic, the header size
(at most MAX_HEADER), the format version, each tensor's dtype (a short
whitelist), shape and byte range, and the payload's sha256. A damaged,
truncated, foreign or newer file raises ModelFileError with one line.

Saving is atomic: a temporary file in the target folder, fsync, then
os.replace, so an interrupted save (Ctrl-C, a kill) leaves the old file or
none, never half a file.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import math
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ModelFileError, NgramkitError

if TYPE_CHECKING:
    import torch

    from .model import LanguageModel

MAGIC = b"NGRAMKIT\n"
FORMAT = "ngramkit-model"
FORMAT_VERSION = 1
MAX_HEADER = 256 * 2**20  # bytes; a header larger than this is not ours
DTYPES = {"int64": 8, "int32": 4, "int16": 2, "uint8": 1, "float32": 4, "float64": 8}


@dataclass(frozen=True)
class ModelFile:
    """A loaded model and the metadata stored with it."""

    model: LanguageModel
    header: dict[str, Any]
    path: str

    @property
    def metrics(self) -> dict[str, Any]:
        return self.header.get("metrics") or {}


def _dtype_name(t: torch.Tensor) -> str:
    name = str(t.dtype).removeprefix("torch.")
    if name not in DTYPES:
        raise NgramkitError(f"cannot save a tensor of dtype {name}")
    return name


def encode(model: LanguageModel, extra: dict[str, Any] | None = None) -> bytes:
    """The bytes of a model file for `model` (see the module docstring)."""
    import torch

    from . import __version__
    from .registry import provider

    config, tensors = model.state()
    tensors = dict(tensors)
    training = model.training
    if training is not None and training.seen is not None:
        seen = sorted(training.seen)
        if not any("\n" in s for s in seen):
            blob = "\n".join(seen).encode("utf-8")
            tensors["__seen__"] = torch.frombuffer(bytearray(blob), dtype=torch.uint8)
    index: dict[str, Any] = {}
    chunks: list[bytes] = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        data = tensor_bytes(t)
        index[name] = {
            "dtype": _dtype_name(t),
            "shape": list(t.shape),
            "offset": offset,
            "nbytes": len(data),
        }
        chunks.append(data)
        offset += len(data)
    payload = b"".join(chunks)
    dist, version = provider(type(model))
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
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
        **(extra or {}),
        "tensors": index,
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }
    text = json.dumps(header, sort_keys=True, allow_nan=False, default=_json_default)
    head = text.encode("utf-8")
    return MAGIC + struct.pack("<Q", len(head)) + head + payload


def tensor_bytes(t: torch.Tensor) -> bytes:
    """The raw bytes of a CPU tensor, without numpy (torch's CPU wheel does not need it)."""
    t = t.detach().cpu().contiguous()
    nbytes = t.numel() * t.element_size()
    return ctypes.string_at(t.data_ptr(), nbytes) if nbytes else b""


def _json_default(x: Any) -> Any:
    raise TypeError(f"not JSON-able: {type(x).__name__}")


def save(model: LanguageModel, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write `model` to `path` atomically; returns the path."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ModelFileError(f"cannot write {path}: folder {folder} does not exist")
    if path.is_dir():
        raise ModelFileError(f"cannot write {path}: it is a directory")
    data = encode(model, _clean(extra))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise ModelFileError(f"cannot write {path}: {e.strerror or e}") from None
        raise
    return path


def _clean(x: Any) -> Any:
    """JSON-safe copy: non-finite floats become None (JSON has no inf/nan)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def read_header(path: str | Path) -> tuple[dict[str, Any], bytes]:
    """(header, payload) of a model file, fully validated but not yet a model."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise ModelFileError(f"{name}: no such model file")
    if path.is_dir():
        raise ModelFileError(f"{name}: is a directory, not a model file")
    try:
        with path.open("rb") as f:
            magic = f.read(len(MAGIC))
            if magic != MAGIC:
                raise ModelFileError(f"{name}: not an ngramkit model file")
            raw_len = f.read(8)
            if len(raw_len) != 8:
                raise ModelFileError(f"{name}: damaged model file (truncated header)")
            (head_len,) = struct.unpack("<Q", raw_len)
            size = path.stat().st_size
            if head_len > MAX_HEADER or len(MAGIC) + 8 + head_len > size:
                raise ModelFileError(f"{name}: damaged model file (bad header length)")
            head = f.read(head_len)
            payload = f.read()
    except OSError as e:
        raise ModelFileError(f"{name}: cannot read ({e.strerror or e})") from None
    try:
        header = json.loads(head.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ModelFileError(f"{name}: damaged model file (header is not valid JSON)") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{name}: not an ngramkit model file")
    version = header.get("format_version")
    if not isinstance(version, int):
        raise ModelFileError(f"{name}: damaged model file (no format version)")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{name}: model file format {version} is newer than this ngramkit reads "
            f"({FORMAT_VERSION}); upgrade ngramkit"
        )
    if hashlib.sha256(payload).hexdigest() != header.get("payload_sha256"):
        raise ModelFileError(
            f"{name}: damaged model file (checksum mismatch: truncated or altered)"
        )
    return header, payload


def _tensors(name: str, header: dict[str, Any], payload: bytes) -> dict[str, torch.Tensor]:
    import torch

    index = header.get("tensors")
    if not isinstance(index, dict):
        raise ModelFileError(f"{name}: damaged model file (no tensor index)")
    out: dict[str, torch.Tensor] = {}
    for key, spec in index.items():
        try:
            dtype, shape = spec["dtype"], spec["shape"]
            offset, nbytes = spec["offset"], spec["nbytes"]
            ok = (
                dtype in DTYPES
                and isinstance(shape, list)
                and all(isinstance(d, int) and d >= 0 for d in shape)
                and isinstance(offset, int)
                and isinstance(nbytes, int)
                and offset >= 0
                and offset + nbytes <= len(payload)
                and math.prod(shape) * DTYPES[dtype] == nbytes
            )
        except (KeyError, TypeError):
            ok = False
        if not ok:
            raise ModelFileError(f"{name}: damaged model file (tensor {key!r} is malformed)")
        buf = bytearray(payload[offset : offset + nbytes])
        t = (
            torch.frombuffer(buf, dtype=getattr(torch, dtype))
            if nbytes
            else torch.zeros(0, dtype=getattr(torch, dtype))
        )
        out[key] = t.reshape(shape)
    return out


def load(path: str | Path) -> ModelFile:
    """Load a model file; ModelFileError (one line) for anything wrong with it."""
    from . import registry
    from .errors import BackendError
    from .model import TrainingInfo

    name = str(path)
    header, payload = read_header(path)
    tensors = _tensors(name, header, payload)
    backend = header.get("backend")
    prov = header.get("provider") or {}
    try:
        cls = registry.get(str(backend))
    except BackendError as e:
        if str(backend) in registry.installed():  # installed, but broken: say why
            raise ModelFileError(f"{name}: {e}") from None
        dist = prov.get("distribution", "?") if isinstance(prov, dict) else "?"
        raise ModelFileError(
            f"{name}: needs backend '{backend}', which is not installed "
            f"(it comes from the distribution '{dist}': pip install {dist})"
        ) from None
    seen_blob = tensors.pop("__seen__", None)
    try:
        model = cls.from_state(header.get("config") or {}, tensors)
    except ModelFileError as e:
        raise ModelFileError(f"{name}: {e}") from None
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as e:
        raise ModelFileError(f"{name}: damaged model file ({type(e).__name__}: {e})") from None
    training = header.get("training")
    if isinstance(training, dict):
        seen = None
        if seen_blob is not None:
            text = (
                tensor_bytes(seen_blob).decode("utf-8", errors="strict") if len(seen_blob) else ""
            )
            seen = frozenset(text.split("\n")) if text else frozenset()
        try:
            model.training = TrainingInfo(
                int(training["items"]), int(training["tokens"]), str(training["fingerprint"]), seen
            )
        except (KeyError, TypeError, ValueError):
            raise ModelFileError(f"{name}: damaged model file (training info)") from None
    return ModelFile(model, header, name)
