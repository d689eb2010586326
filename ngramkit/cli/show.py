"""`ngramkit show MODEL`: the model card and its transition heatmap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import NgramkitError
from ..report.card import card_rows, model_card
from ..report.heatmap import heatmap, transitions_table
from .common import (
    check_export,
    check_html,
    emit_json,
    export_option,
    html_option,
    load_model,
    report_console,
    save_export,
    write_html,
)

HEATMAP_TOKENS = 40  # largest bigram vocabulary drawn as a terminal heatmap


@click.command("show")
@click.argument("model_path", metavar="MODEL")
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Strongest transitions listed (higher orders).",
)
@click.option(
    "--png",
    default=None,
    metavar="FILE",
    help="Write the matrix figure as PNG (needs ngramkit[plot]).",
)
@click.option(
    "--svg",
    default=None,
    metavar="FILE",
    help="Write the matrix figure as SVG (needs ngramkit[plot]).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@export_option
@html_option
def command(
    model_path: str,
    top: int,
    png: str | None,
    svg: str | None,
    as_json: bool,
    export: str | None,
    html_path: str | None,
) -> None:
    """Describe MODEL: backend, options, data fingerprint, metrics, sizes.

    A bigram model over at most 40 tokens is drawn as the lecture's matrix
    (each cell: the bigram and its count); other models list their
    strongest transitions.
    """
    from ..plot import check_figure_path, require_matplotlib, save_matrix
    from ..transitions import strongest, transition_matrix

    check_export(export, as_json)
    check_html(html_path)
    figures = [(p, suffix) for p, suffix in ((png, ".png"), (svg, ".svg")) if p is not None]
    for path, suffix in figures:
        check_figure_path(path, suffix)
        require_matplotlib()
    mf = load_model(model_path)
    matrix = transition_matrix(mf.model)
    if figures and matrix is None:
        order = mf.model.order
        raise NgramkitError(
            f"the matrix figure is drawn for bigram models; this one is order {order}"
        )
    for path, _ in figures:
        save_matrix(matrix, path)
    rows = strongest(mf.model, top)
    _save_page(html_path, mf, matrix, rows)
    if as_json:
        emit_json(_json(mf, matrix, rows))
        return
    con = report_console(export)
    con.print(_card(mf, matrix, rows, con.width))
    for path, _ in figures:
        con.print(f"[dim]figure saved to[/dim] {path}")
    save_export(con, export)


def _save_page(path: str | None, mf: Any, matrix: Any, rows: list[Any]) -> None:
    """show's HTML report (--html): the card, the whole matrix or the transitions."""
    if path is not None:
        from ..report.pages import show_page

        write_html(path, show_page(mf, Path(mf.path).stat().st_size, matrix, rows))


def _card(mf: Any, matrix: Any, rows: list[Any], width: int) -> Any:
    """The model card, with the heatmap (small bigram) or the strongest transitions."""
    vocab = mf.model.require_fitted()
    extra: list[Any] = []
    if matrix is not None and len(vocab) <= HEATMAP_TOKENS:
        extra.append(heatmap(matrix, width=width - 4))  # inside the card: 2 borders, 2 pads
    elif rows:
        extra.append(transitions_table(rows, vocab.separator))
    return model_card(mf, Path(mf.path).stat().st_size, extra)


def _json(mf: Any, matrix: Any, rows: list[Any]) -> dict[str, Any]:
    card = {
        title.lower().replace(" ", "_"): dict(r)
        for title, r in card_rows(mf, Path(mf.path).stat().st_size).items()
    }
    return {
        "model": mf.path,
        "backend": mf.model.name,
        "order": mf.model.order,
        "hparams": mf.model.hparams,
        "card": {k: {a: str(b) for a, b in v.items()} for k, v in card.items()},
        "metrics": mf.metrics,
        "mixture": mf.model.to_json() if mf.model.name == "mixture" else None,
        "matrix": None
        if matrix is None
        else {"kind": matrix.kind, "tokens": list(matrix.tokens), "values": matrix.values.tolist()},
        "strongest": [
            {"context": list(t.context), "token": t.token, "count": t.count, "prob": t.prob}
            for t in rows
        ],
    }
