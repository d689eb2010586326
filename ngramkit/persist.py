"""Model files: one file, JSON metadata plus raw tensors. Never unpickles.

Layout (little-endian):

    b"NGRAMKIT\\n"            9 bytes, the magic
    header length            8 bytes, unsigned
    header                   UTF-8 JSON (format, backend, provider, config,
                             training data, metrics, tensor index, checksum)
    payload                  the tensors' bytes, back to back

Loading checks everything before it allocates: the magic, the header size
(at most MAX_HEADER, and within the file), the JSON (no NaN, nesting at most
MAX_DEPTH), the format version, each tensor's dtype (a short whitelist),
shape and byte range, that the payload is exactly as long as the tensor
index says, and its sha256; then the backend's from_state and one scored
context. Anything wrong with a file (damaged, truncated, foreign, newer,
crafted) raises ModelFileError with one line, never another exception; see
docs/security.md and bench/fuzz_persist.py.

Saving is atomic: a temporary file `.<name>.<random>.tmp` in the target
folder, fsync, then os.replace, so an interrupted save (Ctrl-C, SIGKILL)
leaves the old file or none, never half a file; of two concurrent saves to
one path the last rename wins, whole. A killed writer's temporary file stays
behind until a later save of the same name finds it over an hour old.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import hashlib
import json
import math
import os
import stat
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from .errors import ModelFileError, NgramkitError

if TYPE_CHECKING:
    import torch

    from .model import LanguageModel, TrainingInfo

MAGIC = b"NGRAMKIT\n"
FORMAT = "ngramkit-model"
FORMAT_VERSION = 1
MAX_HEADER = 64 * 2**20  # bytes; a header larger than this is not ours
STALE_AFTER = 3600.0  # seconds: a temp file this old is a killed writer's, not a live one's
MAX_DEPTH = 32  # JSON nesting of the header; ours is at most 5 deep
MAX_DIMS = 8  # dims of one tensor
MAX_DIM = 2**40  # one dim: more elements than any file here holds, and no stride overflow
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
    return b"".join(encode_parts(model, extra))


def encode_parts(
    model: LanguageModel, extra: dict[str, Any] | None = None
) -> list[bytes | memoryview]:
    """The model file as pieces to write in order: the head, then each tensor's bytes.

    Tensor bytes are views of the tensors' memory, not copies, and the payload
    checksum is taken piece by piece, so saving a large model needs no second
    copy of it in memory.
    """
    import torch

    from . import __version__
    from .registry import provider

    config, tensors = model.state()
    tensors = dict(tensors)
    training = model.training
    if training is not None and training.seen is not None:
        seen = sorted(training.seen)
        if not any("\n" in s for s in seen):
            blob = bytearray("\n".join(seen), "utf-8")  # one copy of the text, not two
            tensors["__seen__"] = torch.frombuffer(blob, dtype=torch.uint8)
    index: dict[str, Any] = {}
    chunks: list[bytes | memoryview] = []
    digest = hashlib.sha256()
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        data = tensor_view(t)
        digest.update(data)
        index[name] = {
            "dtype": _dtype_name(t),
            "shape": list(t.shape),
            "offset": offset,
            "nbytes": len(data),
        }
        chunks.append(data)
        offset += len(data)
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
        "payload_sha256": digest.hexdigest(),
    }
    text = json.dumps(seal(header), sort_keys=True, allow_nan=False, default=_json_default)
    head = text.encode("utf-8")
    return [MAGIC + struct.pack("<Q", len(head)) + head, *chunks]


def _canonical(header: dict[str, Any]) -> bytes:
    """The bytes the header checksum covers: the header less its checksum, compact, sorted."""
    rest = {k: v for k, v in header.items() if k != "header_sha256"}
    text = json.dumps(
        rest, sort_keys=True, allow_nan=False, separators=(",", ":"), default=_json_default
    )
    return text.encode("utf-8")


def seal(header: dict[str, Any]) -> dict[str, Any]:
    """`header` with its checksum set, so that a damaged header is caught like a damaged payload."""
    return {**header, "header_sha256": hashlib.sha256(_canonical(header)).hexdigest()}


def tensor_view(t: torch.Tensor) -> memoryview:
    """The raw bytes of a contiguous CPU tensor as a view, without a copy.

    The view holds the ctypes array, which holds the tensor: the memory stays
    valid for as long as the view is used.
    """
    nbytes = t.numel() * t.element_size()
    if nbytes == 0:
        return memoryview(b"")
    array = (ctypes.c_char * nbytes).from_address(t.data_ptr())
    array.owner = t  # type: ignore[attr-defined]
    return memoryview(array).cast("B")


def tensor_bytes(t: torch.Tensor) -> bytes:
    """The raw bytes of a CPU tensor, without numpy (torch's CPU wheel does not need it)."""
    t = t.detach().cpu().contiguous()
    nbytes = t.numel() * t.element_size()
    return ctypes.string_at(t.data_ptr(), nbytes) if nbytes else b""


def _json_default(x: Any) -> Any:
    raise TypeError(f"not JSON-able: {type(x).__name__}")


def save(model: LanguageModel, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write `model` to `path` atomically (see `atomic_write`); returns the path."""
    check_target(Path(path), ModelFileError)
    return atomic_write(Path(path), encode_parts(model, _clean(extra)), ModelFileError)


def check_target(path: Path, error: type[NgramkitError]) -> None:
    """Refuse a target whose folder is missing or that exists and is not a regular file."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise error(f"cannot write {path}: folder {folder} does not exist")
    if path.is_dir():
        raise error(f"cannot write {path}: it is a directory")
    if path.exists() and not path.is_file():
        raise error(f"cannot write {path}: it exists and is not a regular file")


def atomic_write(path: Path, parts: list[bytes | memoryview], error: type[NgramkitError]) -> Path:
    """Write `parts` to `path` so that readers see the old file or the new one, never a mix.

    The bytes go to a temporary file `.<name>.<random>.tmp` next to `path`,
    are fsynced, then renamed over `path` (os.replace, atomic on POSIX and
    Windows), and the folder is fsynced so the rename survives a power cut.
    A writer killed before the rename leaves its temporary file behind and
    `path` untouched; the next save of the same name removes such files once
    they are STALE_AFTER seconds old (younger ones may belong to a writer
    still at work). OSError becomes `error` with one line.
    """
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise error(f"cannot write {path}: {e.strerror or e}") from None
    try:
        with contextlib.suppress(OSError, AttributeError):  # no fchmod on Windows
            os.fchmod(fd, _file_mode(path))
        with os.fdopen(fd, "wb") as f:
            for part in parts:
                f.write(part)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise error(f"cannot write {path}: {e.strerror or e}") from None
        raise
    _fsync_folder(folder)
    remove_stale_temps(path)
    return path


def _file_mode(path: Path) -> int:
    """The mode a plain open() would give: the old file's, else 0o666 minus the umask.

    mkstemp creates 0o600 files; without this a saved model could not be
    read by the colleagues a normal file would be readable by.
    """
    with contextlib.suppress(OSError):
        return stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable; a no-op where folders cannot be opened (Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_stale_temps(path: str | Path, older_than: float = STALE_AFTER) -> list[Path]:
    """Delete `.<name>.*.tmp` files left next to `path` by killed writers; returns them.

    Only files older than `older_than` seconds go: a younger one may be a
    concurrent save still writing (its rename would then fail).
    """
    path = Path(path)
    now, gone = time.time(), []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > older_than:
                tmp.unlink()
                gone.append(tmp)
    return gone


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
    """(header, payload) of a model file, fully validated but not yet a model.

    Order matters: the sizes the file declares (header length, tensor byte
    ranges) are checked against the file's real size before anything of that
    size is read, so a crafted file cannot make us allocate more than it holds.
    """
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise ModelFileError(f"{name}: no such model file")
    if path.is_dir():
        raise ModelFileError(f"{name}: is a directory, not a model file")
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            header, start = _read_head(name, f, size)
            need = _payload_size(name, header)
            if start + need != size:
                raise ModelFileError(
                    f"{name}: damaged model file ({size - start} payload bytes, "
                    f"the header declares {need}: truncated or altered)"
                )
            payload = f.read(need)
    except OSError as e:
        raise ModelFileError(f"{name}: cannot read ({e.strerror or e})") from None
    if len(payload) != need or hashlib.sha256(payload).hexdigest() != header.get("payload_sha256"):
        raise ModelFileError(
            f"{name}: damaged model file (checksum mismatch: truncated or altered)"
        )
    return header, payload


def _read_head(name: str, f: BinaryIO, size: int) -> tuple[dict[str, Any], int]:
    """The parsed, version-checked JSON header and the payload's start offset."""
    if f.read(len(MAGIC)) != MAGIC:
        raise ModelFileError(f"{name}: not an ngramkit model file")
    raw_len = f.read(8)
    if len(raw_len) != 8:
        raise ModelFileError(f"{name}: damaged model file (truncated header)")
    (head_len,) = struct.unpack("<Q", raw_len)
    start = len(MAGIC) + 8 + head_len
    if head_len > MAX_HEADER or start > size:  # checked before reading head_len bytes
        raise ModelFileError(f"{name}: damaged model file (bad header length)")
    header = _parse_json(name, f.read(head_len))
    if header.get("format") != FORMAT:
        raise ModelFileError(f"{name}: not an ngramkit model file")
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFileError(f"{name}: damaged model file (no format version)")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{name}: model file format {version} is newer than this ngramkit reads "
            f"({FORMAT_VERSION}); upgrade ngramkit"
        )
    # After the version check: a newer format may checksum differently.
    if hashlib.sha256(_canonical(header)).hexdigest() != header.get("header_sha256"):
        raise ModelFileError(f"{name}: damaged model file (header checksum mismatch: altered)")
    return header, start


def _refuse_constant(word: str) -> Any:
    raise ValueError(f"{word} is not JSON")  # we write allow_nan=False: NaN/Infinity are damage


def _parse_json(name: str, head: bytes) -> dict[str, Any]:
    """The header as a dict; ModelFileError for bad UTF-8, bad JSON or deep nesting.

    ValueError covers json's own errors and Python's limit on huge integer
    literals (over 4300 digits); RecursionError a nesting deeper than the stack.
    """
    try:
        header = json.loads(head.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ModelFileError(f"{name}: damaged model file (header is not valid JSON)") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{name}: not an ngramkit model file")
    if _depth(header) > MAX_DEPTH:
        raise ModelFileError(f"{name}: damaged model file (header nested too deeply)")
    return header


def _depth(x: Any) -> int:
    """Nesting depth of parsed JSON, walked without recursion: {"a": [1]} -> 2.

    Only containers are pushed; `set(map(type, ...))` runs in C, so a list of
    millions of scalars (a word vocabulary) costs a fraction of its parse.
    """
    deepest, stack = 0, [(x, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        children = node.values() if isinstance(node, dict) else node
        if set(map(type, children)) & {dict, list}:
            stack.extend((v, d + 1) for v in children if isinstance(v, (dict, list)))
    return deepest


def _tensor_specs(name: str, header: dict[str, Any]) -> dict[str, tuple[str, list[int], int, int]]:
    """The tensor index, checked: name -> (dtype, shape, offset, nbytes).

    Checked: a whitelisted dtype, at most MAX_DIMS dims each in [0, MAX_DIM],
    offset and nbytes non-negative ints, and prod(shape) * itemsize == nbytes.
    """
    index = header.get("tensors")
    if not isinstance(index, dict):
        raise ModelFileError(f"{name}: damaged model file (no tensor index)")
    out: dict[str, tuple[str, list[int], int, int]] = {}
    for key, spec in index.items():
        got = (
            [spec.get(k) for k in ("dtype", "shape", "offset", "nbytes")]
            if isinstance(spec, dict)
            else [None] * 4
        )
        dtype, shape, offset, nbytes = got
        ok = (
            isinstance(dtype, str)
            and dtype in DTYPES
            and isinstance(shape, list)
            and len(shape) <= MAX_DIMS
            and all(_is_int(d) and 0 <= d <= MAX_DIM for d in shape)
            and _is_int(offset)
            and _is_int(nbytes)
            and offset >= 0
            and nbytes >= 0
            and math.prod(shape) * DTYPES[dtype] == nbytes
        )
        if not ok:
            raise ModelFileError(f"{name}: damaged model file (tensor {key!r} is malformed)")
        out[key] = (dtype, shape, offset, nbytes)  # type: ignore[assignment]
    return out


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _payload_size(name: str, header: dict[str, Any]) -> int:
    """Bytes the tensor index says the payload holds: the end of its last tensor."""
    specs = _tensor_specs(name, header)
    return max((offset + nbytes for _, _, offset, nbytes in specs.values()), default=0)


def _tensors(name: str, header: dict[str, Any], payload: bytes) -> dict[str, torch.Tensor]:
    import torch

    out: dict[str, torch.Tensor] = {}
    for key, (dtype, shape, offset, nbytes) in _tensor_specs(name, header).items():
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
    name = str(path)
    header, payload = read_header(path)
    tensors = _tensors(name, header, payload)
    cls = _backend_class(name, header)
    seen_blob = tensors.pop("__seen__", None)
    model = _rebuild(name, cls, header, tensors)
    model.training = _training(name, header.get("training"), seen_blob)
    if not isinstance(header.get("metrics", {}), (dict, type(None))):
        raise ModelFileError(f"{name}: damaged model file (metrics are not a mapping)")
    return ModelFile(model, header, name)


def _backend_class(name: str, header: dict[str, Any]) -> type[LanguageModel]:
    """The installed class for the header's backend; a clear line when it is missing."""
    from . import registry
    from .errors import BackendError

    backend = header.get("backend")
    if not isinstance(backend, str):
        raise ModelFileError(f"{name}: damaged model file (no backend name)")
    try:
        return registry.get(backend)
    except BackendError as e:
        if backend in registry.installed():  # installed, but broken: say why
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
    import torch

    config = header.get("config")
    if not isinstance(config, dict):
        raise ModelFileError(f"{name}: damaged model file (config is not a mapping)")
    try:
        model = cls.from_state(config, tensors)
        rows = model.next_logprobs(torch.zeros(1, model.order - 1, dtype=torch.long))  # (1, V)
        broken = bool(torch.isnan(rows).any())
    except ModelFileError as e:
        raise ModelFileError(f"{name}: {e}") from None
    except NgramkitError as e:
        raise ModelFileError(f"{name}: damaged model file ({e})") from None
    except Exception as e:
        raise ModelFileError(f"{name}: damaged model file ({type(e).__name__}: {e})") from None
    if broken:
        raise ModelFileError(f"{name}: damaged model file (its scores are not numbers)")
    return model


def _training(name: str, training: Any, seen_blob: torch.Tensor | None) -> TrainingInfo | None:
    """TrainingInfo from the header's "training" entry and the __seen__ blob."""
    from .model import TrainingInfo

    if not isinstance(training, dict):
        return None
    items, tokens, fp = (training.get(k) for k in ("items", "tokens", "fingerprint"))
    if not (_is_int(items) and _is_int(tokens) and items >= 0 and tokens >= 0):
        raise ModelFileError(f"{name}: damaged model file (training info)")
    if not isinstance(fp, str):
        raise ModelFileError(f"{name}: damaged model file (training info)")
    seen = None
    if seen_blob is not None:
        try:
            text = tensor_bytes(seen_blob).decode("utf-8") if seen_blob.numel() else ""
        except UnicodeDecodeError:
            raise ModelFileError(f"{name}: damaged model file (seen items)") from None
        seen = frozenset(text.split("\n")) if text else frozenset()
    return TrainingInfo(items, tokens, fp, seen)
