"""The container under model and count-table files: layout, checks, sizes before allocation."""

from __future__ import annotations

import hashlib
import json
import struct
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import torch

from ngramkit import CountLM, container, save
from ngramkit.container import Format, seal
from ngramkit.counting import save as save_table
from ngramkit.counting.tablefile import COUNTS
from ngramkit.counting.tablefile import load as load_table
from ngramkit.counts import NgramCounts
from ngramkit.errors import CountTableError, ModelFileError, NgramkitError
from ngramkit.persist import MODEL
from ngramkit.persist import load as load_model
from ngramkit.tokenizer import Vocabulary

TOY = Format(b"TOY\n", "toy", 2, "toy file", NgramkitError, "size", "sum")
ITEMS = ["emma", "olivia", "ava", "isabella", "sophia"]


def parts(raw: bytes, magic: bytes) -> tuple[dict[str, Any], bytes]:
    (n,) = struct.unpack("<Q", raw[len(magic) : len(magic) + 8])
    return json.loads(raw[len(magic) + 8 : len(magic) + 8 + n]), raw[len(magic) + 8 + n :]


def write(path: Path, magic: bytes, header: dict[str, Any], payload: bytes) -> Path:
    head = json.dumps(header).encode()
    path.write_bytes(magic + struct.pack("<Q", len(head)) + head + payload)
    return path


def test_round_trip_keeps_every_dtype_shape_and_byte(tmp_path: Path) -> None:
    tensors = [
        ("a", torch.arange(6, dtype=torch.int64).reshape(2, 3)),
        ("b", torch.tensor([0.5, -1.0], dtype=torch.float32)),
        ("c", torch.zeros(0, 4, dtype=torch.uint8)),
    ]
    path = container.save(TOY, tmp_path / "t.toy", {"x": [1, 2]}, tensors)
    header, got = container.load(TOY, path)
    assert header["x"] == [1, 2] and header["format"] == "toy" and header["format_version"] == 2
    assert sorted(header["tensors"]) == ["a", "b", "c"]
    for name, t in tensors:
        assert got[name].dtype == t.dtype and torch.equal(got[name], t)


def test_the_layout_is_magic_length_sorted_json_payload(tmp_path: Path) -> None:
    t = torch.tensor([1, 2], dtype=torch.int64)
    raw = b"".join(container.pack(TOY, {"z": 1}, [("t", t)]))
    header, payload = parts(raw, TOY.magic)
    assert raw.startswith(b"TOY\n") and payload == bytes(container.tensor_view(t))
    assert header["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    assert list(header) == sorted(header)


def test_a_newer_format_and_a_foreign_one_are_named(tmp_path: Path) -> None:
    path = container.save(TOY, tmp_path / "t.toy", {}, [])
    header, payload = parts(path.read_bytes(), TOY.magic)
    write(path, TOY.magic, {**header, "format_version": 3}, payload)
    with pytest.raises(NgramkitError, match=r"t.toy: toy file format 3 is newer .* \(2\); upgrade"):
        container.read(TOY, path)
    path.write_bytes(b"NOPE" + b"\0" * 20)
    with pytest.raises(NgramkitError, match=r"t.toy: not an ngramkit toy file$"):
        container.read(TOY, path)


# -- sizes are checked before anything of that size is read -------------------


def peak_bytes(fn) -> tuple[int, str]:
    """The most memory Python allocated while `fn()` ran (and raised)."""
    tracemalloc.start()
    try:
        with pytest.raises(NgramkitError) as e:
            fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, str(e.value)


def test_a_model_file_claiming_a_huge_tensor_is_refused_before_reading_it(tmp_path: Path) -> None:
    path = save(CountLM(order=2).fit(ITEMS), tmp_path / "m.ngk")
    header, payload = parts(path.read_bytes(), MODEL.magic)
    n = 2**37  # 1 TiB of int64
    header["tensors"]["huge"] = {"dtype": "int64", "shape": [n], "offset": 0, "nbytes": 8 * n}
    write(path, MODEL.magic, seal(header), payload)
    peak, message = peak_bytes(lambda: load_model(path))
    assert message == (
        f"{path}: damaged model file ({len(payload)} payload bytes, the header declares "
        f"{8 * n}: truncated or altered)"
    )
    assert peak < 2**20


def test_a_count_table_claiming_huge_entries_is_refused_before_reading_them(
    tmp_path: Path,
) -> None:
    table = NgramCounts.count_items(ITEMS, Vocabulary.build(ITEMS), 2)
    path = save_table(table, tmp_path / "t.counts")
    header, payload = parts(path.read_bytes(), COUNTS.magic)
    write(path, COUNTS.magic, {**header, "entries": 2**40}, payload)
    peak, message = peak_bytes(lambda: load_table(path))
    assert message == f"{path}: damaged count table (order, size or byte order)"
    assert peak < 2**20


@pytest.mark.parametrize("fmt", [MODEL, COUNTS], ids=["model", "counts"])
def test_a_huge_header_length_is_refused_before_reading_it(tmp_path: Path, fmt: Format) -> None:
    path = tmp_path / "f"
    path.write_bytes(fmt.magic + struct.pack("<Q", 2**62) + b"{}")
    load = load_model if fmt is MODEL else load_table
    peak, message = peak_bytes(lambda: load(path))
    assert message == f"{path}: damaged {fmt.noun} (bad header length)"
    assert peak < 2**20


def test_a_truncated_payload_is_damage_in_each_format_s_words(tmp_path: Path) -> None:
    model = save(CountLM(order=2).fit(ITEMS), tmp_path / "m.ngk")
    model.write_bytes(model.read_bytes()[:-3])
    with pytest.raises(ModelFileError, match=r"damaged model file \(\d+ payload bytes, the"):
        load_model(model)
    table = NgramCounts.count_items(ITEMS, Vocabulary.build(ITEMS), 2)
    counts = save_table(table, tmp_path / "t.counts")
    counts.write_bytes(counts.read_bytes()[:-3])
    with pytest.raises(CountTableError, match=r"damaged count table \(checksum mismatch\)$"):
        load_table(counts)
