"""Compact rows of a count model: every distinct next-token distribution, once.

A count model at order N has V^(N-1) possible contexts but far fewer distinct
next-token distributions: add-k gives every unseen context the same uniform
row, and a backoff model answers a context exactly as its longest "active"
suffix (one stored as a context, or as the context of a stored n-gram) does.
`ContextRows` keeps

- `logp`: float64 [R * V], the rows themselves, flattened;
- an index from context keys to rows in two levels: `dense`, int32 [V^D],
  the row of every context of D tokens (D = N - 1 when V^(N-1) fits
  INDEX_LIMIT, so a lookup is one gather), and above it `sparse`, the sorted
  active contexts of D+1 .. N-1 tokens with the offset of their rows (order 6
  on names is one level of 38k of the 27^5 contexts).

A large batch looks the sparse levels up through `Blocks`, built on its first
use: a trie of V-wide int32 blocks over the suffixes that active contexts
extend, walked from the dense index towards older tokens, so a level costs a
few gathers and no search (order 6 on names: 1.6M int32 entries with its
copy of the dense index, 6 MiB, about 1 ms to build; the rows of a 460k-token
batch in 12 ms where the hash took 20). When the blocks' levels would pass
BLOCK_LIMIT entries, each level is searched instead: by keys.HashIndex for
large levels and batches, else by searchsorted. A small batch (a sampler's
step) searches too, and builds nothing.

Scoring a token is then `logp[row_of(ctx) * V + w]`. The rows are computed by
the very operands that score a query (the backoff step of
`BackoffTables.score`: log p(c, w) where stored, else log bow(c) + the row
of c's own longest active suffix; add-k's formula), so the numbers are
identical to the sparse path's, bit for bit.

The dense index is built level by level: the index over j tokens is the one
over j - 1 tokens repeated V times (a context's shorter suffix is its key mod
V^(j-1)) with the active contexts of j tokens written over it, so building
costs a few copies of V^D int32, not a binary search per context.

`scalar()` gives the same index and rows as flat Python buffers for one-item
calls (`ScalarRows`: no tensor work per call).

On names.txt at order 5 (V = 27): 531,441 index entries (2 MiB) and about
28k rows (6 MiB), against 14M cells for a full [V^4, V] table.

This module does not decide when the rows are worth building: the scorer
does (see ROWS_CELL_LIMIT and the payback rule in scorer.py).
"""

from __future__ import annotations

import bisect
import ctypes
from dataclasses import dataclass, replace

import torch

from ..keys import HashIndex, find, lookup
from ..smoothing.addk import AddK
from ..smoothing.backoff import BackoffTables

INDEX_LIMIT = 2**22  # entries of the dense index level: int32, 16 MiB at most
HASH_MIN = 2**10  # a sparse level of this many keys is looked up by hash (keys.HashIndex)
# ... when asked this many keys at once: its probe rounds cost ~0.14 ms whatever the
# number asked (38k keys: 256 queries 11 us by searchsorted, 144 by hash; 4096: 332, 270)
HASH_QUERIES = 2**12
# int32 entries of the block levels (rows and children) a batch may build: 32 MiB at most
# (the blocks' owner and first index add 2 V^D int32 more, as much as the dense index)
BLOCK_LIMIT = 2**23


@dataclass(frozen=True)
class Level:
    """Active contexts of `width` tokens above the dense index: sorted keys [C] whose
    rows start at `offset`; a key below `floor` is left to shorter suffixes (the
    boundary rule: a context opening with two boundaries is answered lower)."""

    width: int
    keys: torch.Tensor
    offset: int
    floor: int

    def find(self, query: torch.Tensor, space: int) -> tuple[torch.Tensor, torch.Tensor]:
        """keys.find of context keys [T] in [0, space) (V^width) in this level's keys:
        by a hash index past HASH_MIN keys and HASH_QUERIES queries (460k lookups in
        200k keys: about 10 ms against 47 by binary search), else by searchsorted."""
        if len(self.keys) < HASH_MIN or len(query) < HASH_QUERIES:
            return find(self.keys, query)
        index = self.__dict__.get("_index")
        if index is None:  # built on first use: 15 ms for 200k keys
            index = self.__dict__["_index"] = HashIndex(self.keys, space)
        return index.find(query)


@dataclass(frozen=True)
class BlockLevel:
    """Level j of the suffix blocks: for block b (owned by a (j-1)-token suffix u) and
    each oldest token t, `rows[b * V + t]` is the row of the j-token suffix
    t * V^(j-1) + u (its own when active, else u's) and, below the top level,
    `child[b * V + t]` its block at level j + 1 (-1: none). int32 [B * V] each;
    `place` = V^(j-1), `floor` as Level's; `wrap`: a context key may hold tokens
    older than t (t is key // place mod V, not key // place)."""

    place: int
    floor: int
    wrap: bool
    rows: torch.Tensor
    child: torch.Tensor | None


@dataclass(frozen=True)
class Blocks:
    """The sparse levels as a trie of dense blocks of V entries, walked from the dense
    index towards older tokens: a lookup is a few gathers a level, no search.

    first: int32 [V^D], the dense index with the start rows (ContextRows.start)
    written over its first S entries; owner: int32 [V^D], the block at the first
    level of each D-token suffix (-1: none extends it). A block exists for every
    suffix of an active context, so the walk reaches each active context's row;
    where a level's floor bars a context, the walk stops with the shorter
    suffix's row, as Level.find does. The keys below S are the start rule's: the
    first level's floor bars them, and so every level above (so they keep `first`'s
    row), and each of their suffixes owns a block (so a longer context ending in
    one walks on from the plain dense row, not the start row).
    """

    vocab_size: int
    first: torch.Tensor
    owner: torch.Tensor
    levels: tuple[BlockLevel, ...]

    def row_of(self, ctx_keys: torch.Tensor) -> torch.Tensor:
        """Row of each context key [T] (below V^(N-1)) -> [T] int32."""
        V = self.vocab_size
        suffix = ctx_keys % len(self.first)
        row, node = self.first.index_select(0, suffix), self.owner.index_select(0, suffix)
        for level in self.levels:
            if level.floor:  # a barred context walks no further
                node.masked_fill_(ctx_keys < level.floor, -1)
            ok = node >= 0
            at = ctx_keys // level.place  # the context's token at this level ...
            if level.wrap:
                at.remainder_(V)
            at.add_(node, alpha=V).clamp_(min=0)  # ... in its block (node -1: any entry)
            row = torch.where(ok, level.rows.index_select(0, at), row)
            if level.child is not None:
                node = level.child.index_select(0, at).masked_fill_(~ok, -1)
        return row


def suffix_blocks(
    V: int, dense: torch.Tensor, sparse: tuple[Level, ...], start: torch.Tensor
) -> Blocks | None:
    """The Blocks of sparse levels of widths D+1 .. N-1 over a dense index of V^D
    entries and the start rows [S], or None when they would hold more than
    BLOCK_LIMIT entries (or the floors did not bar the start rule's keys)."""
    depth = 0
    while V**depth < len(dense):  # the dense index holds V^depth entries
        depth += 1
    by_width = {level.width: level for level in sparse}
    top = max((w for w, lv in by_width.items() if len(lv.keys)), default=depth)
    if len(start):  # a level to bar the start rule's keys at
        top = max(top, depth + 1)
        if depth + 1 not in by_width or by_width[depth + 1].floor < len(start):
            return None
    owners = _owners(V, depth, top, by_width, len(start))
    if 2 * V * sum(map(len, owners.values())) > BLOCK_LIMIT:
        return None
    first = owners.get(depth, torch.zeros(0, dtype=torch.long))
    owner = torch.full((len(dense),), -1, dtype=torch.int32)
    owner[first] = torch.arange(len(first), dtype=torch.int32)
    inherited = dense[first]  # (B,) the rows of the blocks' owners
    levels = []
    for j in range(depth + 1, top + 1):
        own, place, level = owners[j - 1], V ** (j - 1), by_width.get(j)
        rows = inherited.repeat_interleave(V)  # (B*V,) a suffix not active: its owner's row
        if level is not None and len(level.keys):
            rows[_slots(own, level.keys, place, V)] = torch.arange(
                level.offset, level.offset + len(level.keys), dtype=torch.int32
            )
        child = None
        if j < top:
            at = _slots(own, owners[j], place, V)
            child = torch.full_like(rows, -1)
            child[at] = torch.arange(len(owners[j]), dtype=torch.int32)
            inherited = rows[at]
        floor = level.floor if level else 0
        levels.append(BlockLevel(place, floor, j < max(by_width), rows, child))
    first_rows = dense.clone()
    first_rows[: len(start)] = start
    return Blocks(V, first_rows, owner, tuple(levels))


def _owners(
    V: int, depth: int, top: int, by_width: dict[int, Level], starts: int
) -> dict[int, torch.Tensor]:
    """d -> the sorted d-token suffixes that own a block (depth <= d < top): the
    suffixes of the active contexts of d+1 .. top tokens, and at d = depth also the
    start rule's keys (below `starts`)."""
    owners: dict[int, torch.Tensor] = {}
    above = torch.zeros(0, dtype=torch.long)  # the owners one token longer
    for d in range(top - 1, depth - 1, -1):
        level = by_width.get(d + 1)
        nodes = above if level is None else torch.cat([level.keys, above])
        if d == depth:
            nodes = torch.cat([nodes, torch.arange(starts)])
        owners[d] = above = torch.unique(nodes % V**d)
    return owners


def _slots(own: torch.Tensor, keys: torch.Tensor, place: int, V: int) -> torch.Tensor:
    """Entries of j-token keys [K] in a level's blocks (owned by the sorted suffixes
    `own`, each key's own among them): block * V + oldest token, [K] int64."""
    return torch.searchsorted(own, keys % place) * V + keys // place


@dataclass(frozen=True)
class ContextRows:
    """logp: float64 [R * V] (nats); dense: int32 [V^D]; sparse: the levels above D;
    start: int32 [S], the exact rows of the contexts with keys below S (the boundary
    rule, for the dense part of a two-level index; empty when D = N - 1)."""

    vocab_size: int
    dense: torch.Tensor
    sparse: tuple[Level, ...]
    start: torch.Tensor
    logp: torch.Tensor

    def row_of(self, ctx_keys: torch.Tensor) -> torch.Tensor:
        """Row of each context key [T] (below V^(N-1)) -> [T] int64."""
        if not self.sparse:
            return self.dense.index_select(0, ctx_keys).long()
        blocks = self.blocks(len(ctx_keys))
        if blocks is not None:
            return blocks.row_of(ctx_keys).long()
        return self.searched_row_of(ctx_keys)

    def searched_row_of(self, ctx_keys: torch.Tensor) -> torch.Tensor:
        """row_of by searching each sparse level (no Blocks built) -> [T] int64."""
        row = self.dense[ctx_keys % len(self.dense)].long()
        for level in self.sparse:  # longer suffixes win
            space = self.vocab_size**level.width
            pos, hit = level.find(ctx_keys % space, space)
            if level.floor:
                hit &= ctx_keys >= level.floor
            row = torch.where(hit, level.offset + pos, row)
        if len(self.start):
            low = ctx_keys < len(self.start)
            row = torch.where(low, self.start[ctx_keys.clamp(max=len(self.start) - 1)], row)
        return row

    def blocks(self, queries: int) -> Blocks | None:
        """The sparse levels' Blocks, built on the first batch of HASH_QUERIES keys or
        more (a smaller one searches the levels), None when they would not fit."""
        if queries < HASH_QUERIES:
            return None
        if "_blocks" not in self.__dict__:
            blocks = suffix_blocks(self.vocab_size, self.dense, self.sparse, self.start)
            self.__dict__["_blocks"] = blocks
        return self.__dict__["_blocks"]

    def token_logprobs(self, ctx_keys: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """log p(target | context) of context keys [T] and targets [T] -> [T] float64."""
        # index_select, not logp[...]: the same floats, half the time of advanced indexing
        return self.logp.index_select(0, self.row_of(ctx_keys).mul_(self.vocab_size).add_(targets))

    def next_logprobs(self, ctx_keys: torch.Tensor) -> torch.Tensor:
        """Whole rows of context keys [B] -> [B, V] float64."""
        return self.logp.view(-1, self.vocab_size).index_select(0, self.row_of(ctx_keys))

    def scalar(self) -> ScalarRows:
        """The same index and rows as flat Python buffers (no copy)."""
        return ScalarRows(self)


def flat(t: torch.Tensor) -> memoryview:
    """A contiguous int32, int64 or float64 tensor as a flat memoryview of Python
    ints/floats over its own memory (the caller keeps the tensor alive: ScalarRows)."""
    fmt = {torch.int32: "i", torch.int64: "q", torch.float64: "d"}[t.dtype]
    if t.numel() == 0:
        return memoryview(b"").cast(fmt)
    assert t.is_contiguous()
    raw = (ctypes.c_char * (t.numel() * t.element_size())).from_address(t.data_ptr())
    return memoryview(raw).cast("B").cast(fmt)


class ScalarRows:
    """ContextRows for one context at a time in plain Python: `logp(ctx, w)` reads
    the very floats `token_logprobs` gathers."""

    def __init__(self, rows: ContextRows) -> None:
        self.keep: list[torch.Tensor] = []  # the tensors the views read, kept alive
        self.V = rows.vocab_size
        self.dense, self.start = self._view(rows.dense), self._view(rows.start)
        self.values = self._view(rows.logp)
        self.n_dense, self.n_start = len(rows.dense), len(rows.start)
        self.levels = [
            (self._view(lv.keys), self.V**lv.width, lv.offset, lv.floor)
            for lv in reversed(rows.sparse)
        ]  # longest first: the first hit wins

    def _view(self, t: torch.Tensor) -> memoryview:
        """`flat` of t (a contiguous copy if it is not), kept alive with self."""
        t = t.contiguous()
        self.keep.append(t)
        return flat(t)

    def row(self, ctx: int) -> int:
        """The row of one context key."""
        if ctx < self.n_start:
            return self.start[ctx]
        for keys, mod, offset, floor in self.levels:
            if ctx >= floor:
                c = ctx % mod
                pos = bisect.bisect_left(keys, c)
                if pos < len(keys) and keys[pos] == c:
                    return offset + pos
        return self.dense[ctx % self.n_dense]

    def logprobs(self, ids: list[int], order: int) -> list[float]:
        """log p of each token of `ids` (an item's symbols, then the end boundary 0)
        after the item's opening boundaries, at `order`: [len(ids)] floats."""
        V, values, out = self.V, self.values, []
        space = V ** (order - 1)
        ctx = 0
        if not self.levels and not self.n_start:  # one gather per token
            dense = self.dense
            for w in ids:
                out.append(values[dense[ctx] * V + w])
                ctx = (ctx * V + w) % space
            return out
        for w in ids:
            out.append(values[self.row(ctx) * V + w])
            ctx = (ctx * V + w) % space
        return out


def sizes(estimate: AddK | BackoffTables) -> tuple[int, int]:
    """(contexts stored, a bound on the rows `build` makes), counted before building."""
    if isinstance(estimate, AddK):
        return len(estimate.ctx_keys), len(estimate.ctx_keys) + 1
    contexts = sum(map(len, estimate.ctx_keys))
    return contexts, 1 + contexts + sum(map(len, estimate.keys[1:]))


def row_count(estimate: AddK | BackoffTables) -> int:
    """The rows `build` makes, counted exactly (`sizes` bounds them for free)."""
    if isinstance(estimate, AddK):
        return len(estimate.ctx_keys) + 1
    return 1 + sum(_active_count(estimate, j) for j in range(1, estimate.order))


def build(estimate: AddK | BackoffTables) -> ContextRows:
    """The rows of either estimate."""
    if isinstance(estimate, AddK):
        return addk_rows(estimate)
    return backoff_rows(estimate)


def dense_depth(vocab_size: int, longest: int) -> int:
    """Tokens D of the dense index level: the most, up to `longest`, with V^D <= INDEX_LIMIT."""
    depth = 0
    while depth < longest and vocab_size ** (depth + 1) <= INDEX_LIMIT:
        depth += 1
    return depth


def addk_rows(addk: AddK) -> ContextRows:
    """Rows of an add-k model: one per seen context, then one uniform row.

    The seen contexts' rows are add-k's formula at every token (AddK.seen_logprobs),
    the last row is 1/V for every unseen context (mixed with the unknown token's share).
    Seen contexts are indexed densely when V^(N-1) fits, else as one sparse level.
    """
    V, C, k = addk.vocab_size, len(addk.ctx_keys), addk.order - 1
    seen = addk.seen_logprobs().flatten()  # (C*V,)
    logp = torch.cat([seen, addk.unseen_row()])
    empty = torch.zeros(0, dtype=torch.int32)
    if dense_depth(V, k) == k:
        row = torch.full((V**k,), C, dtype=torch.int32)  # unseen: the last row
        row[addk.ctx_keys] = torch.arange(C, dtype=torch.int32)
        return ContextRows(V, row, (), empty, logp)
    uniform = torch.full((1,), C, dtype=torch.int32)  # dense level of 0 tokens
    return ContextRows(V, uniform, (Level(k, addk.ctx_keys, 0, 0),), empty, logp)


def backoff_rows(tables: BackoffTables) -> ContextRows:
    """Rows of a backoff model: one per active context of each order.

    A context h (N-1 tokens) is answered as its longest suffix that is active
    at its order and allowed by the boundary rule (backoff.py): orders above
    it find no n-gram and no backoff weight, so they leave log p unchanged.
    Row 0 is the unigram row (the empty context); then the active contexts
    of 1, 2, ..., N-1 tokens, each in sorted key order. The suffix of j tokens
    is allowed for every context except those with keys below V^(j-2) (which
    open with more boundaries than j tokens leave room for: keys.top_order).
    """
    V, N = tables.vocab_size, tables.order
    active = [_active(tables, j) for j in range(1, N)]
    suffixes = [torch.zeros(1, dtype=torch.long)] + [c for c, _, _ in active]  # j = 0..N-1
    depth = dense_depth(V, N - 1)
    logp = torch.empty(sum(map(len, suffixes)) * V, dtype=torch.float64)
    logp[:V] = tables.logp[0]  # row 0: the unigrams
    index = torch.zeros(1, dtype=torch.int32)  # level 0: every context -> the unigram row
    sparse: list[Level] = []
    offset = 1
    for j in range(1, N):
        c = suffixes[j]  # (C,)
        below = tuple(replace(lv, floor=0) for lv in sparse)  # a suffix's own suffix: no rule
        partial = ContextRows(V, index, below, torch.zeros(0, dtype=torch.int32), logp)
        # searched: blocks built for one level's parents cost more than they save
        parent = partial.searched_row_of(c % V ** (j - 1)) if j > 1 else torch.zeros_like(c)
        _fill_rows(
            tables, j, active[j - 1], parent, logp.view(-1, V)[offset : offset + len(c)], logp
        )
        if j <= depth:  # the index over j tokens: its suffix's row, then its own
            index = index.repeat(V)
            index[c] = torch.arange(offset, offset + len(c), dtype=torch.int32)
        else:
            sparse.append(Level(j, c, offset, V ** (j - 2) if j >= 2 else 0))
        offset += len(c)
    start = _exact_start(V, N, depth, suffixes)
    if not sparse:  # one level: the exact rows go straight into the index
        index[: len(start)] = start
        start = start[:0]
    return ContextRows(V, index, tuple(sparse), start, logp)


def _active(tables: BackoffTables, j: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The active contexts of j tokens (stored with a backoff weight, or the context of a
    stored (j+1)-gram): sorted keys c [C], their log bow [C] (0 where none is stored),
    and the place in c of each stored (j+1)-gram's context [M]. In a model of one's
    own every such context has a weight and n-grams, and c is the stored contexts:
    one pass, no sort and no search."""
    stored, log_bow = tables.ctx_keys[j - 1], tables.log_bow[j - 1]
    c, runs, inverse = _active_keys(tables, j, places=True)
    assert inverse is not None
    if c is stored:
        return stored, log_bow, inverse
    bow, _ = lookup(stored, log_bow, c)
    return c, bow, torch.searchsorted(c, runs)[inverse]


def _active_count(tables: BackoffTables, j: int) -> int:
    """len(_active(tables, j)[0]) without the place of each n-gram (M int64 fewer at
    the peak of a large fit, which counts its rows before sampling)."""
    return len(_active_keys(tables, j, places=False)[0])


def _active_keys(
    tables: BackoffTables, j: int, places: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(the active contexts of j tokens c [C], sorted; the distinct contexts of the
    (j+1)-grams [R]; with `places`, the one of each (j+1)-gram in them [M], else None).
    c is the stored contexts themselves when the (j+1)-grams' are those."""
    stored = tables.ctx_keys[j - 1]
    contexts = tables.keys[j] // tables.vocab_size  # (M,) sorted: the keys are
    if places:
        runs, inverse = torch.unique_consecutive(contexts, return_inverse=True)
    else:
        runs, inverse = torch.unique_consecutive(contexts), None
    if torch.equal(runs, stored):
        return stored, runs, inverse
    return torch.unique(torch.cat([stored, runs])), runs, inverse


def _fill_rows(
    tables: BackoffTables,
    j: int,
    active: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    parent: torch.Tensor,
    out: torch.Tensor,
    logp: torch.Tensor,
) -> None:
    """Rows [C, V] (into `out`) of the active contexts of j tokens (`_active`): backoff.py's
    step at order j + 1, log bow(c) + the row of c's own longest active suffix
    (`parent`, rows already in `logp`), with log p(c, w) written over it where (c, w)
    is stored."""
    V = tables.vocab_size
    _, bow, at = active
    parents = logp.view(-1, V).index_select(0, parent)  # (C, V): 2x faster than [parent]
    torch.add(parents, bow.unsqueeze(1), out=out)
    out.view(-1).index_copy_(0, at * V + tables.keys[j] % V, tables.logp[j])


def _exact_start(V: int, N: int, depth: int, suffixes: list[torch.Tensor]) -> torch.Tensor:
    """Rows of the contexts below V^(depth-2) by the plain rule (keys.top_order): the only
    keys for which a level of the dense index may be barred. int32 [S]."""
    from ..keys import top_order

    size = V ** (depth - 2) if depth >= 2 else 0
    h = torch.arange(size)
    return _longest_active(h, N - 1, V, suffixes, top_order(h, V, N))


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
