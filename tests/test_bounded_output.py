"""Terminal tables stay bounded: score's tokens and sample's items past TABLE_ROWS.

A table shows its first TABLE_ROWS rows and one line saying how many there
are and which format prints them all; totals are over every row. `sample
--format plain` prints every item, one a line, as a word list.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from ngramkit.backends.count import CountLM
from ngramkit.cli import cli
from ngramkit.cli.common import TABLE_ROWS
from ngramkit.persist import save

LECTURE = ["cexze", "momasurailezitynn", "konimittain", "llayn", "ka"]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, names: list[str]) -> Path:
    return save(CountLM().fit(names), tmp_path_factory.mktemp("m") / "bigram.ngk")


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args], terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def test_score_table_shows_the_first_rows_and_totals_of_all(model: Path) -> None:
    item = "abcdefghijklmnopqrstuvwxyz" * 60  # 1,560 symbols: 1,561 predicted tokens
    out = _run("score", str(model), item)
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert len(rows) == TABLE_ROWS
    assert f"first {TABLE_ROWS:,} of 1,561 tokens shown; --json prints every one" in out
    data = json.loads(_run("score", str(model), item, "--json"))  # every token's log p
    assert len(data["tokens"]) == 1561
    total = math.fsum(t["logprob"] for t in data["tokens"])
    assert f"log p = {total:.4f} nats" in out and "over 1561 tokens" in out


def test_short_items_have_no_note(model: Path) -> None:
    out = _run("score", str(model), "emma")
    assert "shown;" not in out and "log p =" in out


def test_sample_table_is_capped_and_says_so(model: Path) -> None:
    out = _run("sample", str(model), "-n", "1200")
    assert f"first {TABLE_ROWS:,} of 1,200 items shown; --format plain or --json" in out
    assert out.count(" new") + out.count("seen in training") == TABLE_ROWS


@pytest.mark.parametrize("n", [0, 5, 1200])
def test_sample_plain_is_a_word_list_of_every_item(model: Path, n: int) -> None:
    plain = _run("sample", str(model), "-n", str(n), "--format", "plain")
    drawn = json.loads(_run("sample", str(model), "-n", str(n), "--json"))["samples"]
    assert plain == "".join(s + "\n" for s in drawn)
    if n == 5:
        assert plain.split() == LECTURE  # the lecture's samples at its seed


def test_sample_json_flag_and_format_agree(model: Path) -> None:
    assert _run("sample", str(model), "-n", "3", "--json") == _run(
        "sample", str(model), "-n", "3", "--format", "json"
    )
