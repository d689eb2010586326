"""Model files: round trip, damage, foreign and newer files, atomic writes."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest
import torch

from ngramkit import CountLM, load, save
from ngramkit.container import seal
from ngramkit.errors import ModelFileError
from ngramkit.persist import MAGIC


@pytest.fixture()
def saved(tmp_path: Path, names: list[str]) -> Path:
    model = CountLM(order=3, smooth=0.5).fit(names[:2000])
    return save(model, tmp_path / "m.ngk", extra={"metrics": {"train": {"nll": 1.0}}})


def rewrite_header(path: Path, change: dict) -> None:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[len(MAGIC) : len(MAGIC) + 8])
    header = json.loads(raw[len(MAGIC) + 8 : len(MAGIC) + 8 + n])
    header.update(change)
    head = json.dumps(seal(header)).encode()  # a well-formed file written elsewhere
    path.write_bytes(MAGIC + struct.pack("<Q", len(head)) + head + raw[len(MAGIC) + 8 + n :])


def test_round_trip_scores_identically(saved: Path, names: list[str]) -> None:
    loaded = load(saved)
    fresh = CountLM(order=3, smooth=0.5).fit(names[:2000])
    for item in ["emma", "zzz", "andrejq"]:
        assert loaded.model.logprob(item) == fresh.logprob(item)
    assert loaded.model.sample(20, seed=1) == fresh.sample(20, seed=1)
    assert loaded.model.training is not None and "emma" in loaded.model.training.seen
    assert loaded.header["backend"] == "count"
    assert loaded.header["provider"]["distribution"] == "ngramkit"
    assert loaded.metrics == {"train": {"nll": 1.0}}


def test_same_model_same_bytes(tmp_path: Path, names: list[str]) -> None:
    a = save(CountLM().fit(names[:500]), tmp_path / "a.ngk")
    b = save(CountLM().fit(names[:500]), tmp_path / "b.ngk")
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("cut", [3, 12, 40, -1])
def test_truncated_files(saved: Path, cut: int) -> None:
    raw = saved.read_bytes()
    saved.write_bytes(raw[:cut])
    with pytest.raises(ModelFileError, match=r"m\.ngk: "):
        load(saved)


def test_flipped_payload_byte(saved: Path) -> None:
    raw = bytearray(saved.read_bytes())
    raw[-5] ^= 0x40
    saved.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="checksum"):
        load(saved)


def test_foreign_file(tmp_path: Path) -> None:
    p = tmp_path / "x.ngk"
    p.write_text("hello")
    with pytest.raises(ModelFileError, match="not an ngramkit model file"):
        load(p)
    torch.save({"a": 1}, p)
    with pytest.raises(ModelFileError, match="not an ngramkit model file"):
        load(p)


def test_newer_format(saved: Path) -> None:
    rewrite_header(saved, {"format_version": 99})
    with pytest.raises(ModelFileError, match="format 99 is newer"):
        load(saved)


def test_missing_backend_names_distribution(saved: Path) -> None:
    rewrite_header(saved, {"backend": "fancy", "provider": {"distribution": "ngramkit-fancy"}})
    with pytest.raises(ModelFileError, match=r"needs backend 'fancy'.*ngramkit-fancy"):
        load(saved)


def test_malformed_tensor_index(saved: Path) -> None:
    rewrite_header(
        saved, {"tensors": {"keys": {"dtype": "object", "shape": [1], "offset": 0, "nbytes": 8}}}
    )
    with pytest.raises(ModelFileError, match="malformed"):
        load(saved)


def test_missing_folder_and_atomic_write(tmp_path: Path, names: list[str]) -> None:
    model = CountLM().fit(names[:50])
    with pytest.raises(ModelFileError, match="does not exist"):
        save(model, tmp_path / "nope" / "m.ngk")
    target = tmp_path / "m.ngk"
    target.write_bytes(b"old")

    class Boom(KeyboardInterrupt):
        pass

    def explode(*args: object, **kwargs: object) -> None:
        raise Boom

    import ngramkit.container as container

    orig = container.os.replace
    container.os.replace = explode  # type: ignore[assignment]
    try:
        with pytest.raises(Boom):
            save(model, target)
    finally:
        container.os.replace = orig  # type: ignore[assignment]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.ngk"]  # no temp file left


def test_an_altered_header_is_damage(saved: Path) -> None:
    """A header edited in place (a flipped byte, a changed value) fails its checksum."""
    raw = saved.read_bytes()
    changed = raw.replace(b'"smooth": 0.5', b'"smooth": 7.5', 1)
    assert changed != raw
    saved.write_bytes(changed)
    with pytest.raises(ModelFileError, match="header checksum mismatch"):
        load(saved)


def test_a_target_that_is_not_a_regular_file_is_refused(tmp_path: Path, names: list[str]) -> None:
    fifo = tmp_path / "pipe.ngk"
    os.mkfifo(fifo)
    with pytest.raises(ModelFileError, match="not a regular file"):
        save(CountLM().fit(names[:20]), fifo)
    assert fifo.exists() and not fifo.is_file()


def test_a_file_of_another_backend_version_names_both_versions(saved: Path) -> None:
    raw = saved.read_bytes()
    (n,) = struct.unpack("<Q", raw[len(MAGIC) : len(MAGIC) + 8])
    header = json.loads(raw[len(MAGIC) + 8 : len(MAGIC) + 8 + n])
    unreadable = {**header["config"], "learned": "as an older version wrote it"}
    rewrite_header(saved, {"config": unreadable})
    with pytest.raises(ModelFileError) as same_version:
        load(saved)
    assert str(same_version.value) == f"{saved}: count model: learned state is not a mapping"
    rewrite_header(saved, {"provider": {"distribution": "ngramkit", "version": "0.0.1"}})
    with pytest.raises(ModelFileError) as older:
        load(saved)
    assert str(older.value) == (
        f"{saved}: written by ngramkit 0.0.1, and the installed ngramkit 0.1.0 cannot read it: "
        "install ngramkit==0.0.1 to use it, or fit the model again "
        "(count model: learned state is not a mapping)"
    )
