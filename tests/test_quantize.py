"""Quantized count models (KenLM's -q/-b) and their one-byte storage in model files."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from ngramkit import CountLM, load, save
from ngramkit.cli import cli
from ngramkit.container import narrowest
from ngramkit.errors import OptionError
from ngramkit.evaluate import corpus_metrics
from ngramkit.persist import MAGIC
from ngramkit.quantize import binned, quantize


def _binned_loop(values: list[float], bits: int, keep_zero: bool) -> list[float]:
    """binned() as its docstring states it, with plain lists."""
    live = [i for i, v in enumerate(values) if not (keep_zero and v == 0)]
    order = sorted(live, key=lambda i: (values[i], i))
    bins = 2**bits - (1 if keep_zero else 0)
    n, out = len(order), list(values)
    for b in range(bins):
        members = order[n * b // bins : n * (b + 1) // bins]
        for i in members:
            out[i] = sum(values[j] for j in members) / len(members)
    return out


def test_bins_are_equal_count_means_and_zero_stays() -> None:
    g = torch.Generator().manual_seed(2)
    values = -torch.rand(1000, generator=g, dtype=torch.float64) * 5
    values[::7] = 0.0
    for bits, keep in ((2, False), (3, True), (8, True)):
        got = binned(values, bits, keep_zero=keep).tolist()
        want = _binned_loop(values.tolist(), bits, keep)
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12)
        assert len(set(got)) <= 2**bits
        if keep:
            assert all(g == 0 for g, v in zip(got, values.tolist()) if v == 0)


def test_a_quantized_model_is_stored_in_one_byte_a_value_bit_for_bit(
    tmp_path: Path, names: list[str]
) -> None:
    model = CountLM(order=4, smooth="mkn").fit(names[:3000])
    small = quantize(model, 8, 6)
    tables = small.backoff_tables()
    for k in range(2, 5):
        assert len(torch.unique(tables.logp[k - 1])) <= 256
        assert len(torch.unique(tables.log_bow[k - 2])) <= 64
    assert torch.equal(tables.logp[0], model.backoff_tables().logp[0])  # unigrams exact
    path = save(small, tmp_path / "q.ngk")
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[len(MAGIC) : len(MAGIC) + 8])
    index = json.loads(raw[len(MAGIC) + 8 : len(MAGIC) + 8 + n])["tensors"]
    assert index["logp4"]["dtype"] == "uint8" and index["logp4"]["as"] == "float64"
    back = load(path).model
    for key, t in small.state()[1].items():
        assert torch.equal(back.state()[1][key], t), key
    assert path.stat().st_size < save(model, tmp_path / "m.ngk").stat().st_size
    cost = corpus_metrics(small, names[3000:3500]).nll - corpus_metrics(model, names[3000:3500]).nll
    assert abs(cost) < 0.02  # nats per token


def test_codes_need_finite_values_few_enough_and_no_negative_zero() -> None:
    stored, entry = narrowest(torch.tensor([0.5, -1.25, 0.5] * 20, dtype=torch.float64))
    assert entry == {"book": 2}
    assert stored[:16].view(torch.float64).tolist() == [-1.25, 0.5]
    assert stored[16:].tolist() == [1, 0, 1] * 20
    assert narrowest(torch.tensor([0.5, -1.25, 0.5], dtype=torch.float64))[1] is None  # no gain
    for t in ([-0.0, 1.0] * 20, [float("-inf"), 1.0] * 20, [0.1 * i for i in range(300)]):
        assert narrowest(torch.tensor(t, dtype=torch.float64))[1] is None


def test_what_cannot_be_quantized_is_one_line(names: list[str]) -> None:
    with pytest.raises(OptionError, match="needs a smoothed count model"):
        quantize(CountLM(order=3).fit(names[:200]), 8, 8)  # add-k: counts, not tables
    with pytest.raises(OptionError, match="--quantize must be 1 to 8 bits, got 9"):
        quantize(CountLM(order=3, smooth="kn").fit(names[:200]), 9, 8)


def test_export_writes_a_quantized_model_file(tmp_path: Path, names: list[str]) -> None:
    model = tmp_path / "m.ngk"
    save(CountLM(order=3, smooth="kn").fit(names[:2000]), model)
    out = tmp_path / "q.ngk"
    args = ["export", str(model), "--format", "ngk", "--quantize", "6", "-o", str(out), "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["quantized"] == {"prob_bits": 6, "backoff_bits": 6}
    assert data["bytes"] == out.stat().st_size
    assert load(out).header["quantized"] == data["quantized"]
    bad = CliRunner().invoke(cli, ["export", str(model), "--quantize", "6", "-o", str(out)])
    assert bad.exit_code == 2  # an option error (docs: exit status)
    assert bad.output.strip() == "Error: --quantize writes a model file: add --format ngk"
