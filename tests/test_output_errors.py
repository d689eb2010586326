"""Output that cannot be written, input that cannot be read: one line, never a traceback.

What the process does with its own standard streams runs the real `ngramkit` in
a subprocess, one case per OS behaviour (a full device, a closed stdout, a
closed stdin, a broken pipe, SIGTERM); the same error on other commands runs
`run()` (main without its fast exit) in this process over a stdout that fails
as a full disk does, and the cases that need no real stream run in CliRunner
(issue 19).
"""

from __future__ import annotations

import errno
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ngramkit import CountLM
from ngramkit.cli import cli, run
from ngramkit.errors import NgramkitError
from ngramkit.evaluate import score_batch

ENTRY = [sys.executable, "-c", "from ngramkit.cli import main; main()"]
HAS_DEV_FULL = Path("/dev/full").is_char_device()


def ngramkit(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ENTRY, *args], capture_output=True, text=True, timeout=120, **kw)


def in_process(*args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of the CLI run in this process by CliRunner."""
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, names_path: Path) -> Path:
    path = tmp_path_factory.mktemp("out") / "m.ngk"
    assert in_process("fit", str(names_path), "--smooth", "1", "-o", str(path))[0] == 0
    return path


class _Full(io.RawIOBase):
    """A raw stream every write of which fails as a full disk's does (ENOSPC)."""

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.skipif(not HAS_DEV_FULL, reason="needs /dev/full")
def test_full_stdout_is_one_line(model: Path) -> None:
    with open("/dev/full", "w") as full:
        run = subprocess.run(
            [*ENTRY, "sample", str(model), "-n", "5"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert run.returncode == 1
    assert one_error_line(run.stderr) == (
        "Error: cannot write standard output: No space left on device"
    )


@pytest.mark.parametrize(
    "args", [("sample", "-n", "5", "--json"), ("show",), ("score", "emma"), ("top", "-n", "3")]
)
def test_every_command_on_a_full_stdout_is_one_line(
    model: Path, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    full = io.TextIOWrapper(io.BufferedWriter(_Full()), encoding="utf-8")
    monkeypatch.setattr(sys, "argv", ["ngramkit", args[0], str(model), *args[1:]])
    monkeypatch.setattr(sys, "stdout", full)
    monkeypatch.setattr(os, "dup2", lambda *a: None)  # run() points fd 1 at /dev/null
    with pytest.raises(SystemExit) as done:
        run()
    assert done.value.code == 1
    err = capfd.readouterr().err
    assert one_error_line(err) == "Error: cannot write standard output: No space left on device"


def test_closed_stdout_is_an_error_not_silence(model: Path) -> None:
    run = subprocess.run(
        [*ENTRY, "sample", str(model), "-n", "3"],
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.close(1),
    )
    assert run.returncode == 1
    assert "standard output is closed" in one_error_line(run.stderr)


def test_broken_pipe_exits_quietly(model: Path, names_path: Path) -> None:
    cmd = [*ENTRY, "eval", str(model), str(names_path), "--format", "tsv"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()  # the reader is gone, as `| head -1` leaves
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
    assert code != 0
    assert "Traceback" not in err


def test_closed_stdin_is_one_line(model: Path) -> None:
    run = subprocess.run(
        [*ENTRY, "eval", str(model), "-"],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.close(0),
    )
    assert run.returncode == 1
    assert one_error_line(run.stderr) == "Error: <stdin>: standard input is closed"


def test_export_refuses_folders_and_special_files(model: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for target, why in [(tmp_path, "it is a directory"), (fifo, "not a regular file")]:
        code, _, err = in_process("export", str(model), "-o", str(target))
        assert code == 1
        assert why in one_error_line(err)
    assert fifo.is_fifo()  # left as it was, not replaced by a regular file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]  # no temporary file


def test_export_writes_with_the_mode_of_every_output(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.arpa"
    assert in_process("export", str(model), "-o", str(out))[0] == 0
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    assert out.read_text(encoding="utf-8").startswith("\\data\\\nngram 1=29\nngram 2=622\n")


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "0"])
def test_temperature_must_be_finite_and_positive(model: Path, value: str) -> None:
    code, _, err = in_process("sample", str(model), "--temperature", value)
    assert code == 2  # a bad value, whichever check finds it (README, "Exit status")
    assert "Traceback" not in err and "--temperature" in err


def test_library_temperature_names_the_parameter(names: list[str]) -> None:
    model = CountLM().fit(names[:100])
    for bad in (0.0, float("inf"), float("nan")):
        with pytest.raises(NgramkitError, match=r"^temperature must be a finite number > 0"):
            model.sample(1, temperature=bad)


def test_a_bare_string_is_refused(names: list[str]) -> None:
    with pytest.raises(NgramkitError, match=r"not a string: pass \['emma'\]"):
        CountLM().fit("emma")
    model = CountLM().fit(names[:100])
    with pytest.raises(NgramkitError, match="not a string"):
        score_batch(model, "emma")


def test_sigterm_during_a_fit_leaves_no_file(tmp_path: Path, names_path: Path) -> None:
    out = tmp_path / "m.ngk"
    cmd = [*ENTRY, "fit", str(names_path), "--backend", "neural", "--steps", "100000"]
    with subprocess.Popen([*cmd, "-o", str(out)], stderr=subprocess.PIPE) as proc:
        assert proc.stderr is not None
        try:
            proc.wait(timeout=4)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    assert code != 0
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_bootstrap_resamples_are_bounded(model: Path, tmp_path: Path) -> None:
    items = tmp_path / "few.txt"
    items.write_text("emma\nava\nolivia\n", encoding="utf-8")
    code, _, err = in_process(
        "compare", str(model), str(model), "--on", str(items), "--bootstrap", "10**8"
    )
    assert code == 2 and "Traceback" not in err
    code, _, err = in_process(
        "compare", str(model), str(model), "--on", str(items), "--bootstrap", "100000000"
    )
    assert code == 2
    assert "0<=x<=100000" in err.replace(" ", "")


def test_main_exits_fast_with_the_status_handlers_and_output_intact(model: Path) -> None:
    # main() ends in os._exit (no teardown): exit handlers still run, piped output is
    # whole, and the status is the command's (0, 1 for a data error, 2 for usage)
    code = (
        "import atexit, sys; atexit.register(lambda: print('handler ran'))\n"
        "from ngramkit.cli import main; main()"
    )
    for args, status in ((["sample", str(model), "-n", "400"], 0), (["show", "nope.ngk"], 1)):
        done = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == status
        lines = done.stdout.splitlines()
        assert lines[-1] == "handler ran"
        if status == 0:
            assert lines[0].startswith("400 samples") and len(lines) == 402  # then the handler
        else:
            assert one_error_line(done.stderr).startswith("Error: nope.ngk")
    bad = subprocess.run([*ENTRY, "sample", "--nope"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "No such option" in bad.stderr
