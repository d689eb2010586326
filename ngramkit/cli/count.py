"""`ngramkit count DATA... -o part.counts`: count n-grams into a count table file.

Counting can run as separate jobs (one per machine or per file) and be
merged later with `ngramkit fit --from-counts part1.counts part2.counts`.
Parts merge only over one vocabulary: give every job the same
`--vocab-from` (a word list holding every symbol, or an earlier table).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ..config import Engine, list_format
from .common import ProgressBar, console, emit_json, engine_options, list_options, rule_options

if TYPE_CHECKING:
    from ..counting import CountRun


@click.command("count")
@click.argument("data", nargs=-1, required=True, metavar="DATA...")
@click.option("-o", "--output", required=True, metavar="FILE", help="Count table file to write.")
@click.option("--order", default=2, type=click.IntRange(1, 32), help="n-gram order [default: 2].")
@click.option(
    "--tokenizer",
    default="char",
    type=click.Choice(["char", "word"]),
    help="Symbols are characters or words [default: char].",
)
@click.option(
    "--vocab-from",
    default=None,
    metavar="FILE",
    help="Take the vocabulary from a word list or a count table (the same for every part) "
    "[default: the symbols of DATA].",
)
@rule_options
@list_options
@engine_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a report.")
def command(
    data: tuple[str, ...],
    output: str,
    order: int,
    tokenizer: str,
    vocab_from: str | None,
    normalize: str | None,
    case: str | None,
    accents: str | None,
    unk: bool | None,
    as_json: bool,
    **engine: Any,
) -> None:
    """Count the n-grams of DATA (files, cut into shards) into a count table.

    --weighted / --column / --weight-column read tabular lists, and --normalize,
    --case, --accents, --unk are stored in the table, as `fit` does: a fit from
    the tables is the fit of DATA with the same flags.
    """
    from ..counting import save
    from ..fitting import count_parts, read_vocab
    from ..normalize import Normalization

    fmt = list_format(engine)  # pops the list options; the rest are the engine's
    rule = Normalization(normalize or "NFC", case or "auto", accents or "auto")
    vocab = read_vocab(vocab_from, tokenizer, rule, bool(unk)) if vocab_from else None
    with ProgressBar("count", enabled=False if as_json else None) as bar:
        run = count_parts(
            list(data),
            order,
            Engine(**engine),
            kind=tokenizer,
            vocab=vocab,
            normalization=rule,
            progress=bar,
            unk=bool(unk),
            fmt=fmt,
        )
    save(run.table, output)
    t = run.table
    if as_json:
        emit_json(_json(run, output))
        return
    console().print(
        f"counted {t.provenance.items:,} items ({t.tokens:,} tokens, {len(t.top_keys):,} distinct "
        f"{order}-grams, {len(t.vocab)} tokens of vocabulary) in {len(run.shards)} shard(s) "
        f"-> [bold]{output}[/bold]"
    )
    if t.provenance.oov:
        console().print(
            f"[yellow]{t.provenance.oov:,} item(s) left out: symbols outside the vocabulary"
        )


def _json(run: CountRun, output: str) -> dict[str, Any]:
    """`count --json`: the table written, its shards, sizes and seconds per stage."""
    t, made = run.table, run.table.provenance
    data = {"items": made.items, "tokens": t.tokens, "vocab_size": len(t.vocab), "oov": made.oov}
    data |= {"weight": made.weight} if made.weight else {}
    data |= {"normalized": run.normalized}
    return {
        "counts": output,
        "order": t.order,
        "shards": len(run.shards),
        "data": data,
        "ngrams": len(t.top_keys),
        "seconds": run.seconds,
    }
