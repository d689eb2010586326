"""`ngramkit export MODEL --format arpa|ngk -o FILE`: write a model for other tools, or
a model file again (format 2), quantized with --quantize like KenLM's -q/-b and its
cost in NLL reported (on --on LIST, else on items drawn from the exact model)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..errors import ArpaError, OptionError
from .common import console, emit_json, load_model

if TYPE_CHECKING:
    from ..model import LanguageModel
    from ..persist import ModelFile
    from ..quantize import Cost


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
@click.option(
    "--on",
    "on",
    default=None,
    metavar="LIST",
    help="With --quantize: measure its cost in NLL on this word list, as eval reads it "
    "(default: on 2,000 items drawn from the exact model).",  # quantize.SAMPLE_ITEMS
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
def command(
    model_path: str,
    fmt: str,
    output: str,
    prob_bits: int | None,
    bow_bits: int | None,
    on: str | None,
    as_json: bool,
) -> None:
    """Write a count MODEL as an ARPA back-off file (see docs/smoothing.md), or
    any MODEL as a model file, quantized with --quantize (docs/performance.md).

    Writing a quantized file reports what it costs: the NLL (nats/token) of the
    exact and the quantized model on --on LIST, or on items drawn from the exact
    model (seeded), and their difference."""
    if fmt == "arpa" and (prob_bits is not None or bow_bits is not None):
        raise OptionError("--quantize writes a model file: add --format ngk")
    if bow_bits is not None and prob_bits is None:
        raise OptionError("--quantize-backoff needs --quantize")
    if on is not None and prob_bits is None:
        raise OptionError("--on measures what --quantize costs: add --quantize")
    loaded = load_model(model_path)
    if fmt == "ngk":
        _model_file(loaded, model_path, output, (prob_bits, bow_bits), on, as_json)
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
    loaded: ModelFile,
    model_path: str,
    output: str,
    bits: tuple[int | None, int | None],
    on: str | None,
    as_json: bool,
) -> None:
    """The model saved again (format 2), quantized when asked (its cost measured first,
    so a bad --on writes nothing); the header's data kept, its metrics (of the
    unquantized model) left out."""
    from .. import persist
    from ..quantize import cost_on_list, cost_on_sample, quantize

    model, extra = loaded.model, {k: v for k, v in loaded.header.items() if k == "data"}
    q, b = bits
    cost = None
    if q is not None:
        extra["quantized"] = {"prob_bits": q, "backoff_bits": q if b is None else b}
        model = quantize(model, q, extra["quantized"]["backoff_bits"])
        exact = loaded.model
        cost = cost_on_sample(exact, model) if on is None else cost_on_list(exact, model, on)
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
                "cost": None if cost is None else cost.to_json(),
            }
        )
        return
    how = "" if q is None else f", quantized {q}/{extra['quantized']['backoff_bits']} bits"
    console().print(f"wrote {output} (model file{how}): {size:,} bytes", markup=False)
    if cost is not None:
        console().print(cost_lines(cost), markup=False, highlight=False)


def cost_lines(cost: Cost) -> str:
    """Two lines: where the NLL was measured, then the figures (under 80 columns but
    for a long list name):

    NLL (nats/token) on test.txt, 1,000 items:
      exact 1.95081, quantized 1.95131: cost +0.00050 (6,812 tokens)
    """
    if cost.source is None:
        where = f"{cost.drawn:,} items drawn from the exact model (seed {cost.seed})"
    else:
        where = f"{cost.source}, {cost.exact.items:,} items"
        where += f" ({cost.exact.oov:,} OOV, left out)" if cost.exact.oov else ""
    return (
        f"NLL (nats/token) on {where}:\n"
        f"  exact {cost.exact.nll:.5f}, quantized {cost.quantized.nll:.5f}: "
        f"cost {cost.change:+.5f} ({cost.exact.tokens:,} tokens)"
    )
