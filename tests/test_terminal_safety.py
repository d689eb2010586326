"""Control characters from files and lists never reach the terminal raw.

Items, model metadata and error lines go through errors.visible: each C0/C1
control (ESC, CSI, CR, BS, DEL, ...) is shown as its \\x escape in every table,
report and error line, while machine formats (--json) keep the exact text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fuzzing import with_field

from ngramkit.backends.count import CountLM
from ngramkit.cli import cli
from ngramkit.errors import visible
from ngramkit.persist import load, save

CONTROLS = {
    "ESC": "\x1b[31m",
    "CSI": "\x9b2J",
    "BS": "\x08",
    "CR": "\r",
    "DEL": "\x7f",
    "BEL": "\x07",
    "VT": "\x0b",
}
RAW = set(map(chr, [*range(0x20), 0x7F, *range(0x80, 0xA0)])) - {"\n"}


def test_visible_escapes_every_control_and_nothing_else() -> None:
    every = "".join(map(chr, range(0x2000)))
    shown = visible(every)
    assert not RAW & set(shown)
    assert shown.count("\\x") == 32 + 1 + 32  # C0, DEL, C1: one escape each
    assert visible("émma ol ivia") == "émma ol ivia"
    assert visible("ol\x1b[31mivia") == "ol\\x1b[31mivia"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    items = [f"ab{c}cd" for c in CONTROLS.values()] + ["abcd", "dcba"]
    return save(CountLM().fit(items), tmp_path_factory.mktemp("m") / "ctl.ngk")


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), terminal_width=100)
    return result.exit_code, result.output


@pytest.mark.parametrize("name", list(CONTROLS))
def test_reports_show_controls_escaped(model: Path, tmp_path: Path, name: str) -> None:
    item = f"ab{CONTROLS[name]}cd"
    words = tmp_path / "w.txt"
    words.write_text(f"{item}\nabcd\n", encoding="utf-8")
    outputs = {
        "score": _run("score", str(model), item),
        "eval": _run("eval", str(model), str(words)),
        "sample": _run("sample", str(model), "-n", "30"),
        "show": _run("show", str(model)),
    }
    for command, (code, out) in outputs.items():
        assert code == 0, (command, out)
        assert not RAW & set(out), (command, out)
    assert visible(CONTROLS[name]) in outputs["score"][1]
    if name != "CR":  # a lone CR ends a line of a word list (reader.py): two items there
        assert visible(item) in outputs["eval"][1]
    code, out = _run("score", str(model), item, "--json")  # machine formats: the exact text
    assert json.loads(out)["item"] == item


def test_crafted_source_and_error_lines_are_escaped(model: Path, tmp_path: Path) -> None:
    crafted = tmp_path / "src.ngk"
    header = with_field(model.read_bytes(), ("training",), None)  # resealed by a stranger
    crafted.write_bytes(header)
    crafted = save(load(crafted).model, crafted, extra={"data": {"source": "\x1b[2Jx"}})
    code, out = _run("show", str(crafted))
    assert code == 0 and "\\x1b[2Jx" in out and "\x1b" not in out
    code, out = _run("eval", str(model), str(tmp_path / "no\x1bsuch.txt"))
    assert code == 1 and out.strip() == f"Error: {tmp_path}/no\\x1bsuch.txt: no such file"


def test_compare_and_fit_reports_escape_paths_and_items(model: Path, tmp_path: Path) -> None:
    """Model paths, the list's path, items and the saved model's path: all shown escaped."""
    folder = tmp_path / "ev\x1b[31mil"
    folder.mkdir()
    a = folder / "a\x1b[2J.ngk"
    b = folder / "b\x07[bold].ngk"
    a.write_bytes(model.read_bytes())
    save(CountLM(order=2, smooth=0.5).fit(["abcd", "dcba", "ab\x1b[31mcd"]), b)
    words = folder / "w\x9b.txt"
    words.write_text("abcd\nab\x1b[31mcd\ndcba\n", encoding="utf-8")
    code, out = _run("compare", str(a), str(b), "--on", str(words), "--bootstrap", "50")
    assert code == 0, out
    assert not RAW & set(out), out
    assert "\\x1b[2J" in out.replace("\n", "") or "#1" in out  # the name, or its key
    assert "[bold]" in out.replace("\n", "")  # markup in a name is text, not a style
    data = folder / "names\x1b[33m.txt"
    data.write_text("abcd\nab\x1b[31mcd\n", encoding="utf-8")
    code, out = _run("fit", str(data), "-o", str(folder / "m\x1b[1m.ngk"), "--samples", "3")
    assert code == 0 and not RAW & set(out), out
