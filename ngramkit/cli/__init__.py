"""The `ngramkit` command line: a lazy click group, one module per command.

Commands are imported only when run, so `ngramkit --help` imports neither
torch nor any backend. Every user-facing error (NgramkitError) becomes one
line on stderr and exit status 1; click's usage errors exit 2.
"""

from __future__ import annotations

import importlib
import os
import warnings
from typing import Any

import click

from ..errors import NgramkitError

# name -> (module under ngramkit.cli, one-line help shown by `ngramkit --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "fit": ("fit", "Train a model on a word list, report and save it."),
    "sample": ("sample", "Draw items from a model (the lecture's seeded procedure)."),
    "eval": ("evaluate", "Score word lists: per item and overall NLL."),
    "score": ("score", "Per-token breakdown of one or more items."),
    "compare": ("compare", "Models side by side on one word list, with a bootstrap CI."),
    "show": ("show", "Model card and transition heatmap."),
    "backends": ("backends", "List installed backends, their packages and status."),
    "new-backend": ("new_backend", "Scaffold a plugin package with a working backend."),
    "export": ("export", "Write a count model as an ARPA file (KenLM, SRILM)."),
    "import": ("import_", "Read an ARPA file as a count model."),
    "count": ("count", "Count n-grams into a count table file (merge later with fit)."),
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
        except NgramkitError as e:
            raise click.ClickException(str(e)) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ngramkit")
def cli() -> None:
    """ngramkit: n-gram language models for names, words and identifiers.

    Train with `ngramkit fit names.txt`, then sample, eval, score the model.
    """


def main() -> None:
    # ngramkit's tensor ops are many and small: intra-op threads buy little on an
    # idle machine and cost a lot on a busy one (spinning workers wait on a core
    # someone else holds). One thread unless the user asks for more; torch reads
    # this when it is first imported.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # torch's CPU wheel warns at import when numpy is absent; ngramkit never needs numpy.
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    os.environ.setdefault("PYTHONWARNINGS", "ignore:Failed to initialize NumPy")  # workers too
    cli(prog_name="ngramkit")
