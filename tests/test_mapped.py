"""Model file format 2, the mapped layout: old files, exactness, checksum, damage.

Format 1 files (ngramkit 0.1) are kept in tests/data, written by the code of
then; `save(..., format_version=1)` must still write them byte for byte.
Everything format 2 stores narrow must load back bit for bit, its tensors are
views of a copy-on-write mapping (writing one never changes the file), its
checksum is zlib's CRC-32 taken in any pieces, and a truncated or
altered file is refused in the same one line as format 1.
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

import pytest
import torch

from ngramkit import registry
from ngramkit.container import ALIGN, Crc32, narrowest
from ngramkit.corpus import Corpus
from ngramkit.errors import ModelFileError
from ngramkit.persist import MAGIC, SeenItems, load, save

DATA = Path(__file__).parent / "data"
ITEMS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "ab", "b"]
OLD = {
    "v1-kn3": ("count", {"order": 3, "smooth": "kn"}),
    "v1-addk2": ("count", {"order": 2}),
    "v1-neural2": ("neural", {"order": 2, "steps": 3}),
}
"""The format-1 fixtures: how each was fitted (on ITEMS) by ngramkit 0.1."""
BLAS = {"v1-neural2"}
"""Fixtures whose fit goes through BLAS: MKL picks its kernels by CPU (AVX2, AVX-512),
so a fresh fit's weights may differ from the fixture's in the last bit on another
machine. They are compared with it within a few ulp, and the writer is tested on
the fixture's own (loaded) model; counting and the estimates use no BLAS and stay
exact."""


def _fit(plan: str):
    backend, hp = OLD[plan]
    return registry.get(backend)(**hp).fit(Corpus.from_items(ITEMS))


def _to_write(plan: str):
    """The model whose files are compared with the fixture's bytes: a fresh fit, or
    the fixture's own for a BLAS plan (its bytes then test the writer alone)."""
    return load(DATA / f"{plan}.ngk").model if plan in BLAS else _fit(plan)


def _head(raw: bytes) -> tuple[dict, int]:
    (n,) = struct.unpack("<Q", raw[len(MAGIC) : len(MAGIC) + 8])
    return json.loads(raw[len(MAGIC) + 8 : len(MAGIC) + 8 + n]), len(MAGIC) + 8 + n


def _same_state(a, b, exact: bool = True) -> None:
    (ca, ta), (cb, tb) = a.state(), b.state()
    assert ca == cb and sorted(ta) == sorted(tb)
    for key in ta:
        assert ta[key].dtype == tb[key].dtype, key
        if exact:
            assert torch.equal(ta[key], tb[key]), key
        else:
            torch.testing.assert_close(ta[key], tb[key], rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("plan", sorted(OLD))
def test_format_1_files_load_and_compute_what_a_fresh_fit_does(plan: str) -> None:
    loaded = load(DATA / f"{plan}.ngk")
    fresh = _fit(plan)
    assert loaded.header["format_version"] == 1
    _same_state(loaded.model, fresh, exact=plan not in BLAS)
    for item in ["emma", "ava", "bab"]:
        assert loaded.model.logprob(item) == pytest.approx(fresh.logprob(item), rel=1e-13)
        if plan not in BLAS:
            assert loaded.model.logprob(item) == fresh.logprob(item)
    assert loaded.model.training == fresh.training


@pytest.mark.parametrize("plan", sorted(OLD))
def test_format_1_is_still_written_byte_for_byte(plan: str, tmp_path: Path) -> None:
    path = save(_to_write(plan), tmp_path / "old.ngk", format_version=1)
    assert path.read_bytes() == (DATA / f"{plan}.ngk").read_bytes()


@pytest.mark.parametrize("plan", sorted(OLD))
def test_format_2_holds_exactly_what_format_1_does(plan: str, tmp_path: Path) -> None:
    model = _to_write(plan)
    raw = save(model, tmp_path / "new.ngk").read_bytes()
    header, start = _head(raw)
    assert header["format_version"] == 2 and "payload_crc32" in header
    assert start % ALIGN == 0 and (len(raw) - start) % ALIGN == 0
    assert all(spec["offset"] % ALIGN == 0 for spec in header["tensors"].values())
    back = load(tmp_path / "new.ngk")
    _same_state(back.model, load(DATA / f"{plan}.ngk").model)
    assert back.model.training == model.training


def test_narrow_storage_is_chosen_by_range_and_round_trips_bit_for_bit() -> None:
    cases = {
        (0, 255): torch.uint8,
        (-1, 5): torch.int16,
        (-(2**15), 2**15 - 1): torch.int16,
        (0, 2**15): torch.int32,
        (-(2**31), 2**31 - 1): torch.int32,
        (0, 2**31): torch.int64,
        (-(2**63), 0): torch.int64,
    }
    for (low, high), want in cases.items():
        t = torch.tensor([low, high, 0], dtype=torch.int64)
        got, high = narrowest(t)
        assert high is None
        assert got.dtype == want and torch.equal(got.to(torch.int64), t), (low, high)
    exact = torch.tensor([0.5, -0.0, float("inf"), -float("inf"), 3.0, 2.0**-149])
    got = narrowest(exact.double())[0]
    assert got.dtype == torch.float32
    assert torch.equal(got.double(), exact.double()) and bool(got.double()[1].signbit())
    for inexact in (0.1, float("nan"), 1e300, 2.0**-1074):  # 300 distinct: no "book"
        t = torch.tensor([inexact * (i + 1) for i in range(300)], dtype=torch.float64)
        assert narrowest(t)[0].dtype == torch.float64


def test_sorted_keys_past_int32_keep_their_low_words_and_high_runs() -> None:
    from ngramkit.container import TensorSpec, widen

    g = torch.Generator().manual_seed(3)
    for low, high in ((0, 96**5), (-(2**36), 2**36), (2**33, 2**33 + 2**31), (-(2**34), -1)):
        keys = torch.randint(low, high, (5000,), generator=g).sort().values
        keys[-1] = high  # a key on the last high word's edge
        stored, extra = narrowest(keys)
        assert stored.dtype == torch.int32 and extra is not None and set(extra) == {"high"}
        entry = extra["high"]
        assert entry["from"] == low >> 32 and sum(entry["counts"]) == len(keys)
        spec = TensorSpec(
            "int32", [len(keys)], 0, 4 * len(keys), "int64", (entry["from"], tuple(entry["counts"]))
        )
        assert torch.equal(widen(stored, spec), keys)
    unsorted = torch.tensor([2**40, 0])
    assert narrowest(unsorted)[0].dtype == torch.int64  # only sorted keys split
    wide = torch.tensor([0, 2**32 * 200])  # spans 201 high words: more than MAX_HIGH
    assert narrowest(wide)[0].dtype == torch.int64


def test_a_model_with_keys_past_int32_round_trips(tmp_path: Path) -> None:
    """100 symbols at order 5: 5-gram keys up to 100^5 > 2^33, stored as low words and runs."""
    items = ["".join(chr(0x100 + (i * 7 + j * 3) % 100) for j in range(7)) for i in range(400)]
    model = registry.get("count")(order=5, smooth="kn").fit(Corpus.from_items(items))
    path = save(model, tmp_path / "wide.ngk")
    index = _head(path.read_bytes())[0]["tensors"]
    assert index["keys5"]["dtype"] == "int32" and len(index["keys5"]["high"]["counts"]) > 1
    _same_state(load(path).model, model)


def test_the_payload_checksum_is_zlib_crc32_in_any_pieces() -> None:
    import zlib

    rng = random.Random(5)
    for n in (0, 1, 63, 4096, 100_003):
        data = rng.randbytes(n)
        digest, at = Crc32(), 0
        while at < n:
            step = rng.choice([1, 7, 64, 5000, n])
            digest.update(data[at : at + step])
            at += step
        assert digest.hexdigest() == f"{zlib.crc32(data):08x}", n


def test_two_flipped_bits_anywhere_change_the_checksum() -> None:
    """What a word sum would miss: the same bit flipped both ways in two words."""
    rng = random.Random(6)
    data = bytearray(rng.randbytes(65_536))
    whole = Crc32()
    whole.update(data)
    for _ in range(200):
        i, j = rng.sample(range(len(data) // 8), 2)
        bit = rng.randrange(64)
        word = lambda k: int.from_bytes(data[8 * k : 8 * k + 8], "little")  # noqa: E731
        if (word(i) >> bit & 1) == (word(j) >> bit & 1):
            continue
        altered = bytearray(data)
        for k in (i, j):
            altered[8 * k : 8 * k + 8] = (word(k) ^ 1 << bit).to_bytes(8, "little")
        digest = Crc32()
        digest.update(altered)
        assert digest.hexdigest() != whole.hexdigest()


def test_tensors_are_views_of_a_copy_on_write_mapping(tmp_path: Path, names: list[str]) -> None:
    fitted = registry.get("count")(order=3, smooth="kn").fit(names[:3000])
    path = save(fitted, tmp_path / "m.ngk")
    before = path.read_bytes()
    index = _head(before)[0]["tensors"]
    model = load(path).model
    logp = model.estimate_.logp  # float64, stored as is: views of one mapping
    assert index["logp3"]["dtype"] == index["logp2"]["dtype"] == "float64"
    apart = index["logp3"]["offset"] - index["logp2"]["offset"]
    assert logp[2].data_ptr() - logp[1].data_ptr() == apart
    logp[2].fill_(0.0)  # private pages: the file is never written
    assert path.read_bytes() == before
    assert load(path).model.logprob("emma") == fitted.logprob("emma")


def test_an_unaligned_payload_is_copied_and_loads_the_same(tmp_path: Path) -> None:
    """A header rewritten elsewhere, unpadded (as tests/fuzzing.py repack(align=False))."""
    raw = save(_fit("v1-kn3"), tmp_path / "m.ngk").read_bytes()
    header, start = _head(raw)
    head = json.dumps(header).encode()
    moved = tmp_path / "moved.ngk"
    moved.write_bytes(MAGIC + struct.pack("<Q", len(head)) + head + raw[start:])
    assert (len(MAGIC) + 8 + len(head)) % ALIGN != 0
    _same_state(load(moved).model, load(tmp_path / "m.ngk").model)


def test_training_items_are_decoded_on_first_use(tmp_path: Path) -> None:
    model = _fit("v1-kn3")
    seen = load(save(model, tmp_path / "m.ngk")).model.training.seen
    assert isinstance(seen, SeenItems) and seen._items is None  # not decoded by load
    assert "emma" in seen and "zz" not in seen and seen == frozenset(ITEMS)
    assert len(seen) == len(ITEMS) and sorted(seen) == sorted(ITEMS)


def test_a_crafted_items_blob_is_refused_in_one_line_on_first_use(tmp_path: Path) -> None:
    """Valid checksums, but a blob that is not zlib (or not UTF-8 inside)."""
    import zlib

    from fuzzing import rebuilt, tensors_of

    data = save(_fit("v1-kn3"), tmp_path / "m.ngk").read_bytes()
    header, tensors = tensors_of(data)
    for blob in (b"not zlib", zlib.compress(b"\xff\xfe"), zlib.compress(b"ok")[:-2]):
        blob_t = torch.frombuffer(bytearray(blob), dtype=torch.uint8)
        path = tmp_path / "crafted.ngk"
        path.write_bytes(rebuilt(header, {**tensors, "__seen_zlib__": blob_t}))
        seen = load(path).model.training.seen
        with pytest.raises(ModelFileError) as e:
            "emma" in seen  # noqa: B015
        assert str(e.value) == f"{path}: damaged model file (seen items)"


def test_truncated_or_altered_mapped_files_are_refused_in_one_line(tmp_path: Path) -> None:
    path = save(_fit("v1-kn3"), tmp_path / "m.ngk")
    raw = path.read_bytes()
    header, start = _head(raw)
    payload = len(raw) - start
    path.write_bytes(raw[:-1])
    with pytest.raises(ModelFileError) as e:
        load(path)
    need = f"{payload - 1} payload bytes, the header declares {payload}: truncated or altered"
    assert str(e.value) == f"{path}: damaged model file ({need})"
    for spec in header["tensors"].values():  # one flipped bit in every tensor
        altered = bytearray(raw)
        altered[start + spec["offset"] + spec["nbytes"] // 2] ^= 0x10
        path.write_bytes(bytes(altered))
        with pytest.raises(ModelFileError) as e:
            load(path)
        assert (
            str(e.value) == f"{path}: damaged model file (checksum mismatch: truncated or altered)"
        )


def test_a_narrow_tensor_may_only_widen_as_the_format_says(tmp_path: Path) -> None:
    from fuzzing import repack, unpack

    data = save(_fit("v1-kn3"), tmp_path / "m.ngk").read_bytes()
    header, payload = unpack(data)
    index = header["tensors"]
    key = next(k for k, s in index.items() if "as" in s and "book" not in s)
    coded = next(k for k, s in index.items() if "book" in s)  # a small model's logp
    crafted = [(key, {"as": w}) for w in ("float64", "int32", "object", 7)]
    crafted += [(key, {"book": 1}), (coded, {"as": "int64"}), (coded, {"book": 0})]
    crafted += [(coded, {"book": True}), (coded, {"book": 10**400}), (coded, {"book": [1]})]
    n = index[coded]["book"]  # fewer values, the same bytes: codes past the book
    shape = [index[coded]["shape"][0] + 8 * (n - 1)]
    crafted += [(coded, {"book": 1, "shape": shape})]
    for name, change in crafted:
        header["tensors"] = {**index, name: {**index[name], **change}}
        path = tmp_path / "crafted.ngk"
        path.write_bytes(repack(header, payload))
        with pytest.raises(ModelFileError, match=rf"tensor '{name}' is malformed\)$"):
            load(path)


def test_an_unknown_format_version_is_not_written(tmp_path: Path) -> None:
    for version in (0, 3, "2"):
        with pytest.raises(ModelFileError, match="not saved: no model file format"):
            save(_fit("v1-addk2"), tmp_path / "m.ngk", format_version=version)  # type: ignore[arg-type]
    assert not (tmp_path / "m.ngk").exists()
