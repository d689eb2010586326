"""Base-V n-gram keys: encode, decode, find in sorted keys, the boundary rule.

An n-gram of k tokens (t1..tk) is one int64 key, its tokens read as base-V
digits, context first: key = t1*V^(k-1) + ... + tk. With V = 3 (. a b as
0 1 2), gram_keys gives (., a, b) the key 0*9 + 1*3 + 2 = 5, and
key_digits(5, V=3, k=3) gives back (0, 1, 2). Leading boundaries are leading
zero digits, so (., a, b) and (a, b) share the key 5: the digit count k says
which one is meant.

Keys of one order sort like their n-grams, so a table of n-grams is a
sorted key array and a lookup is one searchsorted (`find`, `lookup`). Keys
must fit in int64: V^order <= MAX_KEY (`max_order`, `check_order`).

The boundary rule: ngramkit pads an item with order-1 boundaries, ARPA with
one <s>. A context whose leading run of boundaries is z > 1 long says no more
than the one with a single boundary, so it is answered at order N - (z - 1)
(`top_order`) and such n-grams are never stored above that order.

This module knows nothing of counts, estimators or vocabularies.
"""

from __future__ import annotations

import torch

from .errors import NgramkitError

MAX_KEY = 2**63 - 1


def max_order(vocab_size: int) -> int:
    """Highest order whose keys fit in int64: 13 for V=27, 9 for V=96."""
    if vocab_size <= 1:
        return 64  # a boundary-only vocabulary: every key is 0
    n = 1
    while vocab_size ** (n + 1) <= MAX_KEY:
        n += 1
    return n


def check_order(order: int, vocab_size: int) -> None:
    """NgramkitError when order-`order` keys over `vocab_size` tokens overflow int64."""
    if order > max_order(vocab_size):
        raise NgramkitError(
            f"order {order} is too high for a vocabulary of {vocab_size} tokens "
            f"(n-gram keys must fit in 64 bits; at most order {max_order(vocab_size)})"
        )


def gram_keys(grams: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Keys of the rows of `grams` [T, k] -> [T] int64 (0 for k = 0)."""
    if grams.shape[1] == 0:
        return torch.zeros(len(grams), dtype=torch.long)
    key = grams[:, 0].clone()
    for j in range(1, grams.shape[1]):
        key.mul_(vocab_size).add_(grams[:, j])
    return key


def key_digits(keys: torch.Tensor, vocab_size: int, k: int) -> torch.Tensor:
    """The k tokens of keys [T] -> [T, k], oldest first: gram_keys undone."""
    if k == 0:
        return torch.zeros(len(keys), 0, dtype=torch.long)
    return torch.stack([(keys // vocab_size ** (k - 1 - j)) % vocab_size for j in range(k)], 1)


def row_grams(ctx_keys: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Keys of every (context, token) of context keys [B] -> [B*V], row by row."""
    V = vocab_size
    return (ctx_keys * V).repeat_interleave(V) + torch.arange(V).repeat(len(ctx_keys))


def find(keys: torch.Tensor, query: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(position, found) of each query key [T] in sorted unique `keys` [M].

    position is where the key sits when found (clamped into [0, M) otherwise,
    0 when M = 0), so values[position] is safe to gather from a non-empty table.
    """
    if len(keys) == 0:
        return torch.zeros_like(query), torch.zeros_like(query, dtype=torch.bool)
    pos = torch.searchsorted(keys, query).clamp_(max=len(keys) - 1)
    return pos, keys[pos] == query


HASH_PRIME = 2**31 - 1  # wide keys are hashed mod this prime: products stay below 2^62
HASH_MULTIPLIER = 2_654_435_761  # Knuth's: keys below 2^31 times it stay below 2^63


class HashIndex:
    """find() for sorted unique int64 keys [C] in [0, space) by open addressing: the
    same answers (position where found), in one gather a query for most queries
    rather than a binary search of log2(C) dependent reads (order-6 names: 460k
    lookups in 200k keys, 47 ms by searchsorted, about 10 by this).

    `slot_keys` [cap] holds a key (-1: empty; int32 when space <= 2^31) and
    `slot_pos` its position in `keys`, cap a power of two at least 4 C (load <=
    1/4: few second probes); a key lives at its hash or the first free slot after
    it (linear probing). Keys are placed all at once, round by round: where
    several want one slot, one wins and the rest move on, so a key's probe path
    is occupied up to it whichever wins; the layout may differ between runs, the
    answers never do.
    """

    def __init__(self, keys: torch.Tensor, space: int) -> None:
        self.keys, self.small = keys, space <= 2**31
        cap = 1 << max(4, (4 * len(keys) - 1).bit_length())
        self.mask = cap - 1
        # keys below 2^31 are held as int32: half the table's bytes, fewer cache misses
        self.dtype = torch.int32 if self.small else torch.long
        self.slot_keys = torch.full((cap,), -1, dtype=self.dtype)
        self.slot_pos = torch.zeros(cap, dtype=torch.int32)
        pending = torch.arange(len(keys))  # positions not placed
        at = self._home(keys)  # (C,) the slot each tries next
        while len(pending):
            want = at[pending]
            free = self.slot_keys[want] < 0
            self.slot_pos[want[free]] = pending[free].int()  # one of any rivals wins
            won = torch.zeros_like(free)
            won[free] = self.slot_pos[want[free]] == pending[free]
            self.slot_keys[want[won]] = keys[pending[won]].to(self.dtype)
            pending = pending[~won]
            at[pending] = (at[pending] + 1) & self.mask  # taken: the next slot

    def _home(self, query: torch.Tensor) -> torch.Tensor:
        """First slot of each key [T] -> [T] int64: the product's middle bits below
        2^31 (one multiply, no overflow), two modular steps above."""
        if self.small:
            return (query * HASH_MULTIPLIER).bitwise_right_shift_(16).bitwise_and_(self.mask)
        return (query % HASH_PRIME).mul_(48_271).remainder_(HASH_PRIME) & self.mask

    def find(self, query: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(position, found) of each query key [T] in [0, space), as keys.find gives
        them (position 0 where not found)."""
        if len(self.keys) == 0:
            return torch.zeros_like(query), torch.zeros_like(query, dtype=torch.bool)
        at = self._home(query)
        query = query.to(self.dtype)
        # The first probe answers most queries: done over all of them, no compaction.
        held = self.slot_keys[at]  # (T,) key at the home slot, -1 empty
        found = held == query
        pos = torch.where(found, self.slot_pos[at], 0).long()
        live = ((held >= 0) & ~found).nonzero().squeeze(1)  # home taken by another key
        at = at[live]
        while len(live):
            at = (at + 1) & self.mask
            held = self.slot_keys[at]
            hit = held == query[live]
            pos[live[hit]] = self.slot_pos[at[hit]].long()
            found[live[hit]] = True
            go = (held >= 0) & ~hit  # occupied by another key: probe on
            live, at = live[go], at[go]
        return pos, found


def lookup(
    keys: torch.Tensor, values: torch.Tensor, query: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(values at each query key, found) [T]; 0 where a query key is absent."""
    pos, found = find(keys, query)
    if len(keys) == 0:
        return torch.zeros(len(query), dtype=values.dtype), found
    return torch.where(found, values[pos], 0), found


def is_table(keys: torch.Tensor, values: torch.Tensor, dtype: torch.dtype) -> bool:
    """Whether keys [M] are sorted, unique, non-negative int64 with `values` [M] of
    `dtype` alongside: what a damaged model file could break in a table."""
    return (
        keys.dtype == torch.long
        and values.dtype == dtype
        and keys.dim() == 1
        and keys.shape == values.shape
        and bool((keys[1:] > keys[:-1]).all())
        and (len(keys) == 0 or int(keys[0]) >= 0)
    )


def stored_at_own_order(keys: torch.Tensor, vocab_size: int, k: int) -> torch.Tensor:
    """Which k-gram keys [T] have at most one leading boundary in their context [T] bool:
    those top_order answers at order k; the others are stored as the (k-1)-gram
    of the same key."""
    if k < 3:
        return torch.ones_like(keys, dtype=torch.bool)
    return keys >= vocab_size ** (k - 2)


def own_order_start(sorted_keys: torch.Tensor, vocab_size: int, k: int) -> int:
    """Where the keys stored_at_own_order keeps begin in sorted k-gram keys [T]: they
    are those from V^(k-2) up, a tail (so a slice, not a copy, selects them)."""
    if k < 3:
        return 0
    return int(torch.searchsorted(sorted_keys, vocab_size ** (k - 2)))


def top_order(ctx_keys: torch.Tensor, vocab_size: int, order: int) -> torch.Tensor:
    """The highest order an order-`order` query may use, by its context key [T] -> [T].

    The context has order-1 digits; z >= 1 leading boundaries (leading zero
    digits: key < V^(order-1-z)) allow order - (z - 1). With V = 3 at order 4:
    (., ., a) -> 3, (., a, b) -> 4, (a, b, a) -> 4.
    """
    if order == 1:
        return torch.ones_like(ctx_keys)
    zeros = sum((ctx_keys < vocab_size ** (order - 1 - m)).long() for m in range(1, order))
    return order - (zeros - 1).clamp(min=0)


def stream_context_keys(stream: torch.Tensor, order: int, vocab_size: int) -> torch.Tensor:
    """Keys of the contexts of corpus.stream_grams(stream, order), [T] int64.

    The same as gram_keys(grams[:, :-1]), without building the windows: Horner
    over the plain stream from the oldest of the order-1 lags, restarting at
    each boundary (a 0 digit zeroes the key so far): a context reaches back to
    its item's opening boundary, its leading boundaries zero digits of the key.
    """
    if len(stream) < 2 or order == 1:
        return torch.zeros(max(len(stream) - 1, 0), dtype=torch.long)
    if order == 2:
        return stream[:-1].clone()  # the previous token: in the item, or its opening 0
    n, T = order - 1, len(stream) - 1
    # Keys below 2^31 are built in int32: half the bytes of each pass.
    narrow = torch.int32 if vocab_size**n < 2**31 else torch.long
    padded = torch.cat([stream.new_zeros(n - 1), stream]).to(narrow)  # lags past 0 read 0
    live = (padded != 0).to(narrow)  # 0 at boundaries: what came before is cut
    key = padded[:T].clone()  # lag n (oldest) first
    for i in range(n - 1, 0, -1):  # Horner down to lag 1; no cut by division (4x slower)
        key.mul_(vocab_size).add_(padded[n - i : n - i + T]).mul_(live[n - i : n - i + T])
    return key.long()


def stream_gram_keys(stream: torch.Tensor, order: int, vocab_size: int) -> torch.Tensor:
    """Keys of the windows corpus.stream_grams(stream, order), [T] int64, built directly."""
    keys = stream_context_keys(stream, order, vocab_size)
    return keys.mul_(vocab_size).add_(stream[1:]) if order > 1 else stream[1:].clone()
