"""The K most probable items, in order, exactly, for any backend (through next_logprobs).

An item's log p is the sum of its tokens' log p (the end boundary included),
and it only falls as a prefix grows (every token's log p is <= 0). Two exact
methods rest on that:

- `best_first`: the plain reference. A priority queue of prefixes on log p;
  an item is popped only after every more probable prefix, so the first K
  popped items that end with the boundary are the K most probable.
- `top_items`: the fast one. For a threshold tau, every item with log p >= tau
  has every prefix >= tau, so a level-by-level search that drops each prefix
  below tau finds all of them (vectorized: one next_logprobs call per level
  and chunk of prefixes). tau is lowered (extrapolating the count, doubling
  the step) until at least K items pass, raised by bisection when the
  prefixes above it would not fit in memory, and the survivors are sorted.

Ties are ordered shorter first, then by token ids. Order: log p descending.
Constraints (constraints.py) prune the search: the prefix is the start state,
lengths bound the levels, the suffix is a KMP automaton state per prefix,
`new` drops training items. Items longer than DEFAULT_MAX_LEN (or max_len) are
never grown.

A backend giving a token log p > 0 (not a distribution) is refused: the
order would be wrong.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from .constraints import NO_CONSTRAINTS, Constraints
from .errors import BackendError
from .keys import gram_keys, max_order
from .model import LanguageModel

TOLERANCE = 1e-5  # nats a token's log p may exceed 0 by float rounding
_CHUNK = 1 << 15  # prefixes per next_logprobs call
MAX_PREFIXES = 40_000_000  # prefixes one search may hold, whatever K
MIN_PREFIXES = 2_000_000  # prefixes any search may hold (a rare suffix needs many)
_CACHE_ROWS = 1 << 20  # next-token rows kept across a search (float64: 27 tokens = 216 MiB)


@dataclass(frozen=True)
class Ranked:
    """One enumerated item: its 1-based rank, text, log p (nats) and novelty."""

    rank: int
    item: str
    logprob: float
    seen: bool | None  # in the training items (None: the model does not know them)

    def to_json(self) -> dict[str, object]:
        return {
            "rank": self.rank,
            "item": self.item,
            "logprob": self.logprob,
            "prob": math.exp(self.logprob),
            "new": None if self.seen is None else not self.seen,
        }


def _check_row(model: LanguageModel, rows: torch.Tensor) -> None:
    """Refuse a backend whose log-probabilities rise along a prefix."""
    top = float(rows.max()) if rows.numel() else 0.0
    if top > TOLERANCE or math.isnan(top):
        raise BackendError(
            f"backend {model.name or type(model).__name__!r} gives a token log p of {top:g} > 0 "
            "(or nan): not a distribution, so items cannot be put in order"
        )


def _start(model: LanguageModel, c: Constraints) -> tuple[list[int], float]:
    """The prefix's token ids and its log p (nats) from the item start."""
    ids = model.require_fitted().encode(c.prefix)
    if not ids:
        return ids, 0.0
    grams = model.windows_of(c.prefix)[:-1]  # (L, order): the prefix's own tokens
    lp = model.token_logprobs(grams[:, :-1], grams[:, -1]).to(torch.float64)
    _check_row(model, lp)
    return ids, float(lp.sum())


def best_first(
    model: LanguageModel, c: Constraints = NO_CONSTRAINTS
) -> Iterator[tuple[str, float]]:
    """(item, log p) in order of log p, most probable first: the reference method.

    One next_logprobs call per popped prefix: plain and slow; for tests and for
    checking a backend. Lazy: stop iterating when enough items came.
    """
    vocab = model.require_fitted()
    c.check(vocab)
    c = c.under(vocab)  # affixes as the items read
    seen = c.seen(model)
    ids, lp0 = _start(model, c)
    k, hi, delta = model.order - 1, c.longest(), c.suffix_automaton(vocab)
    state = 0
    for t in ids:
        state = int(delta[state, t])
    end = len(delta) - 1
    # entry: (-log p, length, token ids, done, automaton state)
    heap = [(-lp0, len(ids), tuple(ids), False, state)]
    while heap:
        neg, n, toks, done, st = heapq.heappop(heap)
        if done:
            item = vocab.decode(toks)
            if item not in seen:
                yield item, -neg
            continue
        ctx = ([0] * k + list(toks))[len(toks) :] if k else []
        row = model.next_logprobs(torch.tensor([ctx], dtype=torch.long))[0].to(torch.float64)
        _check_row(model, row)
        child = (-neg + row).tolist()
        if n >= c.min_len and st == end and child[0] > -math.inf:
            heapq.heappush(heap, (-child[0], n, toks, True, st))
        if n < hi:
            for t in range(1, len(row)):
                if child[t] > -math.inf:
                    heapq.heappush(heap, (-child[t], n + 1, (*toks, t), False, int(delta[st, t])))


@dataclass
class _Level:
    """The prefixes of one length that passed the threshold."""

    parent: torch.Tensor  # (F,) index into the level before
    token: torch.Tensor  # (F,) the token this level added


@dataclass
class _Found:
    """Every item with log p >= tau: ends (level, index) and log p; `pruned` if any was cut."""

    levels: list[_Level]
    end_level: torch.Tensor  # (N,) the item's length minus the prefix
    end_index: torch.Tensor  # (N,) its last prefix within that level
    logprob: torch.Tensor  # (N,) float64
    pruned: bool  # some possible item fell below tau (lowering tau finds more)


class _Search:
    """Level-by-level search above a threshold (see the module docstring)."""

    def __init__(self, model: LanguageModel, c: Constraints) -> None:
        self.model, self.c = model, c
        self.vocab = model.require_fitted()
        self.V, self.k = len(self.vocab), model.order - 1
        self.ids, self.lp0 = _start(model, c)
        self.delta = c.suffix_automaton(self.vocab)  # (S+1, V)
        state = 0
        for t in self.ids:
            state = int(self.delta[state, t])
        self.state0 = state
        self.keyed = model.order <= max_order(self.V)  # contexts fit int64 keys: dedup them
        self.slot: dict[int, int] = {}  # context key -> row of `store`
        self.store = torch.empty(0, self.V, dtype=torch.float64)  # (C, V) cached rows

    def rows(self, ctx: torch.Tensor) -> torch.Tensor:
        """float64 next-token log p [F, V] of contexts [F, k], each distinct context once.

        Rows are kept by context key across levels and thresholds (up to
        _CACHE_ROWS contexts): the searches at successive thresholds revisit them.
        """
        if not (self.keyed and self.k):
            rows = self.model.next_logprobs(ctx).to(torch.float64)
            _check_row(self.model, rows)
            return rows
        keys, inv = torch.unique(gram_keys(ctx, self.V), return_inverse=True)
        where = torch.tensor([self.slot.get(x, -1) for x in keys.tolist()], dtype=torch.long)
        miss = (where < 0).nonzero().squeeze(1)
        if len(miss):
            first = torch.empty(len(keys), dtype=torch.long).scatter_(
                0, inv, torch.arange(len(inv))
            )
            fresh = self.model.next_logprobs(ctx[first[miss]]).to(torch.float64)  # (M, V)
            _check_row(self.model, fresh)
            where[miss] = self._keep(keys[miss], fresh)
        return self.store[where][inv]

    def _keep(self, keys: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Store rows [M, V] under their keys; returns their slots [M]."""
        used = len(self.slot)
        if used + len(keys) > _CACHE_ROWS:  # full: start over rather than grow past the cap
            self.slot, used = {}, 0
        if used + len(keys) > len(self.store):
            grown = torch.empty(
                max(2 * len(self.store), used + len(keys)), self.V, dtype=torch.float64
            )
            grown[:used] = self.store[:used]
            self.store = grown
        slots = torch.arange(used, used + len(keys))
        self.store[slots] = rows
        self.slot.update(zip(keys.tolist(), slots.tolist()))
        return slots

    def run(self, tau: float, cap: int) -> _Found | None:
        """All items with log p >= tau, or None when more than `cap` prefixes pass."""
        c, k = self.c, self.k
        start = ([0] * k + self.ids)[len(self.ids) :] if k else []
        ctx = torch.tensor([start], dtype=torch.long).reshape(1, k)
        lp = torch.tensor([self.lp0], dtype=torch.float64)
        state = torch.tensor([self.state0])
        n, held, pruned = len(self.ids), 0, False
        levels: list[_Level] = [_Level(torch.zeros(1, dtype=torch.long), torch.zeros(1))]
        none = torch.zeros(0, dtype=torch.long)
        ends = [(0, none, none.to(torch.float64))]  # (level, index, log p) of ended items
        end_state = len(self.delta) - 1
        while len(lp):
            parts, cut = [], False
            for a in range(0, len(lp), _CHUNK):
                child = lp[a : a + _CHUNK, None] + self.rows(ctx[a : a + _CHUNK])  # (F, V)
                live = child > -math.inf
                if n >= c.min_len:
                    ok = (state[a : a + _CHUNK] == end_state) & live[:, 0]
                    take = ok & (child[:, 0] >= tau)
                    cut |= bool((ok & ~take).any())
                    at = take.nonzero().squeeze(1)
                    ends.append((len(levels) - 1, at + a, child[at, 0]))
                if n < c.longest():
                    grow = live[:, 1:] & (child[:, 1:] >= tau)
                    cut |= bool((live[:, 1:] & ~grow).any())
                    p, t = grow.nonzero().unbind(1)
                    parts.append((p + a, t + 1, child[p, t + 1]))
                    held += len(p)
                    if held > cap:
                        return None
            pruned |= cut
            if not parts:
                break
            parent = torch.cat([p for p, _, _ in parts])
            token = torch.cat([t for _, t, _ in parts])
            lp = torch.cat([x for _, _, x in parts])
            ctx = torch.cat([ctx[parent, 1:], token[:, None]], 1) if k else ctx[parent]
            state = self.delta[state[parent], token]
            levels.append(_Level(parent, token))
            n += 1
        return _Found(
            levels,
            torch.cat([torch.full((len(i),), lv, dtype=torch.long) for lv, i, _ in ends]),
            torch.cat([i for _, i, _ in ends]),
            torch.cat([x for _, _, x in ends]),
            pruned,
        )

    def tokens(self, found: _Found, which: torch.Tensor) -> torch.Tensor:
        """Token ids [N, L] (0-padded) of the items `which` indexes, after the prefix."""
        lv, idx = found.end_level[which], found.end_index[which].clone()
        width = int(lv.max()) if len(lv) else 0
        out = torch.zeros(len(which), width, dtype=torch.long)
        for level in range(width, 0, -1):
            rows = (lv >= level).nonzero().squeeze(1)  # items at least this long
            node = idx[rows]
            out[rows, level - 1] = found.levels[level].token[node]
            idx[rows] = found.levels[level].parent[node]
        return out


def _order(found: _Found, toks: torch.Tensor) -> torch.Tensor:
    """Indices sorting items by log p descending, then shorter first, then token ids."""
    perm = torch.arange(len(found.logprob))
    for col in range(toks.shape[1] - 1, -1, -1):  # lexicographic, by stable passes
        perm = perm[torch.sort(toks[perm, col], stable=True).indices]
    perm = perm[torch.sort(found.end_level[perm], stable=True).indices]
    return perm[torch.sort(found.logprob[perm], descending=True, stable=True).indices]


def _threshold(search: _Search, need: int) -> _Found:
    """A search holding at least `need` items, or all there are (see module docstring)."""
    cap = min(MAX_PREFIXES, max(MIN_PREFIXES, 40 * need))
    top, step = search.lp0, 4.0
    low: float | None = None  # a threshold whose prefixes overflowed `cap`
    tried: list[tuple[float, int]] = [(top, 1)]  # (tau, items found); the start is one
    tau = top - step
    while True:
        found = search.run(tau, cap)
        if found is None:
            low = tau
        elif len(found.logprob) >= need or not found.pruned:
            return found
        else:
            top = tau
            tried.append((tau, len(found.logprob)))
        if low is not None:
            tau = (top + low) / 2  # bisect between too few and too many
            if top - low < 1e-9:
                raise BackendError(
                    f"the {need:,} most probable items need more than {cap:,} prefixes "
                    "(a rare --suffix?): ask for fewer"
                )
            continue
        step *= 2
        tau = max(_extrapolate(tried, need), top - step)
        tau = tau if tau < top else top - step


def _extrapolate(tried: list[tuple[float, int]], need: int) -> float:
    """The threshold where the count would reach 1.3 need, if log count is linear in tau."""
    pts = [(t, n) for t, n in tried if n > 0][-2:]
    if len(pts) < 2 or pts[0][1] >= pts[1][1]:
        return -math.inf
    (t1, n1), (t2, n2) = pts
    per_nat = (math.log(n2) - math.log(n1)) / (t1 - t2)
    return t2 - (math.log(1.3 * need) - math.log(n2)) / per_nat


def top_items(model: LanguageModel, k: int, c: Constraints = NO_CONSTRAINTS) -> list[Ranked]:
    """The `k` most probable items meeting `c`, in order (fewer if the model has fewer).

    Memory is proportional to k (the items above the threshold and their prefixes).
    """
    return list(iter_top_items(model, k, c))


def iter_top_items(
    model: LanguageModel, k: int, c: Constraints = NO_CONSTRAINTS
) -> Iterator[Ranked]:
    """top_items row by row, for writers that stream (`top --format tsv`).

    The first row is known only once the search is over (an item found last may be
    the most probable), so the search runs here, before this returns: bad
    constraints raise now, not at the first row. Then rows are spelled and
    yielded ROW_CHUNK at a time from the found items' compact token tensors, so
    a caller that writes each row holds K tensor rows, never K Python objects.
    """
    vocab = model.require_fitted()
    c.check(vocab)
    c = c.under(vocab)  # affixes as the items read
    search = _Search(model, c)
    return _rows(search, k, c.seen(model), _threshold(search, k))


ROW_CHUNK = 10_000  # rows spelled at once while streaming


def _rows(search: _Search, k: int, seen: frozenset[str], found: _Found) -> Iterator[Ranked]:
    """The first `k` items in order not in `seen`; when training items took places and
    the search was pruned, it goes on below its threshold (the items above it come
    first in the wider search's order too, so the ones already given are skipped)."""
    known = search.model.training.seen if search.model.training else None
    rank = consumed = 0
    while True:
        toks = search.tokens(found, torch.arange(len(found.logprob)))
        perm = _order(found, toks)[consumed:]
        for start in range(0, len(perm), ROW_CHUNK):
            part = perm[start : start + ROW_CHUNK]
            for item, x in zip(_texts(search, toks[part]), found.logprob[part].tolist()):
                consumed += 1
                if item in seen:
                    continue
                rank += 1
                yield Ranked(rank, item, x, None if known is None else item in known)
                if rank == k:
                    return
        if not found.pruned:
            return
        found = _threshold(search, consumed + 2 * (k - rank))


def _texts(search: _Search, rows: torch.Tensor) -> list[str]:
    """Items spelled by 0-padded token rows [N, L] after the prefix (one join, then slices)."""
    vocab, prefix = search.vocab, search.c.prefix
    if vocab.kind != "char":
        return [vocab.decode(search.ids + r) for r in rows.tolist()]
    names = vocab.symbols
    text = "".join([names[t - 1] for t in rows[rows != 0].tolist()])
    bounds = [0, *torch.cumsum((rows != 0).sum(1), 0).tolist()]
    return [prefix + text[a:b] for a, b in itertools.pairwise(bounds)]
