"""`ngramkit eval MODEL WORDLIST...`: score word lists item by item.

Rows stream: tsv, csv and jsonl are written as items are scored, so a list
of millions runs in bounded memory. The table shows at most TABLE_ROWS rows;
json holds every row in one object. --sort with neither --top nor --bottom
keeps every row in memory (it must see them all before the first one).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import click

from ..errors import OptionError
from ..ranking import Selection, select
from ..registry import check_logprobs
from ..report.decide import histogram
from ..report.evaluation import eval_report
from .common import (
    TABLE_ROWS,
    ProgressBar,
    check_export,
    check_html,
    emit_json,
    export_option,
    format_options,
    html_option,
    list_options,
    load_model,
    print_report,
    rank_samples_option,
    write_html,
)
from .ranks import show_ranks
from .writers import writer

if TYPE_CHECKING:
    from ..listeval import ListEvaluation
    from ..results import ItemScore

FORMATS = ("table", "json", "jsonl", "tsv", "csv")


@click.command("eval")
@click.argument("model_path", metavar="MODEL")
@click.argument("wordlists", nargs=-1, required=True, metavar="WORDLIST...")
@click.option(
    "--sort",
    type=click.Choice(["input", "nll", "logprob", "length"]),
    default="input",
    show_default=True,
    help="Row order: input, NLL (most likely first), log-prob (most probable first), length.",
)
@click.option("--top", type=click.IntRange(min=1), default=None, metavar="K", help="First K rows.")
@click.option(
    "--bottom", type=click.IntRange(min=1), default=None, metavar="K", help="Last K rows."
)
@format_options(FORMATS, "Output format (jsonl: one object per item, then a summary line).")
@click.option(
    "--flag",
    is_flag=True,
    help="Mark items beyond the threshold saved by `ngramkit threshold` (MODEL.threshold.json).",
)
@click.option("--hist", is_flag=True, help="Also show a histogram of the items' NLL (table).")
@click.option(
    "--rank",
    is_flag=True,
    help="Each item's rank (guess number) and the coverage curve, instead of scores.",
)
@rank_samples_option("With --rank")
@click.option(
    "--end-marker",
    is_flag=True,
    help="tsv/csv: end with a line '#end<delimiter>N' (N rows), so a reader can tell a "
    "complete stream from one cut short.",
)
@export_option
@html_option
@list_options
def command(
    model_path: str,
    wordlists: tuple[str, ...],
    sort: str,
    top: int | None,
    bottom: int | None,
    fmt: str,
    as_json: bool,
    flag: bool,
    hist: bool,
    rank: bool,
    samples: int,
    end_marker: bool,
    export: str | None,
    html_path: str | None,
    **columns: str | bool | None,
) -> None:
    """Score every item of each WORDLIST ("-" reads stdin) under MODEL.

    Per item: tokens (symbols + the end boundary), total log-probability,
    NLL per token, perplexity, whether it was a training item, and its OOV
    symbols. Totals per list and overall. `--sort nll --bottom 20` shows the
    20 least likely items. With --weighted (or --weight-column) the totals count
    each item `weight` times, as if it were repeated.
    """
    from ..config import list_format
    from ..listeval import ListEvaluation

    fmt = _check_options("json" if as_json else fmt, top, bottom, export, hist, html_path, rank)
    if end_marker and fmt not in ("tsv", "csv"):
        raise OptionError(f"--end-marker ends tsv and csv output; --format is {fmt}")
    lists = list_format(dict(columns))
    loaded = load_model(model_path)
    mark = _flagger(model_path, loaded.header) if flag else None
    if rank:
        return show_ranks(loaded.model, wordlists, fmt, samples)
    with ProgressBar("eval") as bar:
        progress = bar if bar.enabled else None
        run = ListEvaluation(loaded.model, wordlists, progress=progress, fmt=lists)
        if _streamed(fmt, sort, top, bottom, html_path):
            _stream(run, fmt, mark, end_marker)
            return _notes(_check_totals(run))
        nlls: list[float] | None = [] if hist or html_path else None
        limit = TABLE_ROWS if fmt == "table" else None
        shown = select(_rows(run, mark, nlls), sort, top, bottom, limit=limit)
    _check_totals(run)
    _render(
        run, shown, fmt, export, nlls if hist else None, flagged=mark is not None, end=end_marker
    )
    write_html(html_path, _page(model_path, run, shown, nlls or []))


def _streamed(fmt: str, sort: str, top: int | None, bottom: int | None, html: str | None) -> bool:
    """Whether rows go out as they are scored: tsv/csv/jsonl in input order, all of them,
    and no HTML page (which keeps them)."""
    return fmt in ("tsv", "csv", "jsonl") and sort == "input" and top is bottom is html is None


def _page(model_path: str, run: ListEvaluation, shown: Selection, nlls: list[float]) -> Any:
    """eval's HTML report: totals, the NLL histogram, the first TABLE_ROWS rows shown,
    each scored item drawn token by token."""
    from ..evaluate import token_breakdown
    from ..report.pages import eval_page

    rows = shown.rows[:TABLE_ROWS]
    tokens = {k: token_breakdown(run.model, r.item) for k, r in enumerate(rows) if not r.oov}
    total = run.overall.items
    return eval_page(model_path, run.files, run.overall, rows, tokens, nlls, total)


def _render(
    run: ListEvaluation,
    shown: Selection,
    fmt: str,
    export: str | None,
    nlls: list[float] | None,
    flagged: bool,
    end: bool = False,
) -> None:
    """The kept rows and the totals in `fmt` (table with its --hist, json, tsv, csv);
    end: tsv/csv end in their end marker."""
    if fmt == "table":
        extra = [] if nlls is None else [histogram(nlls, "NLL per item (nats/token), all items")]
        print_report(export, eval_report(shown, run.files, run.overall), *extra)
    elif fmt == "json":
        emit_json(run.to_json(shown, items=True))
    else:
        out = writer(fmt, sys.stdout, flagged=flagged, end_marker=end)
        for r in shown.rows:
            out.write(r, r.line)
        out.close(run.to_json(shown))
    _notes(run)


def _notes(run: ListEvaluation) -> None:
    """What the user should know about OOV items (all OOV, OOV only by the rule): stderr."""
    for line in run.notes():
        click.echo(line, err=True)


def _check_options(
    fmt: str,
    top: int | None,
    bottom: int | None,
    export: str | None,
    hist: bool,
    html: str | None,
    rank: bool,
) -> str:
    """The option combinations click cannot check, before any work; returns `fmt`."""
    if html is not None and rank:
        raise OptionError(
            "--html draws the scores' report, not ranks: for coverage curves in HTML use "
            "`ngramkit compare MODEL --on LIST --coverage --html FILE`"
        )
    check_html(html)
    if top is not None and bottom is not None:
        raise OptionError("give --top or --bottom, not both")
    if hist and fmt != "table":
        raise OptionError(f"--hist draws in the table report; it does not apply to --format {fmt}")
    if export is not None and fmt != "table":
        raise OptionError(f"--export saves the table report; it does not apply to --format {fmt}")
    check_export(export)
    return fmt


def _check_totals(run: ListEvaluation) -> ListEvaluation:
    """After scoring, one clear line when the totals are no distribution's (log p
    above 0: a backend returning probabilities); else `run` itself."""
    check_logprobs(type(run.model), [(f.source, f) for f in run.files])
    return run


def _stream(
    run: ListEvaluation,
    fmt: str,
    mark: Callable[[ItemScore], ItemScore] | None,
    end: bool = False,
) -> None:
    """tsv, csv or jsonl rows as the chunks are scored, then the totals (and the end
    marker of tsv/csv when `end`)."""
    out = writer(fmt, sys.stdout, flagged=mark is not None, end_marker=end)
    for chunk in run.chunks():
        if mark is None:
            out.write_chunk(chunk)
        else:
            for r in map(mark, chunk.rows()):
                out.write(r, r.line)
    out.close(run.to_json())


def _rows(
    run: ListEvaluation, mark: Callable[[ItemScore], ItemScore] | None, nlls: list[float] | None
) -> Iterator[ItemScore]:
    """run.rows(), marked when --flag is given; the scored items' NLL kept for --hist."""
    for r in run.rows():
        if nlls is not None and not r.oov:
            nlls.append(r.nll)
        yield r if mark is None else mark(r)


def _flagger(model_path: str, header: dict[str, Any]) -> Callable[[ItemScore], ItemScore]:
    """Each row with its "flagged" mark, from the model's sidecar threshold file."""
    from dataclasses import replace

    from ..threshold import load, sidecar

    t = load(sidecar(model_path), str(header.get("header_sha256", "")))
    return lambda r: replace(r, flagged=t.flag_row(r))
