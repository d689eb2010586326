"""The count model's scorer: its estimate's numbers, bit for bit, faster.

An estimate (smoothing.addk.AddK, or smoothing.backoff.BackoffTables for kn,
mkn, wb, abs and ARPA imports) scores base-V keys by its plain formula. The
`Scorer` answers from the fastest of three forms, each built from the
estimate itself, so every form gives the same floats:

- dense: every row in one [V^(N-1), V] table, for small models (V^N up to
  the estimate's `dense_cells`), built on first use;
- compact rows (context_rows.py): one row per distinct next-token
  distribution behind a dense (or two-level) int32 index, built once the
  work they save has paid for them (a token then costs two gathers);
- otherwise the estimate, DEDUP_BLOCK tokens at a time (backoff tables score
  each block's distinct n-grams once: text is Zipfian).

One-item calls (`item_logprobs`: logprob, token_breakdown, score_batch of a
few items: evaluate.FEW_ITEMS) read the dense
table or the rows from plain Python buffers, with no tensor work per call;
before the rows pay, each call is one small batch and counts toward them.

The payback rule is a ski rental: the rows are built once the tokens scored
without them (in batches of at least ROWS_MIN_BATCH; a one-item call counts
CALL_TOKENS) reach ROWS_PAYBACK per cell the rows will hold, about what the
build costs, so the work before and with the rows is never much more than
twice what building at once would have cost, and a single small call never
pays for a build.
"""

from __future__ import annotations

from functools import cached_property

import torch

from ..smoothing.addk import AddK
from ..smoothing.backoff import BackoffTables
from . import context_rows
from .context_rows import ContextRows, ScalarRows

ROWS_CELL_LIMIT = 2**23  # cells of the compact rows: 64 MiB at most
ROWS_MIN_BATCH = 4096  # tokens in one call before a batch counts toward the rows
ROWS_PAYBACK = 0.05  # tokens scored without the rows, per cell of rows, that pay for them
CALL_TOKENS = 1024  # what a one-item call without the rows costs, in batch tokens
DEDUP_BLOCK = 2**20  # tokens deduplicated at once before backoff-table lookups


class Scorer:
    """log p of (context key, target) pairs of one estimate; owns the caches."""

    def __init__(self, estimate: AddK | BackoffTables) -> None:
        V = estimate.vocab_size
        contexts, self._rows_bound = context_rows.sizes(estimate)
        self.estimate = estimate  # what the numbers are
        self.rows: ContextRows | None = None  # compact rows, once they paid
        self.scored = 0  # tokens scored without the rows, toward their payback
        self._payback = ROWS_PAYBACK * (contexts + 1) * V  # tokens that pay for the rows
        self._scalar: ScalarRows | None = None  # the dense table or rows, as Python buffers

    @cached_property
    def can_build_rows(self) -> bool:
        """Whether the compact rows fit ROWS_CELL_LIMIT cells: by the bound counted when
        the scorer was made (free), else by counting the rows (a search per order, once:
        the bound counts a stored n-gram's context again, 2.6x the rows at order 8)."""
        V = self.estimate.vocab_size
        if self._rows_bound * V <= ROWS_CELL_LIMIT:
            return True
        return context_rows.row_count(self.estimate) * V <= ROWS_CELL_LIMIT

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
            flat = (ctx * self.estimate.vocab_size).add_(targets)  # (T,) cells of the table
            return dense.reshape(-1).index_select(0, flat)  # dense[ctx, targets], 2x faster
        rows = self._rows(len(targets) if len(targets) >= ROWS_MIN_BATCH else 0)
        if rows is not None:
            return rows.token_logprobs(ctx, targets)
        grams = ctx * self.estimate.vocab_size + targets  # (T,) n-gram keys
        return torch.cat([self.estimate.key_logprobs(g) for g in grams.split(DEDUP_BLOCK)])

    def item_logprobs(self, ids: list[int]) -> list[float]:
        """log p of each predicted token of one item, its symbol ids given (no boundaries):
        [len(ids) + 1] floats, the end boundary last; the floats token_logprobs gives."""
        targets = [*ids, 0]
        scalar = self.scalar_rows(len(targets))
        if scalar is not None:
            return scalar.logprobs(targets, self.estimate.order)
        V, space = self.estimate.vocab_size, self.estimate.vocab_size ** (self.estimate.order - 1)
        ctx, keys = 0, []
        for w in targets:
            keys.append(ctx)
            ctx = (ctx * V + w) % space
        return self.token_logprobs(torch.tensor(keys), torch.tensor(targets)).tolist()

    def scalar_rows(self, tokens: int = 0) -> ScalarRows | None:
        """The dense table or the compact rows as Python buffers, once they exist (a call
        of `tokens` without them counts at least CALL_TOKENS toward the rows)."""
        if self._scalar is None:
            dense = self.dense
            if dense is not None:
                every = torch.arange(len(dense), dtype=torch.int32)
                empty = every[:0]
                self._scalar = ContextRows(
                    len(dense[0]), every, (), empty, dense.flatten()
                ).scalar()
            elif self._rows(max(tokens, CALL_TOKENS)) is not None:
                assert self.rows is not None
                self._scalar = self.rows.scalar()
        return self._scalar

    def _rows(self, tokens: int) -> ContextRows | None:
        """The compact rows, built when they fit and the work without them paid for them
        (`tokens`: the work of this call, 0 when it does not count)."""
        if self.rows is None and tokens:
            self.scored += tokens
            if self.scored >= self._payback and self.can_build_rows:
                self.rows = context_rows.build(self.estimate)
        return self.rows

    def compact_rows(self) -> tuple[ContextRows, torch.Tensor] | None:
        """(the compact rows, [R, V] float64 view of them) for a sampler, built now if
        they fit (a sampler walks many contexts), else None."""
        if self.rows is None and self.can_build_rows:
            self.rows = context_rows.build(self.estimate)
        if self.rows is None:
            return None
        return self.rows, self.rows.logp.view(-1, self.estimate.vocab_size)
