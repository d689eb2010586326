"""Quantized count models (KenLM's -q/-b) and their one-byte storage in model files."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner, Result

from ngramkit import CountLM, load, save
from ngramkit.cli import cli
from ngramkit.container import narrowest
from ngramkit.errors import OptionError
from ngramkit.evaluate import corpus_metrics
from ngramkit.persist import MAGIC
from ngramkit.quantize import SAMPLE_ITEMS, binned, quantize


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


def _export(args: list[str]) -> Result:
    return CliRunner().invoke(cli, ["export", *args])


def _eval_nll(model: Path, words: Path) -> float:
    result = CliRunner().invoke(cli, ["eval", str(model), str(words), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["summary"]["nll"]


@pytest.fixture()
def exact_file(tmp_path: Path, names: list[str]) -> Path:
    path = tmp_path / "m.ngk"
    save(CountLM(order=4, smooth="mkn").fit(names[:3000]), path)
    return path


def test_export_reports_the_cost_eval_measures_on_a_list(
    tmp_path: Path, names: list[str], exact_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reference: `ngramkit eval` of the exact and the quantized file on the list."""
    monkeypatch.chdir(tmp_path)  # short names: the lines below are not wrapped
    words = Path("test.txt")
    words.write_text("\n".join([*names[3000:3400], "ab1", "Emma"]) + "\n")
    out = Path("q.ngk")
    common = [str(exact_file), "--format", "ngk", "--quantize", "4", "--on", str(words)]
    data = json.loads(_export([*common, "-o", str(out), "--json"]).output)["cost"]
    exact, small = _eval_nll(exact_file, words), _eval_nll(out, words)
    assert (data["nll_exact"], data["nll_quantized"]) == (exact, small)
    assert data["nll_change"] == small - exact and data["nll_change"] > 0  # 4 bits cost
    assert (data["on"], data["sample"], data["items"], data["oov"]) == (str(words), None, 402, 1)
    text = _export([*common, "-o", "q2.ngk"]).output.splitlines()
    assert text[1:] == [
        f"NLL (nats/token) on {words}, 402 items (1 OOV, left out):",
        f"  exact {exact:.5f}, quantized {small:.5f}: cost {small - exact:+.5f} "
        f"({data['tokens']:,} tokens)",
    ]


def test_export_without_a_list_measures_on_drawn_items(
    tmp_path: Path, exact_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2,000 items sampled from the exact model, seed 0: corpus_metrics of both models."""
    monkeypatch.chdir(tmp_path)  # short names: the lines are not wrapped
    out = Path("q.ngk")
    result = _export([str(exact_file), "--format", "ngk", "--quantize", "3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == (
        "NLL (nats/token) on 2,000 items drawn from the exact model (seed 0):"
    )
    assert all(len(line) <= 80 for line in result.output.splitlines())
    data = json.loads(
        _export(
            [str(exact_file), "--format", "ngk", "--quantize", "3", "-o", str(out), "--json"]
        ).output
    )["cost"]
    exact, small = load(exact_file).model, load(out).model
    items = exact.sample(2000, seed=0)
    want = corpus_metrics(exact, items), corpus_metrics(small, items)
    assert data["on"] is None and data["sample"] == {"items": 2000, "seed": 0}
    assert data["tokens"] == want[0].tokens == want[1].tokens
    assert data["nll_exact"] == pytest.approx(want[0].nll, rel=1e-12)
    assert data["nll_quantized"] == pytest.approx(want[1].nll, rel=1e-12)
    assert data["nll_change"] > 0.001  # 3 bits cost, even on the exact model's own samples


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"12\n!!\n", "--on {p}: all 2 items are OOV"),
        (b"ab\xff\n", "not valid UTF-8"),
        (b"", "the file is empty"),
    ],
)
def test_a_bad_list_is_one_line_and_writes_nothing(
    tmp_path: Path, exact_file: Path, content: bytes | None, message: str
) -> None:
    words = tmp_path / "w.txt"
    if content is not None:
        words.write_bytes(content)
    out = tmp_path / "q.ngk"
    args = [str(exact_file), "--format", "ngk", "--quantize", "8", "--on", str(words)]
    result = _export([*args, "-o", str(out)])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert message.format(p=words) in result.output
    assert not out.exists()


def test_the_help_states_the_sample_size() -> None:
    assert f"on {SAMPLE_ITEMS:,} items drawn" in " ".join(_export(["--help"]).output.split())


def test_on_without_quantize_is_an_option_error(tmp_path: Path, exact_file: Path) -> None:
    words = tmp_path / "w.txt"
    words.write_text("emma\n")
    out = tmp_path / "q.ngk"
    for fmt in ("ngk", "arpa"):
        result = _export([str(exact_file), "--format", fmt, "--on", str(words), "-o", str(out)])
        assert result.exit_code == 2
        assert result.output.strip() == "Error: --on measures what --quantize costs: add --quantize"
        assert not out.exists()
