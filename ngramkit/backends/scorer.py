"""The count model's scorer: its estimate's numbers, bit for bit, faster.

An estimate (smoothing.addk.AddK, or smoothing.backoff.BackoffTables for kn,
mkn, wb, abs and ARPA imports) scores base-V keys by its plain formula. The
`Scorer` answers from the fastest of three forms, each built from the
estimate itself, so every form gives the same floats:

- dense: every row in one [V^(N-1), V] table, for small models (V^N up to
  the estimate's `dense_cells`), built on first use;
- compact rows (context_rows.py): one row per distinct next-token
  distribution behind a dense int32 index, built once large batches have
  scored enough tokens to pay for them (a token then costs two gathers);
- otherwise the estimate, DEDUP_BLOCK tokens at a time (backoff tables score
  each block's distinct n-grams once: text is Zipfian).
"""

from __future__ import annotations

from functools import cached_property

import torch

from ..smoothing.addk import AddK
from ..smoothing.backoff import BackoffTables
from . import context_rows
from .context_rows import ContextRows

ROWS_INDEX_LIMIT = 2**22  # contexts V^(N-1) given a dense row index: int32, 16 MiB at most
ROWS_CELL_LIMIT = 2**23  # cells of the compact rows: 64 MiB at most
ROWS_MIN_BATCH = 4096  # tokens in one call before the compact rows are worth building
ROWS_PAYBACK = 0.25  # ... and tokens scored so far, per cell of rows (a cell costs ~ a token)
DEDUP_BLOCK = 2**20  # tokens deduplicated at once before backoff-table lookups


class Scorer:
    """log p of (context key, target) pairs of one estimate; owns the caches."""

    def __init__(self, estimate: AddK | BackoffTables) -> None:
        V, N = estimate.vocab_size, estimate.order
        contexts, rows = context_rows.sizes(estimate)
        self.estimate = estimate  # what the numbers are
        self.can_build_rows = V ** (N - 1) <= ROWS_INDEX_LIMIT and rows * V <= ROWS_CELL_LIMIT
        self.rows: ContextRows | None = None  # compact rows, once they paid
        self.scored = 0  # tokens scored in large batches before the rows were built
        self._payback = ROWS_PAYBACK * (contexts + 1) * V  # tokens that pay for the rows

    @cached_property
    def dense(self) -> torch.Tensor | None:
        """[V^(N-1), V] float64 log p of every (context, token), or None for a large model."""
        est = self.estimate
        if est.vocab_size**est.order > est.dense_cells:
            return None
        return est.next_logprobs(torch.arange(est.vocab_size ** (est.order - 1)))

    def next_logprobs(self, ctx: torch.Tensor) -> torch.Tensor:
        """Rows of context keys [B] -> [B, V] float64."""
        dense = self.dense
        return dense[ctx] if dense is not None else self.estimate.next_logprobs(ctx)

    def token_logprobs(self, ctx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """log p(target | context) of context keys [T] and targets [T] -> [T] float64."""
        dense = self.dense
        if dense is not None:
            return dense[ctx, targets]
        rows = self._rows(len(targets))
        if rows is not None:
            return rows.token_logprobs(ctx, targets)
        grams = ctx * self.estimate.vocab_size + targets  # (T,) n-gram keys
        return torch.cat([self.estimate.key_logprobs(g) for g in grams.split(DEDUP_BLOCK)])

    def _rows(self, batch: int) -> ContextRows | None:
        """The compact rows, built when they fit and a large batch makes them pay."""
        if self.rows is None and self.can_build_rows and batch >= ROWS_MIN_BATCH:
            self.scored += batch
            if self.scored >= self._payback:
                self.rows = context_rows.build(self.estimate)
        return self.rows
