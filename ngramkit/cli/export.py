"""`ngramkit export MODEL --format arpa|ngk -o FILE`: write a model for other tools, or
a model file again (format 2), quantized with --quantize like KenLM's -q/-b."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..errors import ArpaError, OptionError
from .common import console, emit_json, load_model

if TYPE_CHECKING:
    from ..model import LanguageModel
    from ..persist import ModelFile


@click.command("export")
@click.argument("model_path", metavar="MODEL")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["arpa", "ngk"]),
    default="arpa",
    show_default=True,
    help="File format (ARPA: KenLM, SRILM; ngk: an ngramkit model file).",
)
@click.option("-o", "--output", required=True, metavar="FILE", help="File to write.")
@click.option(
    "--quantize",
    "prob_bits",
    type=int,
    default=None,
    metavar="BITS",
    help="With --format ngk: probabilities in 2^BITS values per order (1-8, KenLM's -q).",
)
@click.option(
    "--quantize-backoff",
    "bow_bits",
    type=int,
    default=None,
    metavar="BITS",
    help="Backoff weights in 2^BITS values per order (default: --quantize; KenLM's -b).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
def command(
    model_path: str,
    fmt: str,
    output: str,
    prob_bits: int | None,
    bow_bits: int | None,
    as_json: bool,
) -> None:
    """Write a count MODEL as an ARPA back-off file (see docs/smoothing.md), or
    any MODEL as a model file, quantized with --quantize (docs/performance.md)."""
    if fmt == "arpa" and (prob_bits is not None or bow_bits is not None):
        raise OptionError("--quantize writes a model file: add --format ngk")
    if bow_bits is not None and prob_bits is None:
        raise OptionError("--quantize-backoff needs --quantize")
    loaded = load_model(model_path)
    if fmt == "ngk":
        _model_file(loaded, model_path, output, prob_bits, bow_bits, as_json)
        return
    _arpa(loaded.model, model_path, output, as_json)


def _arpa(model: LanguageModel, model_path: str, output: str, as_json: bool) -> None:
    from ..smoothing import arpa

    if not hasattr(model, "backoff_tables"):
        raise ArpaError(
            f"{model_path}: backend '{model.name}' has no backoff_tables(), which ARPA export "
            "reads (the count backend has it; see docs/plugins.md, optional hooks)"
        )
    sizes = arpa.save(model, output)
    if as_json:
        emit_json({"model": model_path, "output": output, "format": "arpa", "ngrams": sizes})
    else:
        counts = ", ".join(f"{k}-grams {n}" for k, n in enumerate(sizes, 1))
        console().print(f"wrote {output} (arpa, order {len(sizes)}): {counts}")


def _model_file(
    loaded: ModelFile, model_path: str, output: str, q: int | None, b: int | None, as_json: bool
) -> None:
    """The model saved again (format 2), quantized when asked; the header's data kept,
    its metrics (of the unquantized model) left out."""
    from .. import persist
    from ..quantize import quantize

    model, extra = loaded.model, {k: v for k, v in loaded.header.items() if k == "data"}
    if q is not None:
        bits = {"prob_bits": q, "backoff_bits": q if b is None else b}
        model = quantize(model, bits["prob_bits"], bits["backoff_bits"])
        extra["quantized"] = bits
    else:
        extra["metrics"] = loaded.header.get("metrics")
    path = persist.save(model, output, extra={k: v for k, v in extra.items() if v is not None})
    size = path.stat().st_size
    if as_json:
        emit_json(
            {
                "model": model_path,
                "output": output,
                "format": "ngk",
                "bytes": size,
                "quantized": extra.get("quantized"),
            }
        )
    else:
        how = "" if q is None else f", quantized {extra['quantized']['prob_bits']}/"
        how += "" if q is None else f"{extra['quantized']['backoff_bits']} bits"
        console().print(f"wrote {output} (model file{how}): {size:,} bytes")
