"""The `ngramkit` command line: a lazy click group, one module per command.

Commands are imported only when run, so `ngramkit --help` imports neither
torch nor any backend. Every user-facing error (NgramkitError) becomes one
line on stderr, with the exit status of `exit_status`: 2 for a command line
that cannot work as given (click's usage errors and our OptionError alike),
1 for data, files and models that are wrong, and output that cannot be
written (README, "Exit status").
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import importlib
import os
import signal
import sys
import threading
import warnings
from typing import Any, NoReturn

import click

from .. import threads
from ..errors import NgramkitError, OptionError, visible

EXIT_FAILED = 1
"""Exit status for bad data, files or models, and output that cannot be written."""
EXIT_USAGE = 2
"""Exit status for a command line that cannot work as given: an unknown flag, a missing
argument, a value or combination of options refused (click's own status for usage)."""


def exit_status(error: NgramkitError) -> int:
    """EXIT_USAGE for an OptionError (the command line or its config), else EXIT_FAILED."""
    return EXIT_USAGE if isinstance(error, OptionError) else EXIT_FAILED


class Failure(click.ClickException):
    """An NgramkitError as click prints it: `Error: <one line>`, exit `exit_status`."""

    def __init__(self, error: NgramkitError) -> None:
        super().__init__(visible(getattr(error, "cli", str(error))))
        self.exit_code = exit_status(error)


# name -> (module under ngramkit.cli, one-line help shown by `ngramkit --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "fit": ("fit", "Train a model on a word list, report and save it."),
    "sample": ("sample", "Draw items from a model (the lecture's seeded procedure)."),
    "top": ("top", "The K most probable items, in order (exact)."),
    "eval": ("evaluate", "Score word lists: per item and overall NLL."),
    "score": ("score", "Per-token breakdown of one or more items."),
    "compare": ("compare", "Models side by side on one word list, with a bootstrap CI."),
    "show": ("show", "Model card and transition heatmap."),
    "mix": ("mix", "Mix saved models into one (weights fitted on held-out items)."),
    "backends": ("backends", "List installed backends, their packages and status."),
    "new-backend": ("new_backend", "Scaffold a plugin package with a working backend."),
    "export": ("export", "Write a count model as an ARPA file (KenLM, SRILM)."),
    "import": ("import_", "Read an ARPA file as a count model."),
    "count": ("count", "Count n-grams into a count table file (merge later with fit)."),
    "classify": ("classify", "Give each item the model with the highest posterior."),
    "threshold": ("threshold", "Calibrate a score threshold to a false-positive rate."),
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module = importlib.import_module(f".{spec[0]}", __name__)
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NgramkitError as e:  # an OptionError in the command line's words (--order)
            raise Failure(e) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ngramkit")
def cli() -> None:
    """ngramkit: n-gram language models for names, words and identifiers.

    Train with `ngramkit fit names.txt`, then sample, eval, score the model.
    """


def main() -> NoReturn:
    """The `ngramkit` command: `run`, then exit without the interpreter's teardown."""
    try:
        run()
    except SystemExit as e:
        _leave(e.code)
    _leave(0)


def run() -> None:
    """The command line in sys.argv, run; ends in SystemExit as click's commands do."""
    # ngramkit's tensor ops are many and small: intra-op threads buy little on an
    # idle machine and cost a lot on a busy one (spinning workers wait on a core
    # someone else holds). One thread unless the user asks for more; torch reads
    # this when it is first imported.
    if "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = "1"
        threads.count_on(threads.CLI_COUNTING)  # counting's pool is not torch's (threads.py)
    # torch's CPU wheel warns at import when numpy is absent; ngramkit never needs numpy.
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    os.environ.setdefault("PYTHONWARNINGS", "ignore:Failed to initialize NumPy")  # workers too
    if sys.stdout is None:  # started with stdout closed (`>&-`): nothing we print would land
        _fail("standard output is closed; redirect it to a file or /dev/null")
    # SIGTERM ends a run as Ctrl-C does, so atomic writes remove their temporary files.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        try:
            cli(prog_name="ngramkit")
        finally:
            sys.stdout.flush()  # a full disk shows here, while we can still say so
    except OSError as e:
        _output_failed(e)


def _leave(code: object) -> NoReturn:
    """Exit as sys.exit(code) would, without freeing every object first.

    Tearing the interpreter down costs torch alone 0.3 s (`python -c "import
    torch"` takes 1.2 s, 0.9 s when it ends with os._exit): time every command
    would make its user wait after its work is done. By this point a command
    has closed its files and removed its temporary ones (with-blocks), so what
    is skipped is only the freeing; threads still running are joined, the exit
    handlers (atexit: Dask clients, process pools) run and the streams are
    flushed first. Where atexit cannot be run by hand, a plain sys.exit.
    """
    run_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_handlers is None:
        sys.exit(code)
    if code is not None and not isinstance(code, int):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stderr.write(f"{code}\n")  # what sys.exit does with a message
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    run_handlers()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()  # a failed flush was reported above already
    os._exit(code if isinstance(code, int) else 0 if code is None else EXIT_FAILED)


def _output_failed(e: OSError) -> NoReturn:
    """One line for an error writing output (a full disk, a closed pipe), never a traceback.

    The library turns its own file errors into NgramkitError, so an OSError that
    reaches this point comes from writing the output itself.
    """
    # Point stdout at /dev/null: Python flushes it again at exit and must not fail there.
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError, ValueError):
        os.dup2(devnull, sys.stdout.fileno())
    if e.errno == errno.EPIPE:  # the reader stopped (`| head -1`): quiet, as Unix tools are
        sys.exit(128 + signal.SIGPIPE)
    where = e.filename or "standard output"
    _fail(f"cannot write {where}: {e.strerror or e}")


def _fail(message: str) -> NoReturn:
    """One line on stderr (when there is one) and EXIT_FAILED."""
    if sys.stderr is not None:
        with contextlib.suppress(OSError):
            sys.stderr.write(f"Error: {message}\n")
    sys.exit(EXIT_FAILED)
