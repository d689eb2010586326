"""Compact rows of a count model: every distinct next-token distribution, once.

A count model at order N has V^(N-1) possible contexts but far fewer distinct
next-token distributions: add-k gives every unseen context the same uniform
row, and a backoff model answers a context exactly as its longest "active"
suffix (one stored as a context, or as the context of a stored n-gram) does.
`ContextRows` keeps

- `row`: int32 [V^(N-1)], the row of each context key (a dense index, so a
  lookup is one gather instead of a binary search per order);
- `logp`: float64 [R * V], the rows themselves, flattened.

Scoring a token is then `logp[row[ctx] * V + w]`. The rows are computed by the
very code that scores a query (`BackoffTables.score_rows`, add-k's formula),
so the numbers are identical to the sparse path's, bit for bit.

On names.txt at order 5 (V = 27): 531,441 index entries (2 MiB) and about
28k rows (6 MiB), against 14M cells for a full [V^4, V] table.

This module does not decide when the rows are worth building: the count
backend does (see ROWS_INDEX_LIMIT and ROWS_CELL_LIMIT there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from ..smoothing.backoff import BackoffTables


@dataclass(frozen=True)
class ContextRows:
    """row: int32 [V^(N-1)] context key -> row; logp: float64 [R * V] (nats)."""

    vocab_size: int
    row: torch.Tensor
    logp: torch.Tensor

    def token_logprobs(self, ctx_keys: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """log p(target | context) of context keys [T] and targets [T] -> [T] float64."""
        return self.logp[self.row[ctx_keys].long() * self.vocab_size + targets]

    def next_logprobs(self, ctx_keys: torch.Tensor) -> torch.Tensor:
        """Whole rows of context keys [B] -> [B, V] float64."""
        return self.logp.view(-1, self.vocab_size)[self.row[ctx_keys].long()]


def addk_rows(
    vocab_size: int,
    order: int,
    keys: torch.Tensor,
    counts: torch.Tensor,
    ctx_keys: torch.Tensor,
    ctx_totals: torch.Tensor,
    k: float,
) -> ContextRows:
    """Rows of an add-k model: one per seen context, then one uniform row.

    p(w | ctx) = (c(ctx, w) + k) / (c(ctx) + k * V) for a seen context (the
    sparse path's formula, term for term), 1/V for every unseen one.
    """
    import torch

    V, C = vocab_size, len(ctx_keys)
    row = torch.full((V ** (order - 1),), C, dtype=torch.int32)  # unseen: the last row
    row[ctx_keys] = torch.arange(C, dtype=torch.int32)
    c = torch.zeros(C * V, dtype=torch.float64)
    c[row[keys // V].long() * V + keys % V] = counts.double()  # (C*V,) pair counts
    total = ctx_totals.double().repeat_interleave(V)  # (C*V,)
    seen = ((c + k) / (total + k * V).clamp(min=1e-300)).log()
    uniform = torch.full((V,), 1.0 / V, dtype=torch.float64).log()
    return ContextRows(V, row, torch.cat([seen, uniform]))


def backoff_rows(tables: BackoffTables) -> ContextRows:
    """Rows of a backoff model: one per active context of each order.

    A context h (N-1 tokens) is answered as its longest suffix that is active
    at its order and allowed by the boundary rule (backoff.py): orders above
    it find no n-gram and no backoff weight, so they leave log p unchanged.
    Row 0 is the unigram row (the empty context).
    """
    import torch

    V, N = tables.vocab_size, tables.order
    h = torch.arange(V ** (N - 1))  # every context key
    zeros = sum((h < V ** (N - 1 - m)).long() for m in range(1, N))  # (H,) leading boundaries
    top = N - (zeros - 1).clamp(min=0)  # (H,) highest order the query may use
    row = torch.zeros(len(h), dtype=torch.int32)  # the unigram row unless a suffix is active
    suffixes = [torch.zeros(1, dtype=torch.long)]  # active contexts per length j = 0..N-1
    offset = 1
    for j in range(1, N):
        active = torch.unique(torch.cat([tables.ctx_keys[j - 1], tables.keys[j] // V]))
        suffix = h % V**j  # (H,) the last j tokens of each context
        pos = torch.searchsorted(active, suffix).clamp_(max=max(len(active) - 1, 0))
        hit = (active[pos] == suffix) & (top > j) if len(active) else torch.zeros_like(top > j)
        row = torch.where(hit, (offset + pos).int(), row)  # longer suffixes win
        suffixes.append(active)
        offset += len(active)
    return ContextRows(V, row, _score_suffixes(tables, suffixes))


def _score_suffixes(tables: BackoffTables, suffixes: list[torch.Tensor]) -> torch.Tensor:
    """Every token after every active suffix, scored with orders up to its length + 1."""
    import torch

    V = tables.vocab_size
    out = []
    for j, keys in enumerate(suffixes):
        grams = (keys * V).repeat_interleave(V) + torch.arange(V).repeat(len(keys))  # (len*V,)
        top = torch.full_like(grams, j + 1)
        out.append(tables.score(grams, top))
    return torch.cat(out)
