"""The CLI as a user drives it: fit, sample, eval, score, and every bad input."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ngramkit.cli import cli


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, names_path: Path) -> Path:
    out = tmp_path_factory.mktemp("m") / "names.ngk"
    code, _, stderr = run("fit", str(names_path), "--smooth", "1", "-o", str(out), "--json")
    assert code == 0, stderr
    return out


@pytest.fixture(scope="module")
def raw_model(tmp_path_factory: pytest.TempPathFactory, names_path: Path) -> Path:
    out = tmp_path_factory.mktemp("m") / "raw.ngk"
    code, _, stderr = run(
        "fit", str(names_path), "--smooth", "0", "--val-fraction", "0", "-o", str(out)
    )
    assert code == 0, stderr
    return out


def test_fit_json_keys_and_figures(names_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.ngk"
    code, stdout, _ = run(
        "fit", str(names_path), "--smooth", "1", "--val-fraction", "0", "-o", str(out), "--json"
    )
    assert code == 0
    data = json.loads(stdout)
    assert data["model"] == str(out) and out.exists()
    assert data["backend"] == "count" and data["order"] == 2
    assert data["data"] == {
        "items": 32033,
        "tokens": 228146,
        "vocab_size": 27,
        "blank": 0,
        "duplicates": 2539,
        "train_items": 32033,
        "val_items": 0,
        "val_oov": 0,
        "normalized": {"form": 0, "case": 0, "accents": 0},  # the default rule changes nothing
    }
    assert round(data["metrics"]["train"]["nll"], 4) == 2.4546
    assert data["metrics"]["train"]["tokens"] == 228146
    assert data["metrics"]["val"] is None
    assert data["samples"][:3] == ["cexze", "momasurailezitynn", "konimittain"]


def test_fit_report_and_default_output(
    names_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, stdout, _ = run("fit", str(names_path))
    assert code == 0
    assert (tmp_path / "names.count.ngk").exists()
    for text in (
        "items read",
        "32,033",
        "NLL (nats/token)",
        "val",
        "Samples",
        "new",
        "saved names.count.ngk",
    ):
        assert text in stdout


def test_sample_matches_library(model: Path) -> None:
    code, stdout, _ = run("sample", str(model), "-n", "4", "--json")
    assert code == 0
    assert json.loads(stdout) == {
        "samples": ["cexze", "momasurailezitynn", "konimittain", "llayn"],
        "seed": 2147483647,
    }


def test_score_andrej_like_the_lecture(model: Path) -> None:
    code, stdout, _ = run("score", str(model), "andrej", "--json")
    assert code == 0
    data = json.loads(stdout)
    assert [t["token"] for t in data["tokens"]] == list("andrej.")
    assert [t["context"] for t in data["tokens"]] == list(".andrej")
    assert math.isclose(sum(t["logprob"] for t in data["tokens"]), data["logprob"])
    assert all(math.isclose(t["prob"], math.exp(t["logprob"])) for t in data["tokens"])


def test_score_of_a_file_name_points_at_eval(model: Path, tmp_path: Path) -> None:
    """A word list given to score is an OOV item ('.'), with a note naming the command
    that reads it; a plain item or a missing file gets none."""
    words = tmp_path / "my list.txt"
    words.write_text("emma\nolivia\n")
    code, out, err = run("score", str(model), str(words), "emma", str(tmp_path / "gone.txt"))
    assert code == 0 and "OOV" in out
    assert err.splitlines() == [
        f"note: {words} is a file; `ngramkit eval {model} '{words}'` scores its lines"
    ]


def test_score_andrejq_is_inf_unsmoothed(raw_model: Path) -> None:
    code, stdout, _ = run("score", str(raw_model), "andrejq", "--json")
    assert code == 0
    data = json.loads(stdout)
    assert data["logprob"] is None and "probability 0" in data["reason"]
    code, stdout, _ = run("score", str(raw_model), "andrejq")
    assert code == 0 and "inf" in stdout


def test_eval_counts_oov_and_excludes_it(model: Path, tmp_path: Path) -> None:
    words = tmp_path / "w.txt"
    words.write_text("emma\nANDREJ-1\nemma\n\nзоя\n")  # "ANDREJ" alone is "andrej" now
    code, stdout, _ = run("eval", str(model), str(words), "--json")
    assert code == 0
    data = json.loads(stdout)
    assert data["summary"]["items"] == 4 and data["summary"]["oov"] == 2
    assert data["summary"]["scored"] == 2 and data["summary"]["tokens"] == 10
    rows = data["items"]
    assert rows[1]["oov"] is True and rows[1]["unknown"] == ["-", "1"]
    assert rows[0]["in_train"] is True
    assert rows[0]["logprob"] == rows[2]["logprob"]


def test_items_with_the_boundary_symbol(tmp_path: Path) -> None:
    words = tmp_path / "dots.txt"
    words.write_text("a.b\nc.d\n.e\nf.\n")
    out = tmp_path / "dots.ngk"
    code, stdout, stderr = run("fit", str(words), "--val-fraction", "0", "-o", str(out), "--json")
    assert code == 0, stderr
    code, stdout, _ = run("score", str(out), "a.b", "--json")
    data = json.loads(stdout)
    assert [t["token"] for t in data["tokens"]] == ["a", ".", "b", "·"]


def bad(*args: str) -> str:
    code, stdout, stderr = run(*args)
    assert code != 0
    assert "Traceback" not in stderr + stdout
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "expected an error message"
    return lines[-1]


def test_bad_inputs(tmp_path: Path, names_path: Path, model: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    blanks = tmp_path / "blanks.txt"
    blanks.write_text("\n \n\n")
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"emma\nzo\xeb\n")
    names = str(names_path)
    assert "no such file" in bad("fit", str(tmp_path / "missing.txt"))
    assert "is a directory" in bad("fit", str(tmp_path))
    assert "empty" in bad("fit", str(empty))
    assert "blank" in bad("fit", str(blanks))
    assert "latin.txt:2: not valid UTF-8" in bad("fit", str(latin))
    assert "unknown backend 'nope' (installed: count" in bad("fit", names, "--backend", "nope")
    assert "--smooth: add-k needs a finite number >= 0, got '-1'" in bad(
        "fit", names, "--smooth", "-1"
    )
    assert "--smooth: must be a number >= 0 (add-k) or one of abs, kn, mkn, wb, auto" in bad(
        "fit", names, "--smooth", "lots"
    )
    assert "--order must be between 1 and 32, got 0" in bad("fit", names, "--order", "0")
    assert "folder" in bad("fit", names, "-o", str(tmp_path / "no" / "m.ngk"))


def test_bad_model_files(tmp_path: Path, model: Path) -> None:
    raw = model.read_bytes()
    truncated = tmp_path / "t.ngk"
    truncated.write_bytes(raw[: len(raw) // 2])
    assert "damaged model file" in bad("sample", str(truncated))
    foreign = tmp_path / "f.ngk"
    foreign.write_text("not a model")
    assert "not an ngramkit model file" in bad("eval", str(foreign), str(foreign))
    assert "no such model file" in bad("score", str(tmp_path / "none.ngk"), "x")


def test_ctrl_c_during_fit_leaves_no_file(
    names_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ngramkit.backends.count as count

    def interrupted(self: object, corpus: object, progress: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(count.CountLM, "_fit", interrupted)
    out = tmp_path / "m.ngk"
    code, _, _ = run("fit", str(names_path), "-o", str(out))
    assert code != 0
    assert list(tmp_path.iterdir()) == []


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys; from ngramkit.cli import run; sys.argv = ['ngramkit', '--help']\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_score_json_is_one_object_for_several_items(model: Path) -> None:
    code, stdout, _ = run("score", str(model), "emma", "Zed!", "ava", "--json")
    assert code == 0
    data = json.loads(stdout)
    assert [r["item"] for r in data["items"]] == ["emma", "Zed!", "ava"]  # "Zed" is "zed" now
    assert data["items"][1]["oov"] is True and data["items"][1]["unknown"] == ["!"]


def test_output_must_not_be_the_training_data(tmp_path: Path) -> None:
    words = tmp_path / "w.txt"
    words.write_text("emma\nava\n")
    assert "would overwrite the training data" in bad("fit", str(words), "-o", str(words))
    assert words.read_text() == "emma\nava\n"
