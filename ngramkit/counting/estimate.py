"""Estimate a model from a merged count table, and measure it on that table.

The training NLL needs no second pass over the data: every predicted token
is one order-N window, so the sum of log p over the training tokens is
sum over distinct windows g of c(g) * log p(g): one score per distinct
n-gram, weighted by its count. (It equals `ngramkit fit`'s train metric up
to float summation order.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import OptionError
from ..evaluate import Metrics

BLOCK = 2**18  # distinct n-grams scored at once by table_metrics

if TYPE_CHECKING:
    from ..model import LanguageModel
    from .table import CountTable


@dataclass(frozen=True)
class ShardedFit:
    """A model fitted from counts, its training metrics and samples."""

    model: LanguageModel
    table: CountTable
    train: Metrics
    samples: list[str]
    seconds: float  # estimate time: smoothing, plus the train metric


def table_metrics(model: LanguageModel, table: CountTable, block: int = BLOCK) -> Metrics:
    """Metrics of the training tokens, from the count table alone (see the module docstring).

    Scored `block` distinct n-grams at a time, so memory stays bounded by the
    block, not by the table.
    """
    from ..keys import key_digits

    V, N = len(table.vocab), table.order
    logprob = 0.0
    for start in range(0, len(table.keys), block):
        keys = table.keys[start : start + block]
        grams = key_digits(keys, V, N)  # (B, N)
        lp = model.token_logprobs(grams[:, :-1], grams[:, -1]).double()  # (B,)
        logprob += float((lp * table.counts[start : start + block].double()).sum())
    return Metrics(table.tokens, logprob, table.oov)


def fit_table(
    cls: type[LanguageModel],
    table: CountTable,
    hparams: dict[str, Any],
    *,
    n_samples: int = 10,
    seed: int = 2147483647,
) -> ShardedFit:
    """cls(**hparams).fit_counts(table): the backend must estimate from counts."""
    if not hasattr(cls, "fit_counts"):
        raise OptionError(
            f"backend '{cls.name}' cannot be fitted from count tables (the count backend can)"
        )
    given = hparams.get("order")
    if given is not None and int(given) != table.order:
        raise OptionError(f"--order {given} does not match the count table's order {table.order}")
    start = time.perf_counter()
    model = cls(**{**hparams, "order": table.order})
    model.fit_counts(table.ngram_counts(), table.vocab)  # type: ignore[attr-defined]
    train = table_metrics(model, table)
    seconds = time.perf_counter() - start
    samples = model.sample(n_samples, seed=seed) if n_samples else []
    return ShardedFit(model, table, train, samples, seconds)
