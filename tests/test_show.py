"""show: the count matrix, the heatmap, the figure, the strongest transitions."""

from __future__ import annotations

import itertools
import json
import sys
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from ngramkit import CountLM
from ngramkit.cli import cli
from ngramkit.persist import save
from ngramkit.report.heatmap import heatmap
from ngramkit.transitions import strongest, transition_matrix


@pytest.fixture(scope="module")
def bigram(names: list[str]) -> CountLM:
    return CountLM(order=2, smooth=1).fit(names)


@pytest.fixture(scope="module")
def bigram_file(tmp_path_factory: pytest.TempPathFactory, bigram: CountLM) -> Path:
    return save(bigram, tmp_path_factory.mktemp("show") / "bigram.ngk")


def plain_counts(names: list[str], order: int) -> Counter[tuple[str, ...]]:
    c: Counter[tuple[str, ...]] = Counter()
    for w in names:
        chs = ["."] * (order - 1) + list(w) + ["."]
        c.update(tuple(chs[i : i + order]) for i in range(len(chs) - order + 1))
    return c


def test_count_matrix_is_the_lectures(bigram: CountLM, names: list[str]) -> None:
    m = transition_matrix(bigram)
    assert m is not None and m.kind == "count" and m.values.shape == (27, 27)
    ref = plain_counts(names, 2)
    toks = m.tokens
    for i, j in itertools.product(range(27), range(27)):
        assert int(m.values[i, j]) == ref[toks[i], toks[j]]
    assert int(m.values[0, 1]) == 4410  # the lecture's N[0, 1]: names starting with "a"


def test_heatmap_cells_show_bigram_and_count(bigram: CountLM) -> None:
    m = transition_matrix(bigram)
    out = StringIO()
    Console(file=out, width=200, color_system=None).print(heatmap(m, width=200))
    text = out.getvalue()
    assert ".a" in text and "4410" in text and "an" in text
    narrow = StringIO()
    Console(file=narrow, width=60, color_system=None).print(heatmap(m, width=60))
    assert max(len(line) for line in narrow.getvalue().splitlines()) <= 60
    assert "zz" in narrow.getvalue()  # every column still appears, in blocks


def test_strongest_at_order_3(names: list[str]) -> None:
    model = CountLM(order=3).fit(names)
    rows = strongest(model, 5)
    ref = plain_counts(names, 3).most_common(5)
    assert [((*r.context, r.token), r.count) for r in rows] == ref
    assert transition_matrix(model) is None


def test_cli_card_heatmap_json(bigram_file: Path) -> None:
    res = CliRunner().invoke(cli, ["show", str(bigram_file)], env={"COLUMNS": "160"})
    assert res.exit_code == 0, res.stderr
    assert "count" in res.stdout and "fingerprint" in res.stdout and "4410" in res.stdout
    res = CliRunner().invoke(cli, ["show", str(bigram_file), "--json"])
    data = json.loads(res.stdout)
    assert data["matrix"]["kind"] == "count" and data["matrix"]["values"][0][1] == 4410
    assert data["backend"] == "count" and data["hparams"]["order"] == 2


@pytest.mark.parametrize("flag", ["--png", "--svg"])
def test_figure(tmp_path: Path, flag: str) -> None:
    pytest.importorskip("matplotlib")
    small = save(CountLM(order=2).fit(["ab", "abc", "ca"]), tmp_path / "small.ngk")  # 4x4: fast
    out = tmp_path / f"m.{flag[2:]}"
    res = CliRunner().invoke(cli, ["show", str(small), flag, str(out)])
    assert res.exit_code == 0, res.stderr
    head = out.read_bytes()[:8]
    assert head.startswith(b"\x89PNG") if flag == "--png" else b"<" in head


def test_figure_without_matplotlib(
    bigram_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed
    res = CliRunner().invoke(cli, ["show", str(bigram_file), "--png", str(tmp_path / "m.png")])
    assert res.exit_code == 1 and "pip install 'ngramkit[plot]'" in res.stderr
    res = CliRunner().invoke(cli, ["show", str(bigram_file), "--png", str(tmp_path / "m.jpg")])
    assert res.exit_code == 1 and "must end in .png" in res.stderr


def test_word_model_cells_and_export(tmp_path: Path) -> None:
    words = tmp_path / "w.txt"
    words.write_text("the cat sat\nthe dog ran\na cat ran\n")
    model = tmp_path / "w.ngk"
    args = ["fit", str(words), "--tokenizer", "word", "--val-fraction", "0", "-o", str(model)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    out = tmp_path / "card.txt"
    res = CliRunner().invoke(
        cli, ["show", str(model), "--export", str(out)], env={"COLUMNS": "100"}
    )
    assert res.exit_code == 0, res.stderr
    text = out.read_text()
    assert "the cat" in text and "tokenizer" in text and "word" in text


def test_model_card_renders_at_80_columns(bigram_file: Path) -> None:
    from ngramkit import load
    from ngramkit.report.card import model_card

    out = StringIO()
    card = model_card(load(bigram_file), bigram_file.stat().st_size)
    Console(file=out, width=80, color_system=None).print(card)
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    for section in ("Model", "Vocabulary", "Training data", "Sizes", "backend", "size V"):
        assert section in text


def test_a_figure_of_a_trigram_model_is_one_line(tmp_path: Path, names: list[str]) -> None:
    pytest.importorskip("matplotlib")
    model = save(CountLM(order=3).fit(names[:50]), tmp_path / "tri.ngk")
    res = CliRunner().invoke(cli, ["show", str(model), "--png", str(tmp_path / "m.png")])
    assert res.exit_code == 1
    assert (
        res.stderr == "Error: the matrix figure is drawn for bigram models; this one is order 3\n"
    )
    assert not (tmp_path / "m.png").exists()
