"""`ngramkit eval MODEL WORDLIST...`: score word lists item by item."""

from __future__ import annotations

import click

from .common import console, emit_json, load_model


@click.command("eval")
@click.argument("model_path", metavar="MODEL")
@click.argument("wordlists", nargs=-1, required=True, metavar="WORDLIST...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "tsv"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def command(model_path: str, wordlists: tuple[str, ...], fmt: str, as_json: bool) -> None:
    """Score every item of each WORDLIST ("-" reads stdin) under MODEL."""
    from ..data import read_items
    from ..evaluate import Summary, score_items
    from ..report import eval_table

    fmt = "json" if as_json else fmt
    model = load_model(model_path).model
    summary = Summary()
    rows = []
    for path in wordlists:
        words = read_items(path)
        for row in score_items(model, words.items, source=words.source):
            summary.add(row)
            rows.append(row)
    if fmt == "json":
        emit_json({"summary": summary.to_json(), "items": [r.to_json() for r in rows]})
    elif fmt == "tsv":
        click.echo("item\ttokens\tlogprob\tnll\toov\tin_train")
        for r in rows:
            click.echo(f"{r.item}\t{r.tokens}\t{r.logprob}\t{r.nll}\t{int(r.oov)}\t{r.in_train}")
    else:
        console().print(eval_table(rows, summary))
