"""Every report read through a pipe at 80 columns (Rich's width when stdout is no terminal).

The commands run on the lecture's names.txt with long model and list names;
each report must keep every identifying field whole (model names, list
paths, class paths, all 27 columns of the lecture's matrix) and no line may
pass 80 terminal cells.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rich.cells import cell_len

from ngramkit.cli import cli

LETTERS = ".abcdefghijklmnopqrstuvwxyz"
MODELS = ["runs-2024-06-01-kneser-ney/model.ngk", "runs-2024-06-02-kneser-ney/model.ngk"]
LISTS = ["held-out/validation-names-2024.txt", "held-out/names-with-accents-and-more.txt"]


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(cell_len(line.rstrip()) <= 80 for line in lines), result.stdout
    return result


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, names: list[str]) -> Path:
    """Two trigram models of the same backend and order, and two word lists, by long names."""
    root = tmp_path_factory.mktemp("narrow")
    (root / "held-out").mkdir()
    (root / LISTS[0]).write_text("\n".join(names[:300]) + "\n", encoding="utf-8")
    (root / LISTS[1]).write_text("zoë\nrenée\nemma\n", encoding="utf-8")
    (root / "train-names.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    return root


@pytest.fixture(autouse=True)
def at_80(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.chdir(workdir)


@pytest.fixture(scope="module")
def fitted(workdir: Path) -> list[str]:
    outs = []
    for k, (path, smooth) in enumerate(zip(MODELS, ("kn", "mkn"))):
        (workdir / path).parent.mkdir(exist_ok=True)
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(workdir)
            mp.delenv("COLUMNS", raising=False)
            args = ["train-names.txt", "--order", "3", "--smooth", smooth, "-o", path]
            outs.append(run("fit", *args, "--seed", str(k)).stdout)
    return outs


def test_fit_names_its_data_and_model_file(fitted: list[str]) -> None:
    for out, path in zip(fitted, MODELS):
        assert "train-names.txt" in out and path in out
        assert "ngramkit fit · count · order 3" in out


def test_compare_keeps_both_model_names(fitted: list[str]) -> None:
    out = run("compare", *MODELS, "--on", LISTS[0], "--bootstrap", "50", "--top", "2").stdout
    for k, path in enumerate(MODELS, 1):
        assert f"#{k}  {path}" in out
        assert f" #{k}     count 3" in out  # two "count 3" rows, told apart
    assert "Largest disagreements: " in out and "…" not in out


def test_eval_keeps_every_list_name(fitted: list[str]) -> None:
    out = run("eval", MODELS[0], *LISTS, "--top", "4").stdout
    for k, path in enumerate(LISTS, 1):
        assert f"#{k}  {path}" in out
    assert " all " in out and "…" not in out


def test_show_draws_all_27_columns_of_the_lecture_matrix(workdir: Path) -> None:
    run("fit", "train-names.txt", "--smooth", "0", "-o", "lecture-bigram-unsmoothed.ngk")
    out = run("show", "lecture-bigram-unsmoothed.ngk").stdout
    heads = [line.strip("│ ").split() for line in out.splitlines() if "│ columns" in line]
    assert [h[:4] for h in heads] == [["columns", ".", "to", "m"], ["columns", "n", "to", "z"]]
    cells = out.replace("│", " ").split()
    assert all(a + b in cells for a in LETTERS for b in LETTERS)  # nothing cut: "zz" too
    assert "lecture-bigram-unsmoothed.ngk" in out


def test_show_lists_the_strongest_transitions_of_a_trigram(fitted: list[str]) -> None:
    out = run("show", MODELS[0]).stdout
    assert MODELS[0] in out and "Strongest transitions" in out


def test_score_and_sample_keep_their_titles_whole(fitted: list[str]) -> None:
    item = "christopherjohnathanalexanderwilliamson"
    assert f"score {item}." in run("score", MODELS[0], item).stdout
    assert "5 samples, seed 2147483647" in run("sample", MODELS[0], "-n", "5").stdout


def test_backends_keeps_class_paths_whole() -> None:
    out = run("backends").stdout
    for path in ("ngramkit.backends.count.CountLM", "ngramkit.backends.neural.NeuralLM"):
        assert path in out
