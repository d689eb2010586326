"""The HTML report of each command (`--html FILE`): result objects into a `html.Page`. No I/O.

show and fit: the model card, the whole count matrix (bigram models of at
most HEATMAP_TOKENS tokens; else the strongest transitions), metrics, samples.
eval: totals, a histogram of per-item NLL, and the item table, sortable, each
item drawn token by token shaded by surprisal. compare: the models, the
paired differences, overlaid histograms and (with --coverage) coverage curves.
classify: the per-item table and, with gold labels, the per-class table and
the confusion matrix. threshold: rates, AUCs, the ROC curve, a histogram.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import html
from .card import card_rows
from .html import Cell, Page, Section, number

if TYPE_CHECKING:
    from ..classify import Classification, Confusion
    from ..compare import CompareResult
    from ..fitting import FitResult
    from ..persist import ModelFile
    from ..results import Metrics, TokenScore
    from ..threshold import Calibration
    from ..transitions import Matrix, Transition

HEATMAP_TOKENS = 64  # largest vocabulary whose matrix the page draws whole


def model_sections(
    mf: ModelFile, file_bytes: int, matrix: Matrix | None, rows: Sequence[Transition]
) -> list[Section]:
    """The card, the metrics stored at fit time, and the matrix or strongest transitions."""
    out = [html.facts("Model card", card_rows(mf, file_bytes))]
    if mf.metrics:
        stored = [(k, v) for k, v in mf.metrics.items() if isinstance(v, dict)]
        out.append(_metric_dicts("Metrics (at fit time)", stored))
    vocab = mf.model.require_fitted()
    if matrix is not None and len(vocab) <= HEATMAP_TOKENS:
        out.append(html.heatmap_section(matrix))
    elif rows:
        sep = vocab.separator
        out.append(
            html.table(
                "Strongest transitions",
                ["context", "next", "count", "p(next | context)"],
                [
                    [
                        sep.join(t.context),
                        t.token,
                        "" if t.count is None else f"{t.count:,}",
                        number(t.prob),
                    ]
                    for t in rows
                ],
                sortable=True,
                numeric=(2, 3),
            )
        )
    return out


def show_page(mf: ModelFile, file_bytes: int, matrix: Any, rows: Sequence[Any]) -> Page:
    model = mf.model
    subtitle = f"{model.name} backend, order {model.order}"
    return Page(
        f"ngramkit model: {mf.path}", subtitle, model_sections(mf, file_bytes, matrix, rows)
    )


def fit_page(result: FitResult, mf: ModelFile, file_bytes: int, matrix: Any, rows: Any) -> Page:
    """The saved model's card, its metrics (the fit's, as stored), the samples, the matrix."""
    sections = model_sections(mf, file_bytes, matrix, rows)
    at = 2 if mf.metrics else 1  # after the card and its metrics
    sections.insert(at, samples_section(result.samples))
    subtitle = f"{result.model.name} backend, order {result.model.order}, {result.seconds:.2f} s"
    return Page(f"ngramkit fit: {result.output}", subtitle, sections)


def samples_section(samples: Sequence[tuple[str, bool | None]]) -> Section:
    rows = [[s, "" if seen is None else ("seen" if seen else "new")] for s, seen in samples]
    return html.table("Samples", ["item", "in training"], rows, note="new: not a training item")


def _metrics(title: str, rows: Sequence[tuple[str, Metrics]]) -> Section:
    """One row per split or list: items, OOV, tokens, NLL, perplexity, bits."""
    body = [
        [
            name,
            f"{m.items:,}",
            f"{m.oov:,}",
            f"{m.tokens:,}",
            number(m.nll),
            number(m.perplexity, 3),
            number(m.bits),
        ]
        for name, m in rows
    ]
    head = ["", "items", "OOV", "tokens", "NLL (nats/token)", "perplexity", "bits/token"]
    return html.table(title, head, body, numeric=range(1, 7))


def _metric_dicts(title: str, rows: Sequence[tuple[str, dict[str, Any]]]) -> Section:
    """The metrics a model file stores (JSON dicts): tokens, NLL, perplexity, bits."""
    body = [
        [
            name,
            f"{m.get('tokens', 0):,}",
            number(m.get("nll")),
            number(m.get("perplexity"), 3),
            number(m.get("bits")),
        ]
        for name, m in rows
    ]
    head = ["split", "tokens", "NLL (nats/token)", "perplexity", "bits/token"]
    return html.table(title, head, body, numeric=range(1, 5))


def eval_page(
    model_path: str,
    files: Sequence[Metrics],
    overall: Metrics,
    rows: Sequence[Any],
    tokens: dict[int, list[TokenScore]],
    nlls: Sequence[float],
    total: int,
) -> Page:
    """Totals, the NLL histogram, and the item table (rows: ItemScore; tokens: row
    position -> its per-token scores, for the rows drawn token by token)."""
    totals = [(m.source, m) for m in files] + ([("all", overall)] if len(files) > 1 else [])
    shown = f"{len(rows):,} of {total:,} items" if len(rows) < total else f"{total:,} items"
    sections = [
        _metrics("Totals", totals),
        html.histogram_chart([("items", nlls)], "NLL per item", "NLL (nats/token)"),
        items_section(rows, tokens, f"Items ({shown})"),
    ]
    return Page(f"ngramkit eval: {model_path}", ", ".join(m.source for m in files), sections)


def items_section(rows: Sequence[Any], tokens: dict[int, list[TokenScore]], title: str) -> Section:
    """The sortable item table; an item with its tokens is drawn shaded by surprisal."""
    flagged = any(r.flagged is not None for r in rows)
    head = ["#", "item", "tokens", "log p (nats)", "NLL (nats/token)", "in training", "OOV"]
    head += ["flagged"] if flagged else []
    body = []
    for k, r in enumerate(rows):
        toks = tokens.get(k)
        item = html.token_cell(r.item, toks) if toks else Cell(r.item)
        row = [
            number(r.index + 1, 0),
            item,
            number(r.tokens, 0),
            number(r.logprob),
            number(r.nll),
            "" if r.in_train is None else ("yes" if r.in_train else "no"),
            " ".join(r.unknown) if r.oov else "",
        ]
        body.append(row + ([{True: "yes", False: "no", None: ""}[r.flagged]] if flagged else []))
    note = (
        "Click a header to sort. Each token's shade is its surprisal, -log2 p, from white "
        f"(0 bits) to red ({html.SURPRISAL_LEVELS - 1} bits or more); hover a token for p. "
        "The last token is the end boundary."
    )
    return html.table(title, head, body, sortable=True, numeric=(0, 2, 3, 4), note=note)


def compare_page(
    result: CompareResult, labels: Sequence[str], coverage: Sequence[tuple[str, Any]] = ()
) -> Page:
    """The models' totals and differences, overlaid NLL histograms, coverage curves."""
    cmp = result.scores
    diffs = [
        [labels[k], number(d.delta), number(d.low), number(d.high), number(d.better, 3)]
        for k, d in enumerate(result.differences, start=1)
    ]
    nlls = [(labels[k], cmp.item_nll(k).tolist()) for k in range(len(labels))]
    sections = [_compare_models(result, labels)]
    if diffs:
        sections.append(
            html.table(
                f"Differences against {labels[0]} (items every model scores)",
                ["model", "ΔNLL (nats/token)", "95% low", "95% high", "resamples better"],
                diffs,
                numeric=range(1, 5),
                note=" ".join(result.verdicts),
            )
        )
    sections.append(html.histogram_chart(nlls, "NLL per item, each model", "NLL (nats/token)"))
    if coverage:
        sections.append(html.coverage_chart(coverage, "Coverage: items found within K guesses"))
    return Page(f"ngramkit compare on {result.source}", " · ".join(labels), sections)


def _compare_models(result: CompareResult, labels: Sequence[str]) -> Section:
    """Per model: backend and order, OOV and p = 0 items, tokens, NLL, perplexity, bits,
    and the NLL on the items every model scores."""
    cmp, body = result.scores, []
    for k, (name, model) in enumerate(zip(labels, result.models)):
        m, shared = cmp.metrics(k), cmp.metrics(k, shared_only=True)
        body.append(
            [
                name,
                f"{model.name} {model.order}",
                f"{int(cmp.oov[k].sum()):,}",
                f"{cmp.zero_probability(k):,}",
                f"{m.tokens:,}",
                number(m.nll),
                number(m.perplexity, 3),
                number(m.bits),
                number(shared.nll),
            ]
        )
    head = [
        "model",
        "backend, order",
        "OOV",
        "p = 0",
        "tokens",
        "NLL (nats/token)",
        "perplexity",
        "bits/token",
        "NLL, shared items",
    ]
    return html.table("Models", head, body, numeric=range(2, 9))


def classify_page(
    result: Classification, confusion: Confusion | None, gold: Any, limit: int
) -> Page:
    """The per-item table (label, margin, each posterior), the evaluation with gold labels."""
    post, pred = result.posterior().tolist(), result.predicted().tolist()
    margin = result.margin().tolist()
    head = ["item", *(["gold"] if gold is not None else []), "label", "margin (nats)"]
    head += [f"p({label})" for label in result.labels]
    body = []
    for n, item in enumerate(result.items[:limit]):
        row: list[str | Cell] = [item, *([gold[n] or ""] if gold is not None else [])]
        row += [result.label_of(pred[n]) or "none", number(margin[n], 3)]
        body.append(row + [number(p, 4) for p in post[n]])
    first = 3 if gold is not None else 2
    shown = f" (first {limit:,} of {len(result.items):,})" if len(result.items) > limit else ""
    note = "p: posterior over the models that score the item; '-': the model cannot spell it."
    sections = [
        html.table(
            f"Items{shown}", head, body, sortable=True, numeric=range(first, len(head)), note=note
        )
    ]
    if confusion is not None:
        sections = [*_evaluation(confusion), *sections]
    title = f"ngramkit classify: {len(result.items):,} items among {len(result.labels)} models"
    return Page(title, " · ".join(result.labels), sections)


def _evaluation(c: Confusion) -> list[Section]:
    per = c.per_class()
    body = [
        [
            label,
            number(v["precision"], 3),
            number(v["recall"], 3),
            number(v["f1"], 3),
            f"{v['support']:,}",
        ]
        for label, v in per.items()
    ]
    table = html.table(
        f"Per class (accuracy {c.accuracy:.4f}, macro F1 {c.macro_f1():.4f}, {c.total:,} items)",
        ["label", "precision", "recall", "F1", "support"],
        body,
        numeric=range(1, 5),
    )
    return [table, html.confusion_grid(c)]


def threshold_page(c: Calibration, values: Sequence[float] | None, model_path: str) -> Page:
    """Rates and the threshold, the AUC of each score, the ROC curve, a histogram."""
    from .decide import threshold_rows

    t = c.threshold
    sections = [html.facts("Threshold", {"Calibration": threshold_rows(c)})]
    if c.aucs:
        auc_rows = [[k, number(v)] for k, v in c.aucs.items()]
        sections.append(html.table("AUC of each score", ["score", "AUC"], auc_rows, numeric=(1,)))
    if c.curve:
        sections.append(html.roc_chart(c.curve, c.aucs[t.score], (c.fpr, c.tpr)))
    if values is not None:
        sections.append(html.histogram_chart([("real", values)], "Real items' scores", t.score))
    return Page(f"ngramkit threshold: {model_path}", f"score {t.score}", sections)
