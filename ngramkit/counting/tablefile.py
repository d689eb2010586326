"""Count table files (`ngramkit count -o part.counts`): JSON header plus raw tensors.

The same container idea as model files (persist.py), with its own magic and
format name so that neither is mistaken for the other:

    b"NGRAMKIT-COUNTS\\n"     16 bytes, the magic
    header length            8 bytes, unsigned, little-endian
    header                   UTF-8 JSON: format, format_version, order,
                             vocabulary, key scheme, data stats, tensor
                             index, payload sha256
    payload                  keys then counts, int64 little-endian

Reading checks the magic, the header, the format and its version, the
vocabulary, each tensor's byte range and the payload's checksum, then the
table itself (keys sorted, unique, below V^N; counts positive), so a damaged
or foreign file is one clear line (CountTableError). Never unpickles.
Writes are atomic: a temporary file, then a rename.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
from pathlib import Path

from ..errors import ModelFileError
from ..persist import atomic_write, check_target, tensor_bytes
from .table import CountTable, CountTableError

MAGIC = b"NGRAMKIT-COUNTS\n"
FORMAT = "ngramkit-counts"
FORMAT_VERSION = 1
KEY_SCHEME = "base-V int64, context first; top order only (lower orders are its suffix sums)"
MAX_HEADER = 64 * 2**20  # bytes: the header holds the vocabulary, nothing large


def encode(table: CountTable) -> bytes:
    """The bytes of a count table file (see the module docstring)."""
    from .. import __version__

    keys, counts = tensor_bytes(table.keys), tensor_bytes(table.counts)
    payload = keys + counts
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "ngramkit_version": __version__,
        "order": table.order,
        "vocab": table.vocab.to_json(),
        "key_scheme": KEY_SCHEME,
        "byteorder": sys.byteorder,
        "data": {
            "items": table.items,
            "blank": table.blank,
            "oov": table.oov,
            "sources": list(table.sources),
        },
        "entries": len(table.keys),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }
    head = json.dumps(header, sort_keys=True).encode("utf-8")
    return MAGIC + struct.pack("<Q", len(head)) + head + payload


def save(table: CountTable, path: str | Path) -> Path:
    """Write `table` to `path` atomically, as model files are written; returns the path."""
    path = Path(path)
    check_target(path, CountTableError)
    return atomic_write(path, [encode(table)], CountTableError)


def load(path: str | Path) -> CountTable:
    """Read and fully check a count table file; CountTableError (one line) if anything is off."""
    name = str(path)
    header, payload = _read(Path(path), name)
    try:
        return _table(header, payload, name)
    except (KeyError, TypeError, ValueError, ModelFileError) as e:
        detail = str(e) if isinstance(e, ModelFileError) else "header fields"
        raise CountTableError(f"{name}: damaged count table ({detail})") from None


def _read(path: Path, name: str) -> tuple[dict, bytes]:
    if not path.is_file():
        raise CountTableError(f"{name}: no such count table file")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise CountTableError(f"{name}: cannot read ({e.strerror or e})") from None
    if not raw.startswith(MAGIC):
        kind = "a model file" if raw.startswith(b"NGRAMKIT\n") else "not an ngramkit count table"
        raise CountTableError(f"{name}: {kind}, not a count table (make one with ngramkit count)")
    at = len(MAGIC)
    if len(raw) < at + 8:
        raise CountTableError(f"{name}: damaged count table (truncated header)")
    (head_len,) = struct.unpack("<Q", raw[at : at + 8])
    if head_len > MAX_HEADER or at + 8 + head_len > len(raw):
        raise CountTableError(f"{name}: damaged count table (bad header length)")
    try:
        header = json.loads(raw[at + 8 : at + 8 + head_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise CountTableError(f"{name}: damaged count table (header is not valid JSON)") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CountTableError(f"{name}: not an ngramkit count table")
    version = header.get("format_version")
    if not isinstance(version, int):
        raise CountTableError(f"{name}: damaged count table (no format version)")
    if version > FORMAT_VERSION:
        raise CountTableError(
            f"{name}: count table format {version} is newer than this ngramkit reads "
            f"({FORMAT_VERSION}); upgrade ngramkit"
        )
    payload = raw[at + 8 + head_len :]
    if hashlib.sha256(payload).hexdigest() != header.get("payload_sha256"):
        raise CountTableError(f"{name}: damaged count table (checksum mismatch)")
    return header, payload


def _table(header: dict, payload: bytes, name: str) -> CountTable:
    import torch

    from ..counts import check_order
    from ..tokenizer import Vocabulary

    vocab = Vocabulary.from_json(header["vocab"])
    order, m = header["order"], header["entries"]
    data = header["data"]
    ok = (
        isinstance(order, int)
        and order >= 1
        and isinstance(m, int)
        and len(payload) == 16 * m
        and header.get("byteorder") == sys.byteorder
    )
    if not ok:
        raise CountTableError(f"{name}: damaged count table (order, size or byte order)")
    check_order(order, len(vocab))
    flat = torch.frombuffer(bytearray(payload), dtype=torch.long) if m else torch.zeros(0).long()
    keys, counts = flat[:m].clone(), flat[m:].clone()
    valid = (
        (m == 0 or (int(keys[0]) >= 0 and int(keys[-1]) < len(vocab) ** order))
        and bool((keys[1:] > keys[:-1]).all())
        and bool((counts > 0).all())
    )
    if not valid:
        raise CountTableError(f"{name}: damaged count table (keys or counts are inconsistent)")
    sources = tuple(str(s) for s in data["sources"])
    return CountTable(
        vocab,
        order,
        keys,
        counts,
        int(data["items"]),
        int(data["blank"]),
        int(data["oov"]),
        sources,
    )
