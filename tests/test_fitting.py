"""The library's fit path: settings precedence, one FitResult, its JSON and its report.

`ngramkit fit` is config.fit_settings -> fitting.run -> to_json or
report.fit_report; these tests drive that path without the CLI, and render
the report as rich's tests do: to a string console, 80 columns wide.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from ngramkit import fitting
from ngramkit.config import Engine, fit_settings
from ngramkit.errors import OptionError
from ngramkit.report import fit_report

NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "ella", "luna", "zoe"]


def render(renderable: object) -> str:
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(renderable)
    return out.getvalue()


@pytest.fixture
def lists(tmp_path: Path) -> list[str]:
    paths = []
    for i, part in enumerate((NAMES[:5], NAMES[5:])):
        path = tmp_path / f"part{i}.txt"
        path.write_text("\n".join(part) + "\n")
        paths.append(str(path))
    return paths


def test_flags_override_the_config_file_over_the_defaults(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("order: 3\nsmooth: 0.5\nseed: 7\n")
    s = fit_settings({"data": ("x.txt",), "config": str(config), "seed": "9", "samples": None})
    assert (s.backend, s.hparams, s.seed, s.samples) == (
        "count",
        {"order": 3, "smooth": 0.5},
        9,
        10,
    )
    assert s.data == ["x.txt"] and s.val_flag is None and not s.counted
    s = fit_settings({"data": ("a", "b"), "workers": 2})
    assert s.counted and s.engine == Engine(workers=2) and s.engine.n_shards(2) == 8


def test_a_word_list_fit_saves_reports_and_keeps_its_json_keys(lists: list[str]) -> None:
    out = str(Path(lists[0]).with_suffix(".ngk"))
    result = fitting.run(fit_settings({"data": lists[:1], "output": out, "val_fraction": "0.2"}))
    assert result.output == out and Path(out).exists()
    data = result.to_json()
    keys = ["model", "backend", "order", "data", "metrics", "samples", "seconds", "normalization"]
    assert list(data) == keys
    assert data["data"] == {
        "items": 5,
        "tokens": result.data.tokens,
        "vocab_size": result.data.vocab_size,
        "blank": 0,
        "duplicates": 0,
        "train_items": 4,
        "val_items": 1,
        "val_oov": result.data.val_oov,
        "normalized": result.data.normalized,
    }
    text = render(fit_report(result))
    assert all(len(line) <= 80 for line in text.splitlines())
    for words in ("ngramkit fit · count · order 2", "train / val items", "4 / 1", "Samples"):
        assert words in text
    assert "saved" in text


def test_a_fit_from_counts_reports_its_stages(lists: list[str]) -> None:
    out = str(Path(lists[0]).parent / "m.ngk")
    result = fitting.run(fit_settings({"data": lists, "output": out, "samples": "3"}))
    data = result.to_json()
    assert list(data)[-3:] == ["shards", "ngrams", "stages"]
    unchanged = {"form": 0, "case": 0, "accents": 0}  # the shards' first pass counts them
    want = {"items": 10, "tokens": result.data.table.tokens, "vocab_size": 15}
    assert data["data"] == want | {"normalized": unchanged}
    assert data["metrics"]["val"] is None and len(data["samples"]) == 3
    text = render(fit_report(result))
    for words in ("from counts", "counted", "this process", "Stages", "estimate", "validation"):
        assert words in text


def test_a_fit_from_counts_refuses_a_validation_split(lists: list[str]) -> None:
    with pytest.raises(OptionError, match="trains on every item"):
        fitting.run(fit_settings({"data": lists, "val_fraction": "0.1"}))
