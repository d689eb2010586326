"""`ngramkit new-backend`: the scaffolded package is a backend that passes the kit."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from ngramkit.cli import cli
from ngramkit.errors import NgramkitError
from ngramkit.registry import BackendEntry
from ngramkit.scaffold import files, identifiers, write_package
from ngramkit.testing import run_checks


@contextlib.contextmanager
def scaffold_model(root: Path, module_name: str) -> Iterator[types.ModuleType]:
    """The scaffold's model.py imported as a module, removed from sys.modules after."""
    spec = importlib.util.spec_from_file_location(
        f"ngk_scaffold_{module_name}", root / "src" / module_name / "model.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as a real import would, so the class's module resolves
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_derived_names() -> None:
    assert identifiers("my-lm") == {
        "name": "my-lm",
        "dist": "ngramkit-my-lm",
        "module": "ngramkit_my_lm",
        "cls": "MyLmLM",
    }


@pytest.mark.parametrize("name", ["", "My", "1lm", "a b", "x" * 41, "lm!"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(NgramkitError, match="must be lowercase letters"):
        identifiers(name)


@pytest.mark.parametrize("name", ["count", "neural"])
def test_built_in_names_are_refused(name: str) -> None:
    with pytest.raises(NgramkitError, match=f"'{name}' is ngramkit's own backend: a plugin"):
        identifiers(name)


def test_the_scaffold_is_what_a_plugin_author_needs(tmp_path: Path) -> None:
    root = write_package("scaf-kit", tmp_path)
    readme = (root / "README.md").read_text()
    assert "](" not in readme and "python -m pydoc ngramkit.testing" in readme  # no dead link
    tomllib = pytest.importorskip("tomllib")
    meta = tomllib.loads((root / "pyproject.toml").read_text())
    assert "torch>=2.1,<3" in meta["project"]["dependencies"]
    assert meta["tool"]["pytest"]["ini_options"]["filterwarnings"]
    assert "torch.set_num_threads(1)" in (root / "tests" / "conftest.py").read_text()


def test_the_scaffold_refuses_a_table_too_large_to_allocate(tmp_path: Path) -> None:
    from ngramkit.errors import OptionError

    root = write_package("scaf-big", tmp_path)
    too_big = r"--order 8 over 27 tokens needs a table of"
    with (
        scaffold_model(root, "ngramkit_scaf_big") as module,
        pytest.raises(OptionError, match=too_big),
    ):
        module.ScafBigLM(order=8).fit(["abcdefghijklmnopqrstuvwxyz"])


def test_the_scaffold_is_a_conforming_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_package("scaf-demo", tmp_path)
    monkeypatch.syspath_prepend(str(root / "src"))  # as `pip install -e` would: the kit imports it
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == sorted(
        files("scaf-demo")
    )
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    meta = tomllib.loads((root / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "ngramkit-scaf-demo"
    eps = meta["project"]["entry-points"]["ngramkit.backends"]
    assert eps == {"scaf-demo": "ngramkit_scaf_demo.model:ScafDemoLM"}
    with scaffold_model(root, "ngramkit_scaf_demo") as module:
        cls = module.ScafDemoLM
        entries = {"scaf-demo": BackendEntry("scaf-demo", eps["scaf-demo"], "d", "0.1.0", cls)}
        failed = {k: str(v) for k, v in run_checks(cls, entries=entries).items() if v}
        assert failed == {}
        # the table is the add-k estimate: order 2 on ["ab"], row "a" = (0+1, 0+1, 1+1) / 4
        model = cls(order=2, smooth=1).fit(["ab"])
        row = model.next_logprobs(torch.tensor([[1]])).exp()[0]
        assert row.tolist() == pytest.approx([0.25, 0.25, 0.5])
    assert (
        'parametrize_checks("scaf-demo")' in (root / "tests/test_ngramkit_scaf_demo.py").read_text()
    )


def test_cli_scaffold_and_its_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["new-backend", "demo", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ngramkit-demo" / "src" / "ngramkit_demo" / "model.py").is_file()
    again = CliRunner().invoke(cli, ["new-backend", "demo", "--dir", str(tmp_path)])
    assert (again.exit_code, again.stderr) == (
        1,
        f"Error: {tmp_path / 'ngramkit-demo'} already exists; choose another name or folder\n",
    )
    missing = CliRunner().invoke(cli, ["new-backend", "demo", "--dir", str(tmp_path / "no")])
    assert missing.stderr == f"Error: folder {tmp_path / 'no'} does not exist\n"
    with pytest.raises(NgramkitError):
        write_package("Bad", tmp_path)
