"""Helpers shared by the CLI commands: consoles, JSON output, model loading, shared flags."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from ..config import SHARDS_PER_WORKER
from ..errors import OptionError, OutputError

F = TypeVar("F", bound=Callable[..., Any])

TABLE_ROWS = 1000
"""Rows a terminal table shows at most (eval's items, score's tokens, sample's items):
past it a line says how many more there are and which format prints them all."""


def console(stderr: bool = False) -> Console:
    """A console for human output (stderr when stdout carries JSON)."""
    return Console(stderr=stderr, highlight=False)


def emit_json(data: Any) -> None:
    """Print one JSON object to stdout and nothing else."""
    click.echo(json.dumps(data, ensure_ascii=False, allow_nan=False))


def format_options(formats: Sequence[str], help: str) -> Callable[[F], F]:
    """--format (one of `formats`, "table" by default) and --json (same as --format json)."""

    def add(f: F) -> F:
        f = click.option("--json", "as_json", is_flag=True, help="Same as --format json.")(f)
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(list(formats)),
            default="table",
            show_default=True,
            help=help,
        )(f)

    return add


def finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """A click callback refusing nan and inf (FloatRange lets nan through), as click refuses."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number.", ctx, param)
    return value


def load_model(path: str) -> Any:
    """A ModelFile, or one clear line (ModelFileError) for a bad path or file."""
    from ..persist import load

    return load(path)


class ProgressBar:
    """A Rich progress bar on stderr, shown only when stderr is a terminal.

    Use as a context manager; the instance is the `progress(done, total,
    **info)` callback that long fits call (info may carry `loss`).
    """

    def __init__(self, label: str, enabled: bool | None = None) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TextColumn("{task.fields[info]}"),
                TimeRemainingColumn(),
                console=console(stderr=True),
                transient=True,
                # eval streams rows to stdout under the bar: leave stdout alone
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(self.label, total=None, info="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def __call__(self, done: int, total: int | None = None, **info: Any) -> None:
        if self._progress is None:
            return
        text = "  ".join(
            f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in info.items()
        )
        self._progress.update(self._task, completed=done, total=total, info=text)


EXPORT_SUFFIXES = (".html", ".svg", ".txt")


export_option = click.option(
    "--export",
    default=None,
    metavar="FILE",
    help="Also save the report as FILE (.html, .svg or .txt).",
)
"""The `--export FILE` option every report command takes."""


def check_export(path: str | None, as_json: bool = False) -> None:
    """Refuse an --export target we cannot write, before any work is done."""
    if path is None:
        return
    if as_json:
        raise OptionError("--export saves the terminal report; it does not apply to --json")
    p = Path(path)
    if p.suffix.lower() not in EXPORT_SUFFIXES:
        raise OptionError(
            f"--export {path}: the file name must end in {', '.join(EXPORT_SUFFIXES)}"
        )
    if not p.parent.is_dir():
        raise OptionError(f"--export {path}: folder {p.parent} does not exist")


def report_console(export: str | None) -> Console:
    """The console a report is printed on; it records when the report is exported."""
    return Console(highlight=False, record=export is not None)


def print_report(export: str | None, *renderables: Any) -> None:
    """Print a report's renderables; with --export FILE, also save them there."""
    con = report_console(export)
    for r in renderables:
        con.print(r)
    save_export(con, export)


def save_export(con: Console, path: str | None) -> None:
    """Write what `con` recorded to `path` (format from the suffix)."""
    if path is None:
        return
    suffix = path.lower().rsplit(".", 1)[-1]
    try:
        if suffix == "html":
            con.save_html(path)
        elif suffix == "svg":
            con.save_svg(path, title="ngramkit")
        else:
            con.save_text(path)
    except OSError as e:
        raise OutputError(f"--export {path}: cannot write ({e.strerror or e})") from None
    console(stderr=True).print(f"[dim]report saved to[/dim] {path}")


def list_options(f: Any) -> Any:
    """--column, --weight-column, --weighted, --delimiter, --header (tabular.ListFormat)."""
    options = [
        ("--header", "The first line names the columns (implied by a column name)."),
        (
            "--delimiter",
            "Field separator: one character, or tab, comma, semicolon, pipe "
            "[default: ',' for .csv, else TAB].",
        ),
        ("--weighted", "Lines are item<TAB>count: each item counts `count` times."),
        ("--weight-column", "Column (number from 1, or header name) of each item's weight."),
        ("--column", "Column (number from 1, or header name) holding the items."),
    ]
    for flag, text in options:
        if flag in ("--header", "--weighted"):
            f = click.option(flag, is_flag=True, default=None, help=text)(f)
        else:
            f = click.option(
                flag, default=None, metavar="NAME|N" if "col" in flag else "C", help=text
            )(f)
    return f


def rule_options(f: Any) -> Any:
    """--normalize, --case, --accents (normalize.Normalization) and --unk/--no-unk:
    the text rule and open vocabulary that `fit` and `count` store alike."""
    f = click.option(
        "--unk/--no-unk",
        default=None,
        help="Add the unknown token: every unseen symbol maps to it, every item gets a "
        "score (docs/open-vocabulary.md) [default: off].",
    )(f)
    f = click.option(
        "--accents",
        default=None,
        metavar="auto|keep|strip",
        help="Strip diacritics (é -> e, ł -> l); auto: strip when the training data has "
        "none [default: auto].",
    )(f)
    f = click.option(
        "--case",
        default=None,
        metavar="auto|keep|lower",
        help="Lower-case every item; auto: lower when the training data has no capitals "
        "[default: auto].",
    )(f)
    return click.option(
        "--normalize",
        default=None,
        metavar="nfc|nfkc|none",
        help="Unicode normalization of every item, stored in the model [default: nfc].",
    )(f)


def engine_options(f: Any) -> Any:
    """--workers, --shards, --dask (config.Engine): where and in how many pieces to count."""
    f = click.option(
        "--dask",
        default=None,
        metavar="ADDRESS|local",
        help="Count on a Dask cluster (tcp://host:8786), or on a local one started for the "
        "run ('local'); needs ngramkit[dask].",
    )(f)
    f = click.option(
        "--shards",
        default=None,
        type=click.IntRange(1),
        metavar="K",
        help=f"Cut DATA into about K byte-range shards [default: {SHARDS_PER_WORKER} per "
        "worker, or one per file].",
    )(f)
    return click.option(
        "--workers",
        default=None,
        type=click.IntRange(1),
        metavar="N",
        help="Count in N local processes (with --dask local: N Dask workers) [default: 1].",
    )(f)


def rank_samples_option(when: str) -> Callable[[F], F]:
    """--samples N: draws for the rank estimate (guessing.RankEstimator), `when` says
    which flag asks for ranks ("With --rank: ...")."""
    from ..options import RANK_SAMPLES  # torch-free: options are built at import

    return click.option(
        "--samples",
        type=click.IntRange(min=1),
        default=RANK_SAMPLES,
        show_default=True,
        help=f"{when}: draws for the rank estimate.",
    )


html_option = click.option(
    "--html",
    "html_path",
    default=None,
    metavar="FILE",
    help="Also write a self-contained HTML report to FILE (opens offline in any browser).",
)
"""The `--html FILE` option of fit, eval, compare, classify, show and threshold."""


def check_html(path: str | None) -> None:
    """Refuse an --html target we cannot write (one line), before any work is done.

    Refused: a missing folder, a folder we may not write in, a directory, and
    anything that exists and is not a regular file (a FIFO, a device): the
    report is written to a temporary file and renamed over the target, which
    must not replace a device or block on a FIFO.
    """
    if path is None:
        return
    import os

    from ..container import check_target

    p = Path(path)
    check_target(p, OptionError, f"--html {path}")
    if not os.access(p.parent, os.W_OK):
        raise OptionError(f"--html {path}: folder {p.parent} is not writable")


def write_html(path: str | None, page: Any) -> None:
    """Render `page` (report.html.Page) and save it atomically at `path` (checked before)."""
    if path is None:
        return
    from ..container import atomic_write
    from ..report.html import render

    check_html(path)  # again: the target may have changed during the work
    text = render(page).encode("utf-8")
    atomic_write(Path(path), lambda f: f.write(text), OptionError)
    console(stderr=True).print(f"[dim]HTML report saved to[/dim] {path}")
