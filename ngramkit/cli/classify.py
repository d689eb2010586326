"""`ngramkit classify LIST... --model en=en.ngk --model de=de.ngk`: which model fits each item.

Models: `LABEL=PATH`, a bare PATH (label: the file's stem) or a folder (every
*.ngk in it, labels from the stems). Gold labels, when given, come from a
tab-separated column (`--labels-column K`, the item in column 1) or from one
list per label (`--labeled en=en_test.txt`); then accuracy, per-class
precision/recall/F1 and the confusion matrix are reported too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import OptionError
from .common import check_html, emit_json, format_options, html_option, load_model, write_html

if TYPE_CHECKING:
    from ..classify import Candidate

TABLE_ROWS = 1000  # rows the table shows at most; every row goes to json and tsv


@click.command("classify")
@click.argument("lists", nargs=-1, metavar="[LIST]...")
@click.option(
    "--model",
    "models",
    multiple=True,
    required=True,
    metavar="[LABEL=]PATH|DIR",
    help="A model to compete (repeat); a folder adds every *.ngk in it.",
)
@click.option(
    "--prior",
    "priors",
    multiple=True,
    metavar="LABEL=P",
    help="Prior of a model (repeat); the others share what is left [default: equal].",
)
@click.option(
    "--labeled",
    multiple=True,
    metavar="LABEL=LIST",
    help="A list whose items all have gold label LABEL (repeat).",
)
@click.option(
    "--labels-column",
    type=click.IntRange(min=2),
    default=None,
    metavar="K",
    help="LISTs are tab-separated: item in column 1, gold label in column K.",
)
@format_options(("table", "json", "tsv"), "Output format.")
@click.option("--hist", is_flag=True, help="Also show a histogram of the margins.")
@html_option
def command(
    lists: tuple[str, ...],
    models: tuple[str, ...],
    priors: tuple[str, ...],
    labeled: tuple[str, ...],
    labels_column: int | None,
    fmt: str,
    as_json: bool,
    hist: bool,
    html_path: str | None,
) -> None:
    """Give each item of each LIST the model with the highest posterior.

    Posterior: log p under each model plus its log prior, normalized over the
    models that can score the item (a closed-vocabulary model that cannot
    spell it is out, and the output says so). Margin: log posterior odds of
    the winner over the runner-up, in nats.
    """
    from ..classify import Confusion, check_candidates, classify, resolve_priors

    fmt = "json" if as_json else fmt
    check_html(html_path)
    if not lists and not labeled:
        raise OptionError("give a LIST to classify or --labeled LABEL=LIST")
    candidates = _candidates(models)
    check_candidates(candidates)
    labels = [c.label for c in candidates]
    prior = resolve_priors(labels, dict(_pair(p, "--prior", float) for p in priors))
    items, gold, where = _inputs(lists, labeled, labels_column)
    if gold is not None:
        from ..classify import check_gold

        check_gold(labels, gold, where)
    result = classify(candidates, items, prior)
    confusion = Confusion.of(result, gold) if gold is not None else None
    _render(fmt, result, prior, gold, confusion, candidates, hist)
    if html_path is not None:
        from ..report.pages import classify_page

        write_html(html_path, classify_page(result, confusion, gold, TABLE_ROWS))


def _pair(text: str, flag: str, cast: Any = str) -> tuple[str, Any]:
    """'en=0.7' -> ('en', 0.7); OptionError for anything else."""
    label, sep, value = text.partition("=")
    if not sep or not label or not value:
        raise OptionError(f"{flag} {text}: expected LABEL=VALUE")
    try:
        return label, cast(value)
    except ValueError:
        raise OptionError(f"{flag} {text}: {value!r} is not a number") from None


def _candidates(specs: tuple[str, ...]) -> list[Candidate]:
    """LABEL=PATH, PATH (label = stem) or DIR (each *.ngk), loaded, in the order given."""
    from ..classify import Candidate

    out = []
    for spec in specs:
        label, sep, path = spec.partition("=")
        if not sep:
            label, path = "", spec
        if Path(path).is_dir():
            found = sorted(Path(path).glob("*.ngk"))
            if not found:
                raise OptionError(f"--model {path}: no *.ngk model files in that folder")
            pairs = [(f.stem, str(f)) for f in found]
        else:
            pairs = [(label or Path(path).stem, path)]
        for name, p in pairs:
            resolved = str(Path(p).resolve())
            out.append(Candidate(name, load_model(p).model, resolved))
    return out


def _inputs(
    lists: tuple[str, ...], labeled: tuple[str, ...], column: int | None
) -> tuple[list[str], list[str | None] | None, list[str]]:
    """Items in order, their gold labels (None: no gold anywhere) and file:line of each."""
    from ..classify import split_labels
    from ..reader import read_items

    items: list[str] = []
    gold: list[str | None] = []
    where: list[str] = []
    for path in lists:
        words = read_items(path)
        if column is not None:
            its, labels = split_labels(words.source, words.items, words.lines, column)
        else:
            its, labels = words.items, [None] * len(words.items)
        items += its
        gold += labels
        where += [f"{words.source}:{n}" for n in words.lines]
    for spec in labeled:
        label, path = _pair(spec, "--labeled")
        words = read_items(path)
        items += words.items
        gold += [label] * len(words.items)
        where += [f"--labeled {spec}"] * len(words.items)
    has_gold = column is not None or bool(labeled)
    return items, (gold if has_gold else None), where


def _render(
    fmt: str,
    result: Any,
    prior: list[float],
    gold: Any,
    confusion: Any,
    candidates: list[Candidate],
    hist: bool,
) -> None:
    from ..report.decide import classify_report, classify_tsv

    if fmt == "json":
        emit_json(
            {
                "models": [
                    {"label": c.label, "path": c.path, "prior": p}
                    for c, p in zip(candidates, prior)
                ],
                "summary": result.summary_json(),
                "evaluation": confusion.to_json() if confusion is not None else None,
                "items": result.rows_json(gold),
            }
        )
    elif fmt == "tsv":
        click.echo(classify_tsv(result, gold), nl=False)
    else:
        from .common import print_report

        print_report(None, *classify_report(result, confusion, TABLE_ROWS, hist))
