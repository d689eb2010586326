"""The binary container under model files and count-table files. Never unpickles.

Layout (little-endian):

    magic                    the format's own bytes (b"NGRAMKIT\\n", ...)
    header length            8 bytes, unsigned
    header                   UTF-8 JSON, keys sorted: "format", "format_version",
                             the format's own fields, "payload_sha256"; a sealed
                             format adds "header_sha256", an indexed one "tensors"
    payload                  the tensors' bytes, back to back

A mapped format (`Format.mapped_from`: model files from version 2) lays the
same pieces out so that the file can be memory-mapped and its tensors viewed
in place: the header is padded with spaces so that the payload starts at a
multiple of ALIGN bytes, every tensor starts at a multiple of ALIGN (zero
bytes between), the payload ends padded to ALIGN, an int64 tensor whose
values fit a narrower integer type, or a float64 one whose values float32
holds exactly, is stored narrow (its index entry says "as": the dtype it is
loaded as, bit for bit; sorted int64 keys too wide for int32 keep their low
32 bits, the high words' run lengths in the entry's "high"), and the payload
checksum is "payload_crc32" (CRC-32, 4 GB/s: `Crc32`), not sha256. The header keeps its
sha256 seal. See docs/security.md for the threat model.

Reading checks everything before it allocates: the magic, the header size (at
most MAX_HEADER, and within the file), the JSON (no NaN, nesting at most
MAX_DEPTH), the format and its version, the header checksum (sealed formats),
each tensor's dtype (a short whitelist), shape and byte range, that the payload
is exactly as long as its tensors, and its sha256. Anything wrong is the
format's error class with one line: "<file>: damaged <noun> (<what>)".

Saving is atomic: a temporary file `.<name>.<random>.tmp` in the target
folder, fsync, then os.replace, so an interrupted save (Ctrl-C, SIGKILL)
leaves the old file or none, never half a file; of two concurrent saves to
one path the last rename wins, whole. A killed writer's temporary file stays
behind until a later save of the same name finds it over an hour old.

This module knows no backend, vocabulary or count: persist.py and
counting/tablefile.py say what their headers and tensors mean.
"""

from __future__ import annotations

import binascii
import contextlib
import ctypes
import glob
import hashlib
import itertools
import json
import math
import mmap
import os
import stat
import struct
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import torch

from .errors import NgramkitError

MAX_HEADER = 64 * 2**20  # bytes; a header larger than this is not ours
MAX_DEPTH = 32  # JSON nesting of the header; ours is at most 5 deep
MAX_DIMS = 8  # dims of one tensor
MAX_DIM = 2**40  # one dim: more elements than any file here holds, and no stride overflow
DTYPES = {"int64": 8, "int32": 4, "int16": 2, "uint8": 1, "float32": 4, "float64": 8}
STALE_AFTER = 3600.0  # seconds: a temp file this old is a killed writer's, not a live one's
ALIGN = 64  # bytes: where a mapped file's payload and each of its tensors start
WIDEN = {"int32": "int64", "int16": "int64", "uint8": "int64", "float32": "float64"}
"""A mapped file's narrow stored dtype -> the dtype it may be loaded "as"."""
NARROW = {"int64": ("uint8", "int16", "int32"), "float64": ("float32",)}
"""The stored dtypes tried for a tensor of each dtype, narrowest first."""
MAX_HIGH = 64  # high 32-bit words a split int64 tensor may span ("high" run lengths)
MAX_BOOK = 256  # distinct values a float64 tensor stored as uint8 codes may hold ("book")


@dataclass(frozen=True)
class TensorSpec:
    """Where one tensor lies in the payload: offset and nbytes in bytes."""

    dtype: str
    shape: list[int]
    offset: int
    nbytes: int
    wide: str | None = None  # a mapped file's "as": the dtype the stored one widens to
    high: tuple[int, tuple[int, ...]] | None = None  # a split int64: first high word, runs
    book: int | None = None  # coded: this many float64 values, then the uint8 codes


Layout = Callable[[str, dict[str, Any]], dict[str, TensorSpec]]
"""(file name, header) -> the tensors, for a format whose header has no index."""


@dataclass(frozen=True)
class Format:
    """One kind of file in the container, and the words its errors use.

    noun: "model file" -> "m.ngk: damaged model file (bad header length)".
    sealed: the header carries its own checksum. layout: None when the header
    lists its tensors ("tensors"), else how the format derives them.
    foreign: the message for a file with another magic, given its first bytes.
    size_detail, checksum_detail: the damage when the payload is not as long
    as its tensors ({got} and {need} bytes), and when its sha256 differs.
    """

    magic: bytes
    name: str
    version: int
    noun: str
    error: type[NgramkitError]
    size_detail: str
    checksum_detail: str
    sealed: bool = False
    layout: Layout | None = None
    foreign: Callable[[str, bytes], str] | None = None
    mapped_from: int | None = None
    """The first format version written in the mapped layout (None: never)."""

    def damaged(self, name: str, detail: str) -> NgramkitError:
        return self.error(f"{name}: damaged {self.noun} ({detail})")

    def mapped(self, version: Any) -> bool:
        """Whether a file of this format `version` has the mapped layout."""
        return self.mapped_from is not None and is_int(version) and version >= self.mapped_from


# -- writing --------------------------------------------------------------


def pack(
    fmt: Format,
    fields: dict[str, Any],
    tensors: Sequence[tuple[str, torch.Tensor]],
    *,
    version: int | None = None,
) -> Iterable[bytes | memoryview]:
    """The file as pieces to write in order: the head, then each tensor's bytes.

    Tensor bytes are views of the tensors' memory, not copies (a narrowed
    tensor is one narrow copy, made as it is written), and the payload
    checksum is taken piece by piece, so saving needs no second copy of the
    payload in memory. The pieces are to be written once, in order.
    version: the format version to write (default the newest, fmt.version;
    an older one writes that version's layout, as older ngramkit did).
    """
    version = fmt.version if version is None else version
    if fmt.mapped(version):
        return _pack_mapped(fmt, fields, tensors, version)
    index: dict[str, Any] = {}
    chunks: list[bytes | memoryview] = []
    digest = hashlib.sha256()
    offset = 0
    for name, tensor in tensors:
        t = tensor.detach().cpu().contiguous()
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
    header = {"format": fmt.name, "format_version": version, **fields}
    if fmt.layout is None:
        header["tensors"] = index
    header["payload_sha256"] = digest.hexdigest()
    return [_head(fmt, header), *chunks]


def _head(fmt: Format, header: dict[str, Any], align: int = 1) -> bytes:
    """Magic, length and the (sealed) JSON header, padded with spaces to a multiple of `align`."""
    if fmt.sealed:
        header = seal(header)
    head = json.dumps(header, sort_keys=True, allow_nan=False, default=_json_default)
    raw = head.encode("utf-8")
    raw += b" " * (-(len(fmt.magic) + 8 + len(raw)) % align)
    return fmt.magic + struct.pack("<Q", len(raw)) + raw


def _pack_mapped(
    fmt: Format, fields: dict[str, Any], tensors: Sequence[tuple[str, torch.Tensor]], version: int
) -> Iterator[bytes | memoryview]:
    """`pack` in the mapped layout: aligned tensors, narrow where exact, CRC-32.

    The head (index and checksum) is made in a first pass over the tensors, and
    each narrow copy is made again as its bytes are written, so saving holds one
    tensor's narrow copy at a time, not all of them (72 MiB for an order-8 model
    of 11 M n-grams); narrowing is exact and deterministic, so both passes give
    the same bytes.
    """
    index: dict[str, Any] = {}
    digest, offset = Crc32(), 0
    for name, t, stored, extra, pad in _mapped_tensors(tensors):
        data = tensor_view(stored)
        digest.update(bytes(pad))
        digest.update(data)
        offset += pad
        index[name] = {
            "dtype": _dtype_name(stored),
            "shape": list(t.shape),
            "offset": offset,
            "nbytes": len(data),
        }
        if stored.dtype != t.dtype:
            index[name]["as"] = _dtype_name(t)
        index[name].update(extra or {})
        offset += len(data)
    digest.update(bytes(-offset % ALIGN))
    header = {"format": fmt.name, "format_version": version, **fields}
    if fmt.layout is None:
        header["tensors"] = index
    header["payload_crc32"] = digest.hexdigest()
    return itertools.chain([_head(fmt, header, ALIGN)], _mapped_payload(tensors))


def _mapped_tensors(
    tensors: Sequence[tuple[str, torch.Tensor]],
) -> Iterator[tuple[str, torch.Tensor, torch.Tensor, dict[str, Any] | None, int]]:
    """(name, tensor, as stored, its extra index entries, padding bytes before it) of
    each tensor in file order, narrowed (`narrowest`) as it is reached."""
    offset = 0
    for name, tensor in tensors:
        t = tensor.detach().cpu().contiguous()
        stored, extra = narrowest(t)
        pad = -offset % ALIGN
        yield name, t, stored, extra, pad
        offset += pad + stored.numel() * stored.element_size()


def _mapped_payload(tensors: Sequence[tuple[str, torch.Tensor]]) -> Iterator[bytes | memoryview]:
    """The mapped payload's pieces: each tensor's padding and stored bytes, then the
    padding that ends the payload on ALIGN."""
    end = 0
    for _, _, stored, _, pad in _mapped_tensors(tensors):
        data = tensor_view(stored)
        yield bytes(pad)
        yield data
        end += pad + len(data)
    yield bytes(-end % ALIGN)


def narrowest(t: torch.Tensor) -> tuple[torch.Tensor, dict[str, Any] | None]:
    """(`t` as stored, its extra index entries or None): the narrowest exact storage.

    Integers by their range (NARROW); a sorted 1-D int64 tensor that no
    narrower type holds but that spans at most MAX_HIGH high 32-bit words
    (n-gram keys past 2^31) as its low words in int32 and "high": {"from":
    the first high word, "counts": elements per high word}; a finite float64
    tensor of at most MAX_BOOK distinct values (a quantized model's) as its
    values, sorted, then uint8 codes, with "book": how many values (the bytes
    are nbytes = 8 * book + one per element; the values stay in the payload,
    under its checksum, not in the header); other float64 as float32 only
    when the round trip gives every value back bit for bit (torch.equal: NaN
    never narrows). `widen` gives `t` again.
    """
    name = _dtype_name(t)
    if name not in NARROW or t.numel() == 0:
        return t, None
    if name == "float64":
        book = _book(t)
        if book is not None:
            return book
        head = t.flatten()[:4096]  # a sample first: a table of logs costs no float32 copy
        if not torch.equal(head.to(torch.float32).to(t.dtype), head):
            return t, None
        narrow = t.to(torch.float32)  # -0.0 and the infinities survive the round trip
        return (narrow, None) if torch.equal(narrow.to(t.dtype), t) else (t, None)
    low, high = int(t.min()), int(t.max())
    for cand in NARROW[name]:
        info = torch.iinfo(getattr(torch, cand))
        if info.min <= low and high <= info.max:
            return t.to(getattr(torch, cand)), None
    first, last = low >> 32, high >> 32
    if t.dim() != 1 or last - first >= MAX_HIGH or not bool((t[1:] >= t[:-1]).all()):
        return t, None
    words = torch.bincount((t >> 32) - first, minlength=last - first + 1)
    lows = ((t & 0xFFFFFFFF) ^ 2**31) - 2**31  # the low word as a signed int32, exactly
    return lows.to(torch.int32), {"high": {"from": first, "counts": words.tolist()}}


def _book(t: torch.Tensor) -> tuple[torch.Tensor, dict[str, Any]] | None:
    """(the values' bytes then uint8 codes, {"book": how many values}) of a finite
    float64 tensor of at most MAX_BOOK distinct values (no -0.0: unique would fold
    it into +0.0), else None; samples first (the head, then 2^16 values spread
    over the tensor), so that an unquantized tensor costs small uniques, not a
    sort of the whole (90 MiB of temporaries for 3 M backoff weights whose
    first values repeat)."""
    flat = t.flatten()
    for sample in (flat[:4096], flat[:: max(1, len(flat) >> 16)]):  # the head, then spread
        if len(torch.unique(sample)) > MAX_BOOK:
            return None
    values, codes = torch.unique(t, sorted=True, return_inverse=True)
    if len(values) > MAX_BOOK or 8 * len(values) + t.numel() >= 4 * t.numel():
        return None  # too many values, or no smaller than float32 would be
    if not bool(values.isfinite().all()) or bool(t.signbit()[t == 0].any()):
        return None
    stored = torch.cat([values.view(torch.uint8), codes.flatten().to(torch.uint8)])
    return stored, {"book": len(values)}


def widen(t: torch.Tensor, spec: TensorSpec) -> torch.Tensor:
    """A stored tensor as the file says to load it: `t` itself, or "as" its wide dtype,
    each run of "high" given its high word back, or each code its "book" value
    (codes past the book: ValueError)."""
    if spec.wide is None:
        return t
    if spec.book is not None:
        flat = t.flatten()
        values, codes = flat[: 8 * spec.book].view(torch.float64), flat[8 * spec.book :]
        if codes.numel() and int(codes.max()) >= spec.book:
            raise ValueError("a code past the book")
        return values[codes.long()].reshape(spec.shape)
    wide = t.to(getattr(torch, spec.wide))
    if spec.high is not None:
        wide &= 0xFFFFFFFF
        first, counts = spec.high
        at = 0
        for i, n in enumerate(counts):
            if first + i:
                wide[at : at + n] += (first + i) << 32
            at += n
    return wide


class Crc32:
    """The payload checksum of mapped files: CRC-32 (zlib's, as binascii.crc32 gives
    it), fed in pieces, as 8 hex digits.

    It runs at ~4 GB/s (10 ms for the stdlib model's 36 MB on this project's
    machine, where sha256 takes 40), and detects every error of 1 to 3 bits
    and every burst of up to 32 bits in files this size, truncation and
    moved blocks; a random change escapes it with odds 2^-32. It detects
    accidental damage, not tampering (docs/security.md).
    """

    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self.value = binascii.crc32(data, self.value)

    def hexdigest(self) -> str:
        return f"{self.value:08x}"


def _dtype_name(t: torch.Tensor) -> str:
    name = str(t.dtype).removeprefix("torch.")
    if name not in DTYPES:
        raise NgramkitError(f"cannot save a tensor of dtype {name}")
    return name


def json_safe(x: Any) -> Any:
    """A JSON-able copy for a header: tuples to lists, non-finite floats to None."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    return x


def _json_default(x: Any) -> Any:
    raise TypeError(f"not JSON-able: {type(x).__name__}")


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


def save(
    fmt: Format,
    path: str | Path,
    fields: dict[str, Any],
    tensors: Sequence[tuple[str, torch.Tensor]],
) -> Path:
    """Check the target, then write the file atomically (see `atomic_write`); returns the path."""
    path = Path(path)
    check_target(path, fmt.error)
    parts = pack(fmt, fields, tensors)
    return atomic_write(path, lambda f: f.writelines(parts), fmt.error)


def check_target(path: Path, error: type[NgramkitError], lead: str | None = None) -> None:
    """Refuse a target whose folder is missing or that exists and is not a regular file
    (a directory, a FIFO, a device): `error` with `lead` ("cannot write PATH") first."""
    lead = lead or f"cannot write {path}"
    folder = path.parent
    if not folder.is_dir():
        raise error(f"{lead}: folder {folder} does not exist")
    if path.is_dir():
        raise error(f"{lead}: it is a directory")
    if path.exists() and not path.is_file():
        raise error(f"{lead}: it exists and is not a regular file (a FIFO or device)")


def atomic_write(
    path: Path, write: Callable[[BinaryIO], object], error: type[NgramkitError]
) -> Path:
    """Write a file with `write(f)` so that readers see the old file or the new one, never a mix.

    `write` gets the open binary file (pieces of bytes are written with
    `f.writelines`, a text format such as ARPA is streamed). The bytes go
    to a temporary file `.<name>.<random>.tmp` next to `path`,
    are fsynced, then renamed over `path` (os.replace, atomic on POSIX and
    Windows), and the folder is fsynced so the rename survives a power cut.
    A writer killed before the rename leaves its temporary file behind and
    `path` untouched; the next save of the same name removes such files once
    they are STALE_AFTER seconds old (younger ones may belong to a writer
    still at work). OSError becomes `error` with one line.
    """
    folder = path.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise error(f"cannot write {path}: {e.strerror or e}") from None
    try:
        with contextlib.suppress(OSError, AttributeError):  # no fchmod on Windows
            os.fchmod(fd, _file_mode(path))
        with os.fdopen(fd, "wb") as f:
            write(f)
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

    mkstemp creates 0o600 files; without this a saved file could not be
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


# -- reading --------------------------------------------------------------


def read(fmt: Format, path: str | Path) -> tuple[dict[str, Any], bytes]:
    """(header, payload) of an existing file, fully checked but not yet tensors.

    Order matters: the sizes the file declares (header length, tensor byte
    ranges) are checked against the file's real size before anything of that
    size is read, so a crafted file cannot make us allocate more than it holds.
    A sealed header's sizes are trusted (its checksum passed), so a payload of
    another size is damage to the payload; an unsealed header's may be the
    damaged part, so its payload's checksum is checked first: a truncated
    payload then reads as checksum_detail, a damaged size field as size_detail.
    """
    header, payload = _checked(fmt, path, map_payload=False)
    return header, bytes(payload)


def _checked(fmt: Format, path: str | Path, *, map_payload: bool) -> tuple[dict[str, Any], Any]:
    """(header, payload) after every check `read` states; the payload is mapped
    (`_map`) when `map_payload` and the file's format version is a mapped one, else
    read: never more bytes than the file holds."""
    name = str(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            header, start = _read_head(fmt, name, f, size)
            got, need = _sizes(fmt, name, header, size - start)
            mapped = map_payload and fmt.mapped(header.get("format_version"))
            payload = _map(f, start, got) if mapped else f.read(got)
    except OSError as e:
        raise fmt.error(f"{name}: cannot read ({e.strerror or e})") from None
    _check_payload(fmt, name, header, payload, got, need)
    return header, payload


def _sizes(fmt: Format, name: str, header: dict[str, Any], got: int) -> tuple[int, int]:
    """(payload bytes the file holds, bytes its tensors need), checked for a sealed header.

    A mapped file's payload ends padded to ALIGN, which it needs too.
    """
    specs = layout(fmt, name, header).values()
    need = max((s.offset + s.nbytes for s in specs), default=0)
    if fmt.mapped(header.get("format_version")):
        need += -need % ALIGN
    if got != need and fmt.sealed:
        raise fmt.damaged(name, fmt.size_detail.format(got=got, need=need))
    return got, need


def _check_payload(
    fmt: Format, name: str, header: dict[str, Any], payload: Any, got: int, need: int
) -> None:
    """The payload's checksum (sha256, or CRC-32 in a mapped file), then its size."""
    if len(payload) != got or _checksum(fmt, header, payload) != _declared(fmt, header):
        raise fmt.damaged(name, fmt.checksum_detail)
    if got != need:  # an unsealed header's size field may be the damaged part
        raise fmt.damaged(name, fmt.size_detail.format(got=got, need=need))


def _checksum(fmt: Format, header: dict[str, Any], payload: Any) -> str | None:
    if not fmt.mapped(header.get("format_version")):
        return hashlib.sha256(payload).hexdigest()
    digest = Crc32()
    digest.update(payload)
    return digest.hexdigest()


def _declared(fmt: Format, header: dict[str, Any]) -> Any:
    mapped = fmt.mapped(header.get("format_version"))
    return header.get("payload_crc32" if mapped else "payload_sha256")


def load(fmt: Format, path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(header, tensors by name) of an existing file, fully checked (see `read`).

    A mapped file is memory-mapped copy-on-write (a tensor written to gets
    private pages; the file is never changed) and its tensors are views of
    the mapping, checked as `read` checks them: nothing is read twice.
    """
    header, payload = _checked(fmt, path, map_payload=True)
    return header, tensors(fmt, str(path), header, payload)


def _map(f: BinaryIO, start: int, got: int) -> memoryview | bytearray:
    """The payload (`got` bytes from `start`): a copy-on-write mapping where the
    payload is aligned, else (a header rewritten elsewhere, unpadded) a copy."""
    if got == 0:
        return bytearray()
    if start % ALIGN == 0:
        with contextlib.suppress(OSError, ValueError):  # a file system that cannot map
            mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
            if len(mapping) == start + got:
                return memoryview(mapping)[start:]
    f.seek(start)
    return bytearray(f.read(got))


def tensors(
    fmt: Format, name: str, header: dict[str, Any], payload: Any
) -> dict[str, torch.Tensor]:
    """The payload's tensors: each a copy in its own (aligned) memory, or, in a
    mapped file's payload, a view of it (a copy where it is stored narrow)."""
    out: dict[str, torch.Tensor] = {}
    specs = layout(fmt, name, header)
    mapped = fmt.mapped(header.get("format_version"))
    end = 0  # pack writes the tensors back to back (aligned): any other layout was crafted
    for spec in sorted(specs.values(), key=lambda s: (s.offset, s.nbytes)):
        if spec.offset != end + (-end % ALIGN if mapped else 0):
            raise fmt.damaged(name, "tensors overlap or leave gaps in the payload: altered")
        end = spec.offset + spec.nbytes
    if not mapped or memoryview(payload).readonly:  # bytes: views would alias them
        payload = memoryview(payload) if not mapped else bytearray(payload)
    for key, spec in specs.items():
        try:
            out[key] = _tensor(spec, payload, mapped)
        except ValueError:
            raise fmt.damaged(name, f"tensor {key!r} is malformed") from None
    return out


def _tensor(spec: TensorSpec, payload: Any, mapped: bool) -> torch.Tensor:
    """One tensor of the payload, by its checked spec, widened to its "as" dtype."""
    dtype = getattr(torch, spec.dtype)
    if not spec.nbytes:
        t = torch.zeros(0, dtype=dtype)
    elif mapped:
        t = torch.frombuffer(
            payload, dtype=dtype, offset=spec.offset, count=spec.nbytes // DTYPES[spec.dtype]
        )
    else:
        t = torch.frombuffer(
            bytearray(payload[spec.offset : spec.offset + spec.nbytes]), dtype=dtype
        )
    return widen(t if spec.book is not None else t.reshape(spec.shape), spec)


def _read_head(fmt: Format, name: str, f: BinaryIO, size: int) -> tuple[dict[str, Any], int]:
    """The parsed, version-checked JSON header and the payload's start offset."""
    magic = f.read(len(fmt.magic))
    if magic != fmt.magic:
        raise fmt.error(fmt.foreign(name, magic) if fmt.foreign else _not_ours(fmt, name))
    raw_len = f.read(8)
    if len(raw_len) != 8:
        raise fmt.damaged(name, "truncated header")
    (head_len,) = struct.unpack("<Q", raw_len)
    start = len(fmt.magic) + 8 + head_len
    if head_len > MAX_HEADER or start > size:  # checked before reading head_len bytes
        raise fmt.damaged(name, "bad header length")
    header = _parse_json(fmt, name, f.read(head_len))
    if header.get("format") != fmt.name:
        raise fmt.error(_not_ours(fmt, name))
    version = header.get("format_version")
    if not is_int(version):
        raise fmt.damaged(name, "no format version")
    if version > fmt.version:
        raise fmt.error(
            f"{name}: {fmt.noun} format {version} is newer than this ngramkit reads "
            f"({fmt.version}); upgrade ngramkit"
        )
    # After the version check: a newer format may checksum differently.
    if fmt.sealed and hashlib.sha256(_canonical(header)).hexdigest() != header.get("header_sha256"):
        raise fmt.damaged(name, "header checksum mismatch: altered")
    return header, start


def _not_ours(fmt: Format, name: str) -> str:
    return f"{name}: not an ngramkit {fmt.noun}"


def _refuse_constant(word: str) -> Any:
    raise ValueError(f"{word} is not JSON")  # we write allow_nan=False: NaN/Infinity are damage


def _parse_json(fmt: Format, name: str, head: bytes) -> dict[str, Any]:
    """The header as a dict; the format's error for bad UTF-8, bad JSON or deep nesting.

    ValueError covers json's own errors and Python's limit on huge integer
    literals (over 4300 digits); RecursionError a nesting deeper than the stack.
    """
    try:
        header = json.loads(head.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise fmt.damaged(name, "header is not valid JSON") from None
    if not isinstance(header, dict):
        raise fmt.error(_not_ours(fmt, name))
    if _depth(header) > MAX_DEPTH:
        raise fmt.damaged(name, "header nested too deeply")
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


def layout(fmt: Format, name: str, header: dict[str, Any]) -> dict[str, TensorSpec]:
    """The tensors of a file, checked: the header's index, or what the format derives."""
    if fmt.layout is not None:
        return fmt.layout(name, header)
    index = header.get("tensors")
    if not isinstance(index, dict):
        raise fmt.damaged(name, "no tensor index")
    mapped = fmt.mapped(header.get("format_version"))
    return {key: _spec(fmt, name, key, spec, mapped) for key, spec in index.items()}


def _spec(fmt: Format, name: str, key: str, spec: Any, mapped: bool = False) -> TensorSpec:
    """One index entry, checked: a whitelisted dtype, at most MAX_DIMS dims each in
    [0, MAX_DIM], offset and nbytes non-negative ints, prod(shape) * itemsize == nbytes
    (plus 8 per value of a "book"); in a mapped file "as" absent, or the dtype WIDEN
    gives the stored one (float64 for a book).
    """
    got = (
        [spec.get(k) for k in ("dtype", "shape", "offset", "nbytes")]
        if isinstance(spec, dict)
        else [None] * 4
    )
    dtype, shape, offset, nbytes = got
    coded = mapped and isinstance(spec, dict) and "book" in spec
    book = _book_entry(spec["book"], dtype, spec.get("as")) if coded else None
    ok = (
        isinstance(dtype, str)
        and dtype in DTYPES
        and isinstance(shape, list)
        and len(shape) <= MAX_DIMS
        and all(is_int(d) and 0 <= d <= MAX_DIM for d in shape)
        and is_int(offset)
        and is_int(nbytes)
        and offset >= 0
        and nbytes >= 0
        and math.prod(shape) * DTYPES[dtype] + 8 * (book or 0) == nbytes
    )
    wide = spec.get("as") if ok and mapped else None
    high = _high(spec.get("high"), dtype, wide, shape) if ok and mapped else None
    if ok and mapped:  # offsets: tensors() checks the layout as a whole
        widens = "as" not in spec or WIDEN.get(dtype) == wide or book is not None
        ok = widens and ("high" not in spec or high is not None)
        ok = ok and ("book" not in spec or (book is not None and high is None))
    if not ok:
        raise fmt.damaged(name, f"tensor {key!r} is malformed")
    return TensorSpec(dtype, shape, offset, nbytes, wide, high, book)


def _book_entry(book: Any, dtype: Any, wide: Any) -> int | None:
    """A coded tensor's "book" (its number of values), checked: uint8 as float64,
    1 to MAX_BOOK values; else None."""
    ok = dtype == "uint8" and wide == "float64" and is_int(book) and 0 < book <= MAX_BOOK
    return book if ok else None


def _high(high: Any, dtype: str, wide: Any, shape: list[int]) -> tuple[int, tuple[int, ...]] | None:
    """A split tensor's "high" entry, checked (int32 as int64, 1-D, at most MAX_HIGH
    non-negative run lengths adding up to its length, high words within int32), or None."""
    if not isinstance(high, dict) or set(high) != {"from", "counts"}:
        return None
    first, counts = high["from"], high["counts"]
    ok = (
        dtype == "int32"
        and wide == "int64"
        and len(shape) == 1
        and is_int(first)
        and isinstance(counts, list)
        and 0 < len(counts) <= MAX_HIGH
        and all(is_int(n) and n >= 0 for n in counts)
        and sum(counts) == shape[0]
        and first >= -(2**31)
        and first + len(counts) <= 2**31
    )
    return (first, tuple(counts)) if ok else None


def is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)
