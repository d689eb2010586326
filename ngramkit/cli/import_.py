"""`ngramkit import FILE.arpa -o MODEL`: read an ARPA file as a count model."""

from __future__ import annotations

import click

from .. import registry
from .common import console, emit_json


@click.command("import")
@click.argument("arpa_path", metavar="FILE.arpa")
@click.option("-o", "--output", required=True, metavar="MODEL", help="Model file to write.")
@click.option(
    "--tokenizer",
    type=click.Choice(["char", "word"]),
    default=None,
    help="Words are characters or words [default: char when every word is one character].",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
def command(arpa_path: str, output: str, tokenizer: str | None, as_json: bool) -> None:
    """Read an ARPA back-off file (KenLM, SRILM) and save it as an ngramkit model."""
    from ..persist import save
    from ..smoothing import arpa

    read = arpa.read(arpa_path, tokenizer)
    model = registry.get("count").from_tables(read.tables, read.vocab, {"source": arpa_path})
    save(model, output, extra={"data": {"source": arpa_path, "format": "arpa"}})
    sizes = read.tables.sizes
    if as_json:
        emit_json(
            {
                "model": output,
                "source": arpa_path,
                "order": len(sizes),
                "tokenizer": read.vocab.kind,
                "vocab_size": len(read.vocab),
                "ngrams": sizes,
                "skipped_unk_ngrams": read.skipped_unk,
            }
        )
    else:
        counts = ", ".join(f"{k}-grams {n}" for k, n in enumerate(sizes, 1))
        console().print(
            f"wrote {output}: order {len(sizes)}, {read.vocab.kind} vocabulary of "
            f"{len(read.vocab)} tokens; {counts}"
            + (f"; {read.skipped_unk} n-grams holding <unk> left out" if read.skipped_unk else "")
        )
