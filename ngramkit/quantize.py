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
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import torch

from .errors import OptionError

if TYPE_CHECKING:
    from .model import LanguageModel

MAX_BITS = 8  # codes are one byte in a model file


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
