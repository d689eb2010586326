"""Quantized count models: each order's probabilities and backoff weights in 2^bits values.

As KenLM's `build_binary -q BITS -b BITS`: for every order above the
unigrams (which stay exact), the stored log-probabilities are sorted and cut
into 2^bits bins of equal counts, and each value becomes the mean of its bin;
so are the backoff weights, but for weight 0 (log 1: a context that does not
back off), which stays 0 exactly. Rows of a quantized model no longer sum to
exactly 1 (KenLM's do not either); its cost is measured in NLL
(docs/performance.md). A model file stores such a table as one byte per
value and its distinct values (container.narrowest: "book"), so 8 bits
make the stdlib order-5 file 2.3x smaller.

`cost_on_list` and `cost_on_sample` measure what quantizing costs: the NLL
(nats/token) of the exact and the quantized model on the same items, a word
list read and totalled exactly as `ngramkit eval` does, or SAMPLE_ITEMS items
drawn from the exact model (not a test-set figure: the quantized rows do not
sum to 1, so it is no KL divergence and may come out below 0 at 6-8 bits).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import torch

from .errors import DataError, OptionError
from .results import Metrics, finite_or_none

if TYPE_CHECKING:
    from .model import LanguageModel

MAX_BITS = 8  # codes are one byte in a model file
SAMPLE_ITEMS = 2000  # items drawn from the exact model when no list is given
SAMPLE_SEED = 0  # their seed


def binned(values: torch.Tensor, bits: int, keep_zero: bool = False) -> torch.Tensor:
    """`values` [M] float64, each replaced by the mean of its equal-count bin [M].

    Values are sorted and cut at M * b // 2^bits (b = 1 .. 2^bits - 1); with
    keep_zero, exact zeros stay 0 and the rest share 2^bits - 1 bins.
    Non-finite values stay as they are.
    """
    out = values.clone()
    live = values.isfinite() & ~((values == 0) if keep_zero else torch.zeros_like(out, dtype=bool))
    bins = 2**bits - (1 if keep_zero else 0)
    sorted_vals, order = values[live].sort(stable=True)
    n = len(sorted_vals)
    if n == 0:
        return out
    edges = [n * b // bins for b in range(bins + 1)]
    means = torch.empty_like(sorted_vals)
    for a, b in itertools.pairwise(edges):
        if b > a:
            means[a:b] = sorted_vals[a:b].mean()
    placed = torch.empty_like(sorted_vals)
    placed[order] = means
    out[live] = placed
    return out


def quantize(model: LanguageModel, prob_bits: int, backoff_bits: int) -> LanguageModel:
    """A copy of a smoothed count model with quantized tables (see the module).

    OptionError for bits outside 1..MAX_BITS or a model without backoff
    tables (add-k stores counts; neural models store weights).
    """
    for flag, bits in (("--quantize", prob_bits), ("--quantize-backoff", backoff_bits)):
        if not 1 <= bits <= MAX_BITS:
            raise OptionError(f"{flag} must be 1 to {MAX_BITS} bits, got {bits}")
    config, tensors = model.state()
    if f"logp{model.order}" not in tensors or model.order < 2:
        raise OptionError(
            f"quantization needs a smoothed count model of order 2 or more (--smooth kn, mkn, "
            f"wb or abs); this one is backend '{model.name}'"
            + (f", order {model.order}" if model.name == "count" else "")
        )
    out = dict(tensors)
    for k in range(2, model.order + 1):
        out[f"logp{k}"] = binned(tensors[f"logp{k}"], prob_bits)
        out[f"bow{k}"] = binned(tensors[f"bow{k}"], backoff_bits, keep_zero=True)
    small = type(model).from_state(config, out)
    small.training = model.training
    return small


@dataclass(frozen=True)
class Cost:
    """What a quantization costs: both models' totals on the same items.

    source: the word list's name, or None for `drawn` items sampled from the
    exact model with `seed`. change = quantized NLL - exact NLL (nats/token).
    """

    exact: Metrics
    quantized: Metrics
    source: str | None
    drawn: int = 0
    seed: int | None = None

    @property
    def change(self) -> float:
        return self.quantized.nll - self.exact.nll

    def to_json(self) -> dict[str, Any]:
        """export's `cost` keys (docs/json.md)."""
        return {
            "on": self.source,
            "sample": None if self.source is not None else {"items": self.drawn, "seed": self.seed},
            "items": self.exact.items,
            "oov": self.exact.oov,
            "tokens": self.exact.tokens,
            "nll_exact": finite_or_none(self.exact.nll),
            "nll_quantized": finite_or_none(self.quantized.nll),
            "nll_change": finite_or_none(self.change),
        }


def cost_on_list(exact: LanguageModel, small: LanguageModel, path: str) -> Cost:
    """Both models' NLL on the word list at `path` ("-": stdin), read once, as eval reads
    and totals it (the quantized total is eval's of the quantized file, bit for bit).

    DataError for a list that cannot be read or has no item in the vocabulary.
    """
    from .evaluate import score_batch
    from .listeval import ListEvaluation, all_oov_message

    run = ListEvaluation(exact, [path])
    total = Metrics(0, 0.0, source="all")
    for chunk in run.chunks():  # the exact model's totals grow in `run`
        total += replace(score_batch(small, chunk.items), weights=chunk.weights).metrics()
    source = run.files[0].source
    if run.overall.items == 0:
        raise DataError(f"--on {source}: the list has no items to measure the cost on")
    if run.overall.tokens == 0:
        raise DataError(f"--on {source}: {all_oov_message(run.overall, exact)}")
    return Cost(run.overall, total, source)


def cost_on_sample(
    exact: LanguageModel, small: LanguageModel, n: int = SAMPLE_ITEMS, seed: int = SAMPLE_SEED
) -> Cost:
    """Both models' NLL on `n` items drawn from the exact model with `seed`."""
    from .evaluate import score_batch

    items = exact.sample(n, seed=seed)
    return Cost(
        score_batch(exact, items).metrics(), score_batch(small, items).metrics(), None, n, seed
    )
