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
very code that scores a query (the backoff step of `BackoffTables.score`,
add-k's formula), so the numbers are identical to the sparse path's, bit for bit.

On names.txt at order 5 (V = 27): 531,441 index entries (2 MiB) and about
28k rows (6 MiB), against 14M cells for a full [V^4, V] table.

This module does not decide when the rows are worth building: the scorer
does (see ROWS_INDEX_LIMIT and ROWS_CELL_LIMIT in scorer.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..keys import find, lookup, row_grams, top_order
from ..smoothing.addk import AddK
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


def sizes(estimate: AddK | BackoffTables) -> tuple[int, int]:
    """(contexts stored, a bound on the rows `build` makes), counted before building."""
    if isinstance(estimate, AddK):
        return len(estimate.ctx_keys), len(estimate.ctx_keys) + 1
    contexts = sum(map(len, estimate.ctx_keys))
    return contexts, 1 + contexts + sum(map(len, estimate.keys[1:]))


def build(estimate: AddK | BackoffTables) -> ContextRows:
    """The rows of either estimate."""
    if isinstance(estimate, AddK):
        return addk_rows(estimate)
    return backoff_rows(estimate)


def addk_rows(addk: AddK) -> ContextRows:
    """Rows of an add-k model: one per seen context, then one uniform row.

    The seen contexts' rows are add-k's formula at every token (AddK.next_logprobs),
    the last row is 1/V for every unseen context (mixed with the unknown token's share).
    """
    V, C = addk.vocab_size, len(addk.ctx_keys)
    row = torch.full((V ** (addk.order - 1),), C, dtype=torch.int32)  # unseen: the last row
    row[addk.ctx_keys] = torch.arange(C, dtype=torch.int32)
    seen = addk.next_logprobs(addk.ctx_keys).flatten()  # (C*V,)
    return ContextRows(V, row, torch.cat([seen, addk.unseen_row()]))


def backoff_rows(tables: BackoffTables) -> ContextRows:
    """Rows of a backoff model: one per active context of each order.

    A context h (N-1 tokens) is answered as its longest suffix that is active
    at its order and allowed by the boundary rule (backoff.py): orders above
    it find no n-gram and no backoff weight, so they leave log p unchanged.
    Row 0 is the unigram row (the empty context); then the active contexts
    of 1, 2, ..., N-1 tokens, each in sorted key order.
    """
    V, N = tables.vocab_size, tables.order
    suffixes = [torch.zeros(1, dtype=torch.long)]  # active contexts of j = 0..N-1 tokens
    for j in range(1, N):
        suffixes.append(torch.unique(torch.cat([tables.ctx_keys[j - 1], tables.keys[j] // V])))
    h = torch.arange(V ** (N - 1))  # every context key
    row = _longest_active(h, N - 1, V, suffixes, top_order(h, V, N))
    return ContextRows(V, row, _suffix_rows(tables, suffixes))


def _longest_active(
    keys: torch.Tensor,
    longest: int,
    vocab_size: int,
    suffixes: list[torch.Tensor],
    top: torch.Tensor | None = None,
) -> torch.Tensor:
    """Row of the longest active suffix (at most `longest` tokens, of an order `top`
    allows) of each context key [T] -> int32 [T]; 0 (the unigram row) when none is."""
    row = torch.zeros(len(keys), dtype=torch.int32)
    offset = 1
    for j in range(1, longest + 1):
        act = suffixes[j]
        if len(act):
            pos, hit = find(act, keys % vocab_size**j)  # (T,) an active context of j tokens?
            if top is not None:
                hit &= top > j  # the boundary rule allows order j + 1
            row = torch.where(hit, (offset + pos).int(), row)  # longer suffixes win
        offset += len(act)
    return row


def _suffix_rows(tables: BackoffTables, suffixes: list[torch.Tensor]) -> torch.Tensor:
    """log p of every token after every active suffix, flat [R * V], one order at a time.

    The row of a suffix c of j tokens is backoff.py's step at order j + 1:
    log p(c, w) where (c, w) is stored, else log bow(c) + the row of c's own
    longest active suffix (what the orders up to j gave), the same floats.
    """
    V = tables.vocab_size
    rows = tables.logp[0].clone()  # (V,) row 0: the unigrams
    for j in range(1, len(suffixes)):
        c = suffixes[j]  # (C,)
        parent = _longest_active(c, j - 1, V, suffixes).long()  # (C,) row of c[1:]
        lp, found = lookup(tables.keys[j], tables.logp[j], row_grams(c, V))  # (C*V,)
        bow, _ = lookup(tables.ctx_keys[j - 1], tables.log_bow[j - 1], c)  # (C,)
        lower = rows.view(-1, V)[parent].flatten()  # (C*V,) what orders up to j gave
        rows = torch.cat([rows, torch.where(found, lp, bow.repeat_interleave(V) + lower)])
    return rows
