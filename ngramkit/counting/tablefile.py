"""Count table files (`ngramkit count -o part.counts`): counts.NgramCounts in the container.

The container (container.py) with its own magic and format name, so that
neither is mistaken for a model file:

    b"NGRAMKIT-COUNTS\\n"     16 bytes, the magic
    header length            8 bytes, unsigned, little-endian
    header                   UTF-8 JSON: format, format_version, order,
                             vocabulary, key scheme, data stats (items,
                             blank, oov, sources, weight, and `normalized`:
                             the items each part of the rule changed, when
                             counted), entries, payload sha256
    payload                  keys then counts, int64 (`entries` each)

Reading checks the container (sizes before allocating, the checksum), then
the vocabulary and the table itself (keys sorted, unique, below V^N; counts
positive), so a damaged or foreign file is one clear line (CountTableError).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from .. import __version__, container
from ..container import Format, TensorSpec
from ..counts import NgramCounts, Provenance
from ..errors import CountTableError, ModelFileError
from ..keys import check_order
from ..persist import MAGIC as MODEL_MAGIC
from ..tokenizer import Vocabulary

MAGIC = b"NGRAMKIT-COUNTS\n"
KEY_SCHEME = "base-V int64, context first; top order only (lower orders are its suffix sums)"


def _layout(name: str, header: dict[str, Any]) -> dict[str, TensorSpec]:
    """keys then counts, `entries` int64 each (a KeyError is 'header fields', see load)."""
    m = header["entries"]
    if not container.is_int(m) or m < 0:
        raise COUNTS.damaged(name, "order, size or byte order")
    return {
        "keys": TensorSpec("int64", [m], 0, 8 * m),
        "counts": TensorSpec("int64", [m], 8 * m, 8 * m),
    }


def _foreign(name: str, magic: bytes) -> str:
    kind = "a model file" if magic.startswith(MODEL_MAGIC) else "not an ngramkit count table"
    return f"{name}: {kind}, not a count table (make one with ngramkit count)"


COUNTS = Format(
    MAGIC,
    "ngramkit-counts",
    1,
    "count table",
    CountTableError,
    layout=_layout,
    foreign=_foreign,
    size_detail="order, size or byte order",
    checksum_detail="checksum mismatch",
)


def save(table: NgramCounts, path: str | Path) -> Path:
    """Write `table` to `path` atomically, as model files are written; returns the path."""
    fields = {
        "ngramkit_version": __version__,
        "order": table.order,
        "vocab": table.vocab.to_json(),
        "key_scheme": KEY_SCHEME,
        "byteorder": sys.byteorder,
        "data": {
            "items": table.provenance.items,
            "blank": table.provenance.blank,
            "oov": table.provenance.oov,
            "sources": list(table.provenance.sources),
            **({"weight": table.provenance.weight} if table.provenance.weight else {}),
            **({"normalized": made} if (made := table.provenance.normalized) else {}),
        },
        "entries": len(table.top_keys),
    }
    return container.save(
        COUNTS, path, fields, [("keys", table.top_keys), ("counts", table.top_counts)]
    )


def load(path: str | Path) -> NgramCounts:
    """Read and fully check a count table file; CountTableError (one line) if anything is off."""
    name = str(path)
    if not Path(path).is_file():
        raise CountTableError(f"{name}: no such count table file")
    try:
        header, tensors = container.load(COUNTS, path)
        return _table(header, tensors, name)
    except (KeyError, TypeError, ValueError, ModelFileError) as e:
        detail = str(e) if isinstance(e, ModelFileError) else "header fields"
        raise COUNTS.damaged(name, detail) from None


def _table(header: dict, tensors: dict[str, torch.Tensor], name: str) -> NgramCounts:
    vocab = Vocabulary.from_json(header["vocab"])
    order, data = header["order"], header["data"]
    if not (isinstance(order, int) and order >= 1 and header.get("byteorder") == sys.byteorder):
        raise COUNTS.damaged(name, "order, size or byte order")
    check_order(order, len(vocab))
    keys, counts = tensors["keys"], tensors["counts"]
    valid = (
        (len(keys) == 0 or (int(keys[0]) >= 0 and int(keys[-1]) < len(vocab) ** order))
        and bool((keys[1:] > keys[:-1]).all())
        and bool((counts > 0).all())
    )
    if not valid:
        raise COUNTS.damaged(name, "keys or counts are inconsistent")
    sources = tuple(str(s) for s in data["sources"])
    weight = int(data.get("weight", 0))  # total weight of a weighted list's items
    normalized = _changes(data.get("normalized"), name)  # absent in tables before 0.1 kept them
    made = Provenance(int(data["items"]), int(data["blank"]), int(data["oov"]), sources, weight)
    made = replace(made, normalized=normalized)
    return NgramCounts(vocab, order, keys, counts, made)


def _changes(value: Any, name: str) -> dict[str, int] | None:
    """The header's per-part change counts: {"form", "case", "accents"} -> int >= 0."""
    if value is None:
        return None
    ok = isinstance(value, dict) and set(value) == {"form", "case", "accents"}
    if not ok or not all(type(v) is int and v >= 0 for v in value.values()):
        raise COUNTS.damaged(name, "header fields")
    return {k: value[k] for k in ("form", "case", "accents")}
