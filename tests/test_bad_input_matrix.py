"""Each hostile input of issue 19 through every command it applies to, as one table.

Inputs are made in the test. Every run must end with one non-empty line,
`Error: ...`, the expected exit status, no traceback, no output file (nor a
temporary one) left behind, and the input's bytes unchanged. CliRunner runs
in-process; the FIFO cases run as subprocesses with a timeout (a FIFO can
block a reader), which also proves no hang.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ngramkit.backends.count import CountLM
from ngramkit.cli import cli
from ngramkit.persist import save

INPUTS = {
    "empty": b"",
    "blank only": b"\n  \n\t\n",
    "NUL bytes": b"emma\n\x00\x00\x00\n",
    "not UTF-8": b"emma\n\xff\xfeava\n",
}
PATHS = ("missing", "directory", "symlink loop")


def _make(tmp: Path, name: str) -> Path:
    path = tmp / "input.txt"
    if name in INPUTS:
        path.write_bytes(INPUTS[name])
    elif name == "directory":
        path.mkdir()
    elif name == "symlink loop":
        (tmp / "other").symlink_to(path)
        path.symlink_to(tmp / "other")
    return path


def _commands(model: Path, data: Path, out: Path) -> dict[str, list[str]]:
    return {
        "fit": ["fit", str(data), "-o", str(out)],
        "fit --workers": ["fit", str(data), "--workers", "1", "-o", str(out)],
        "count": ["count", str(data), "-o", str(out)],
        "eval": ["eval", str(model), str(data)],
        "compare": ["compare", str(model), str(model), "--on", str(data)],
        "show": ["show", str(data)],
        "sample": ["sample", str(data)],
        "import": ["import", str(data), "-o", str(out)],
    }


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save(CountLM().fit(["emma", "ava"]), tmp_path_factory.mktemp("m") / "m.ngk")


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
        for p in sorted(folder.iterdir())
    }


@pytest.mark.parametrize("hostile", [*INPUTS, *PATHS])
@pytest.mark.parametrize(
    "command", ["fit", "fit --workers", "count", "eval", "compare", "show", "sample", "import"]
)
def test_hostile_input_is_one_line(model: Path, tmp_path: Path, hostile: str, command: str):
    if hostile == "not UTF-8" and command in ("show", "sample"):
        pytest.skip("a model file, not text: covered by the model-file fuzz")
    data = _make(tmp_path, hostile)
    out = tmp_path / "out.bin"
    before = _snapshot(tmp_path)
    result = CliRunner().invoke(cli, _commands(model, data, out)[command])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and len(lines[0]) > 12, lines
    assert _snapshot(tmp_path) == before  # the input as it was, nothing written beside it


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("command", [["count"], ["fit", "--workers", "2"]])
def test_a_fifo_is_named_not_called_empty(tmp_path: Path, command: list[str]) -> None:
    fifo = tmp_path / "names.fifo"
    os.mkfifo(fifo)
    code = "from ngramkit.cli import main; main()"
    args = [sys.executable, "-c", code, *command, str(fifo), "-o", str(tmp_path / "o")]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().startswith(f"Error: {fifo}: is a FIFO or a device")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["names.fifo"]
