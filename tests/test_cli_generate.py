"""`top`, constrained `sample` and `eval --rank` as a user drives them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ngramkit.cli import cli


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, names_path: Path) -> Path:
    out = tmp_path_factory.mktemp("m") / "names.ngk"
    code, _, stderr = run("fit", str(names_path), "--smooth", "1", "-o", str(out), "--json")
    assert code == 0, stderr
    return out


def test_top_rows_in_every_format(model: Path) -> None:
    code, out, _ = run("top", str(model), "-n", "3", "--format", "tsv")
    assert code == 0
    lines = [line.split("\t") for line in out.splitlines()]
    assert lines[0] == ["rank", "item", "logprob", "prob", "new"]
    assert [row[:2] for row in lines[1:]] == [["1", "a"], ["2", "n"], ["3", "e"]]
    code, out, _ = run("top", str(model), "-n", "2", "--json", "--new", "--prefix", "ja")
    data = json.loads(out)
    assert data["complete"] and [r["rank"] for r in data["items"]] == [1, 2]
    assert set(data["items"][0]) == {"rank", "item", "logprob", "prob", "new"}
    assert all(r["new"] and r["item"].startswith("ja") for r in data["items"])
    code, out, _ = run("top", str(model), "-n", "4")
    assert code == 0 and "log p (nats)" in out


def test_sample_constraints(model: Path) -> None:
    args = ("sample", str(model), "-n", "30", "--new", "--unique", "--min-len", "4")
    code, out, _ = run(*args, "--max-len", "6", "--suffix", "a", "--json")
    data = json.loads(out)
    assert code == 0 and data["complete"] and len(set(data["samples"])) == 30
    assert all(4 <= len(s) <= 6 and s.endswith("a") for s in data["samples"])
    code, out, _ = run("sample", str(model), "-n", "3", "--cut", "2", "--json")
    assert all(len(s) <= 2 for s in json.loads(out)["samples"])


def bad(*args: str) -> str:
    code, stdout, stderr = run(*args)
    assert code != 0 and "Traceback" not in stdout + stderr
    return [line for line in stderr.splitlines() if line.strip()][-1]


def test_bad_generation_options(model: Path) -> None:
    m = str(model)
    assert bad("sample", m, "--min-len", "5", "--max-len", "3") == (
        "Error: --min-len 5 is above --max-len 3: no item fits"
    )
    assert bad("top", m, "--prefix", "a1#") == (
        "Error: --prefix 'a1#' has symbols outside the vocabulary: '1' '#'"
    )
    assert bad("sample", m, "--suffix", "#") == (
        "Error: --suffix '#' has symbols outside the vocabulary: '#'"
    )
    assert bad("sample", m, "--top-p", "0") == "Error: --top-p must be in (0, 1], got 0"
    assert bad("sample", m, "--top-p", "1.01") == "Error: --top-p must be in (0, 1], got 1.01"
    assert bad("sample", m, "--top-k", "0") == "Error: --top-k must be >= 1, got 0"
    line = bad("sample", m, "-n", "5", "--prefix", "zzq", "--suffix", "qxqx", "--tries", "3000")
    assert line.startswith("Error: found 0 of 5 items") and "acceptance rate 0.000%" in line


def test_unique_beyond_what_the_model_makes(tmp_path: Path) -> None:
    data = tmp_path / "ab.txt"
    data.write_text("a\nb\n")
    out = tmp_path / "ab.ngk"
    assert run("fit", str(data), "--smooth", "0", "--val-fraction", "0", "-o", str(out))[0] == 0
    code, stdout, stderr = run("sample", str(out), "-n", "1000000", "--unique", "--tries", "5000")
    assert code == 1 and "a" in stdout and "b" in stdout
    assert "found 2 of 1,000,000 distinct items meeting the constraints in 5,000 " in stderr
    code, _, stderr = run("sample", str(out), "-n", "1000000", "--unique")  # stops, stalled
    assert code == 1 and "found 2 of 1,000,000 distinct items" in stderr
    code, stdout, stderr = run("top", str(out), "-n", "5", "--format", "tsv")
    assert code == 1 and len(stdout.splitlines()) == 3
    assert "only 2 items" in stderr


def test_eval_rank_json(model: Path, tmp_path: Path) -> None:
    words = tmp_path / "w.txt"
    words.write_text("a\nemma\nzzqxv\n")
    code, out, _ = run("eval", str(model), str(words), "--rank", "--samples", "2000", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["ranks"][0] == {
        "item": "a",
        "logprob": data["ranks"][0]["logprob"],
        "rank": 1.0,
        "low": 1.0,
        "high": 1.0,
        "exact": True,
    }
    assert not data["ranks"][2]["exact"] and data["ranks"][2]["low"] <= data["ranks"][2]["rank"]
    assert data["coverage"]["points"][0] == {"guesses": 1, "found": 1, "fraction": 1 / 3}


def test_affix_normalized_note(model: Path) -> None:
    """names.txt is lower case: the fitted rule folds case, and --suffix Son is 'son'."""
    code, out, err = run("sample", str(model), "-n", "5", "--suffix", "Son", "--json")
    assert code == 0 and all(s.endswith("son") for s in json.loads(out)["samples"])
    assert "note: --suffix 'Son' reads 'son' under the model's text rule" in err
    code, out, err = run("top", str(model), "-n", "3", "--suffix", "son", "--format", "tsv")
    assert code == 0 and err == "" and len(out.splitlines()) == 4
