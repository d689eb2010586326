"""The count table: how often each n-gram of orders 1..N occurs. Mergeable.

An n-gram of k tokens is stored as one base-V int64 key (keys.py). Keys of
each order are sorted and unique, with their counts alongside, so the table grows with
the distinct n-grams seen, never with V^N.

Counts of ["ab", "b"] at order 2 (V=3: . a b): (.,a)=1 (a,b)=1 (b,.)=2 (.,b)=1.

Counting is count (one chunk or shard) -> merge (any tree, any order) ->
estimate (done by a backend); `merge` is associative and commutative, and
`merge_all` is the one balanced merge tree (chunks, shards, engines).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TypeVar

import torch

from . import memory, threads
from .corpus import Corpus, item_runs
from .errors import CountTableError, NgramkitError
from .keys import check_order, stream_gram_keys
from .memory import release
from .tokenizer import Vocabulary

Top = tuple[torch.Tensor, torch.Tensor]  # (keys [M], counts [M]): a table of one order

CHUNK_TOKENS = 2**17  # symbols counted per chunk before merging (~10 MiB of temporaries)
ASCII_BIGRAMS_LIMIT = 2**18  # characters of a corpus whose bigrams one bincount counts
BINCOUNT_LIMIT = 2**20  # key spaces up to this size are counted without sorting
T = TypeVar("T")


def count_keys(keys: torch.Tensor, space: int, weights: torch.Tensor | None = None) -> Top:
    """(sorted distinct keys, their counts) of int64 keys in [0, space).

    A small key space is counted with bincount (no sort); a large one sorts.
    count_keys(tensor([3, 1, 3]), 4) == (tensor([1, 3]), tensor([1, 2])).
    weights: int64 [len(keys)], each key counted that many times (exact int64 sums):
    count_keys(tensor([3, 1, 3]), 4, tensor([2, 5, 1])) == (tensor([1, 3]), tensor([5, 3])).
    """
    if weights is not None:
        if space <= BINCOUNT_LIMIT:
            hist = torch.zeros(space, dtype=torch.long).index_add_(0, keys, weights)
            uniq = hist.nonzero().squeeze(1)
            return uniq, hist[uniq]
        uniq, inverse = torch.unique(keys, sorted=True, return_inverse=True)
        return uniq, torch.zeros_like(uniq).index_add_(0, inverse, weights)
    if space <= BINCOUNT_LIMIT:
        hist = torch.bincount(keys, minlength=space)  # (space,)
        uniq = hist.nonzero().squeeze(1)
        return uniq, hist[uniq]
    return torch.unique(keys, sorted=True, return_counts=True)


FLOW_PRIME = 2_147_483_647  # the flow check's hash is mod a prime < 2^31: no int64 overflow


def counts_whole_items(keys: torch.Tensor, counts: torch.Tensor, V: int, N: int) -> bool:
    """Whether a top-order table (keys [M], counts [M]) can be the counts of whole items.

    Every symbol of an item is predicted once and is then the newest token of one
    context: for each (N-1)-token context h ending in a symbol, the n-grams ending
    in h (u, h) and those starting with h (h, w) have the same total count; a
    context ending in the boundary is the start, all boundaries. ["ab"] at N = 2:
    (.,a)=1 (a,b)=1 (b,.)=1: a and b flow 1 in, 1 out. The same keys read at N = 3
    (a file resealed with another order) are (.,.,a) (.,a,b) (.,b,.): (a,b) flows
    in, nothing out, so False. The two totals are compared through a polynomial
    hash of h mod a prime, exact integers: a real table always passes, and another
    table passes with a chance of about 1/FLOW_PRIME (one hash: two cost 2 ms more
    of a 6 ms load of an order-5 names model).
    """
    if N == 1 or len(keys) == 0:
        return True
    h_out, h_in = keys // V, keys % V ** (N - 1)  # (M,) context of each, and its ending
    if bool(((h_out % V == 0) & (h_out != 0)).any()):
        return False  # a context ending in the boundary after a symbol
    out_w, in_w = counts * (h_out % V != 0), counts * (h_in % V != 0)  # (M,) flows to match
    reduced = V ** (N - 1) <= FLOW_PRIME and int(counts.max()) < 2**32  # no `% p` needed
    sums = [int(_hash_sum(h, w, FLOW_PRIME, reduced)) for h, w in ((h_out, out_w), (h_in, in_w))]
    return sums[0] == sums[1]


def _hash_sum(h: torch.Tensor, w: torch.Tensor, p: int, reduced: bool) -> torch.Tensor:
    """sum(w * f(h)) mod p with f(h) = (h * 48271 + 11)^3 mod p: every product < 2^63
    (reduced: h < p and w < 2^32 already, so neither is taken mod p first)."""
    if not reduced:
        h, w = h % p, w % p
    x = (h * 48271 + 11) % p
    f = x * x % p * x % p
    return (w * f % p).sum() % p  # M terms < 2^31 each: no overflow below 2^32 terms


MERGE_BLOCK = 2**16  # keys of each table merged at once: bounds merge_sorted's temporaries
TRIM_ENTRIES = 2**20  # a merge of this many entries first gives freed heap back (release)


def merge_sorted(a: Top, b: Top, block: int = MERGE_BLOCK) -> Top:
    """Union of two (sorted unique keys, counts) pairs, counts of equal keys summed.

    Large tables are merged a key range at a time: pivots every `block` keys
    of either table cut both at the same key values, so no key straddles two
    ranges, and each range (at most `block` keys of each table) is merged into
    one output buffer of len(a) + len(b) entries, returned as a view of the
    first ones written. The temporaries are a range's, not the tables' (the
    buffer's unwritten tail is never touched, so it takes no memory). The
    result is the one-piece merge's, entry for entry (integer sums).
    """
    (ka, ca), (kb, cb) = a, b
    n = len(ka) + len(kb)
    if n <= 2 * block:
        return _merge_range(a, b)
    if n >= TRIM_ENTRIES:
        # The freed tables of earlier merges lie in the C heap as holes that a new
        # buffer this large does not fit: handed back first, the stdlib count's peak
        # is 40-50 MiB lower, for 10 such merges' page faults (~0.05 s).
        release()
    pivots = torch.unique(torch.cat([ka[block::block], kb[block::block]]))  # sorted
    cut_a = torch.searchsorted(ka, pivots).tolist()
    cut_b = torch.searchsorted(kb, pivots).tolist()
    keys = torch.empty(n, dtype=torch.long)
    cnt = torch.empty(n, dtype=torch.long)
    used = 0
    for i0, i1, j0, j1 in zip(
        [0, *cut_a], [*cut_a, len(ka)], [0, *cut_b], [*cut_b, len(kb)], strict=True
    ):
        k, c = _merge_range((ka[i0:i1], ca[i0:i1]), (kb[j0:j1], cb[j0:j1]))
        keys[used : used + len(k)] = k
        cnt[used : used + len(k)] = c
        used += len(k)
    return keys[:used], cnt[:used]


def _merge_range(a: Top, b: Top) -> Top:
    """merge_sorted in one piece (merge_many of the two)."""
    return merge_many([a, b])


def merge_many(tables: Sequence[Top]) -> Top:
    """Union of any number of (sorted unique keys, counts) pairs, equal keys summed.

    One stable sort of their concatenation brings equal keys together and
    sum_runs adds them: for small tables a sort is cheaper than merging
    pairwise by binary search (each entry is moved once, not once a level).
    Temporaries are about 40 bytes an entry of the tables.
    """
    if len(tables) == 1:
        return tables[0]
    keys, at = torch.sort(torch.cat([t[0] for t in tables]), stable=True)
    return sum_runs(keys, torch.cat([t[1] for t in tables])[at])


GROUP_ENTRIES = 2**18  # chunk-table entries merged by one sort: ~10 MiB of temporaries


def grouped(parts: Iterable[Top], limit: int = GROUP_ENTRIES) -> Iterator[Top]:
    """`parts` merged in consecutive groups of about `limit` entries (merge_many).

    Counting yields many small chunk tables; merging each group by one sort
    before the balanced tree of merge_sorted leaves that tree a few levels,
    not one per doubling of the chunks. Nothing is yielded for no parts.
    """
    group: list[Top] = []
    held = 0
    for part in parts:
        group.append(part)
        held += len(part[0])
        if held >= limit:
            yield merge_many(group)
            group, held = [], 0
    if group:
        yield merge_many(group)


def sum_runs(keys: torch.Tensor, counts: torch.Tensor) -> Top:
    """Sorted keys with repeats -> (distinct keys, summed counts), in one pass."""
    n = len(keys)
    if n == 0:
        return keys, counts
    first = torch.ones(n, dtype=torch.bool)
    first[1:] = keys[1:] != keys[:-1]  # (n,) starts of runs of equal keys
    starts = first.nonzero().squeeze(1)
    csum = torch.cumsum(counts, 0)
    ends = torch.cat([starts[1:], torch.tensor([n])]) - 1
    total = csum[ends] - torch.cat([torch.zeros(1, dtype=torch.long), csum[ends[:-1]]])
    return keys[starts], total


@dataclass(frozen=True)
class Provenance:
    """Where counted items came from, for reports; adds up under merge.

    items: items read (non-blank lines); blank: blank lines skipped;
    oov: items left out for symbols outside the vocabulary (0 when the
        vocabulary was collected from the same data);
    sources: where the items came from (file[start:end] shards), sorted;
    weight: total weight of the items read from weighted lists (0: not weighted);
    seen: the distinct items counted (for "in training" marks), or None when
        not recorded or past `limit` items;
    normalized: items each part of the normalization rule changed ("form", "case",
        "accents" -> count), or None when not counted (a given vocabulary).
    """

    items: int = 0
    blank: int = 0
    oov: int = 0
    sources: tuple[str, ...] = ()
    weight: int = 0
    seen: frozenset[str] | None = None
    limit: int = 0
    normalized: dict[str, int] | None = None

    def __add__(self, other: Provenance) -> Provenance:
        seen = None
        if self.seen is not None and other.seen is not None:
            seen = self.seen | other.seen
            seen = seen if len(seen) <= min(self.limit, other.limit) else None
        return Provenance(
            self.items + other.items,
            self.blank + other.blank,
            self.oov + other.oov,
            tuple(sorted(self.sources + other.sources)),  # the same for any merge order
            self.weight + other.weight,
            seen,
            min(self.limit, other.limit),
            _add_counts(self.normalized, other.normalized),
        )


def _add_counts(a: dict[str, int] | None, b: dict[str, int] | None) -> dict[str, int] | None:
    """Per-part change counts summed; None (not known) if either side does not know."""
    return None if a is None or b is None else {k: a.get(k, 0) + b.get(k, 0) for k in a | b}


@dataclass(frozen=True)
class NgramCounts:
    """Counts of every n-gram of orders 1..order, over a vocabulary.

    Only the top order is stored (what shards ship, files hold and merges
    sum); every lower-order n-gram is a suffix of an order-N window, so
    orders 1..N-1 are its exact suffix sums, derived on first use.

    top_keys: LongTensor [M], sorted unique base-V keys of the order-N windows.
    top_counts: LongTensor [M], how often each occurs (> 0).
    keys[k-1], counts[k-1]: the same for the k-grams, k = 1..order (derived).
    """

    vocab: Vocabulary
    order: int
    top_keys: torch.Tensor
    top_counts: torch.Tensor
    provenance: Provenance = Provenance()

    @classmethod
    def count(cls, corpus: Corpus, order: int, chunk_tokens: int = CHUNK_TOKENS) -> NgramCounts:
        """Count the n-grams of every order up to `order` in `corpus`.

        Items are counted in chunks of about `chunk_tokens` symbols; only the
        top order is counted per chunk and the chunk tables are merged as a
        balanced tree (`merge_all`). Memory follows the distinct n-grams,
        not the corpus length times the order.
        """
        V = len(corpus.vocab)
        check_order(order, V)
        if corpus.weights is not None:
            return cls._count_weighted(corpus, order, chunk_tokens)
        fast = _ascii_bigrams(corpus, ASCII_BIGRAMS_LIMIT) if order == 2 else None
        if fast is None:
            folded = corpus.folded()  # a corpus of many repeats: once per distinct item
            fast = merge_tops(_top(corpus if folded is None else folded, order, chunk_tokens))
        keys, counts = fast
        release()  # the chunks' temporaries, freed into the heap, back to the system
        return cls(corpus.vocab, order, keys, counts, _provenance(keys, counts, V, len(corpus)))

    @classmethod
    def _count_weighted(cls, corpus: Corpus, order: int, chunk_tokens: int) -> NgramCounts:
        """`count` of a weighted corpus: every window of an item counted `weight` times.

        The same table as counting `corpus.expanded()` (each item repeated), bit for
        bit (integer sums), at the cost of the distinct items, not of their copies.
        """
        keys, counts = merge_tops(_top(corpus, order, chunk_tokens))
        oov = int(corpus.oov.sum())
        made = Provenance(len(corpus), 0, oov, (), int(corpus.item_weights.sum()))
        return cls(corpus.vocab, order, keys, counts, made)

    @classmethod
    def count_items(
        cls,
        items: Iterable[str],
        vocab: Vocabulary,
        order: int,
        chunk_tokens: int = CHUNK_TOKENS,
        *,
        blank: int = 0,
        source: str = "",
        weights: Sequence[int] | None = None,
        remember: int = 0,
    ) -> NgramCounts:
        """Count raw items chunk by chunk: only one chunk is ever encoded at once.

        Items with symbols outside `vocab` are left out (as a Corpus marks
        them OOV) and counted in `provenance.oov`; `blank` and `source` are
        recorded there too. The same table as `count(Corpus.from_items(items,
        vocab, weights=weights), order)`. remember: keep up to this many
        distinct counted items in `provenance.seen` (0: none).
        """
        check_order(order, len(vocab))
        items = list(items)
        made = Provenance(0, blank, 0, (source,) if source else (), 0, frozenset(), remember)
        parts: list[Provenance] = []  # what each chunk counted, noted as the chunks are read

        def tops() -> Iterator[Top]:
            for start, stop in item_runs(items, chunk_tokens):
                w = None if weights is None else weights[start:stop]
                corpus = Corpus.from_items(items[start:stop], vocab, weights=w)
                parts.append(_counted(corpus, weights is not None, remember))
                yield from _top(corpus, order, chunk_tokens)

        keys, counts = merge_all(grouped(tops()), merge_sorted)
        for part in parts:
            made += part
        return cls(vocab, order, keys, counts, made if remember else replace(made, seen=None))

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @cached_property
    def _orders(self) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
        """(keys, counts) of orders 1..N, derived once and kept (see `lower_orders`)."""
        keys, counts = [self.top_keys], [self.top_counts]
        for _, k_keys, k_counts in self.lower_orders():
            keys.insert(0, k_keys)
            counts.insert(0, k_counts)
        return tuple(keys), tuple(counts)

    def lower_orders(self) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
        """(k, keys, counts) of orders N-1 down to 1: c(g) = sum of c(G) over the windows
        G ending in g, each order summed from the one above (a suffix of a suffix:
        smaller sorts, the same sums). The kept ones when `keys` was read before;
        otherwise derived as they are asked for and not kept, so a caller that
        drops an order's counts once used holds at most two orders' at a time.

        Over (.,a)=1 (a,b)=1 (b,.)=2 (.,b)=1 (V=3, order 2) the unigrams are
        a=1, b=2, .=2 (the predicted tokens).
        """
        V = self.vocab_size
        kept = self.__dict__.get("_orders")  # the cached_property's value, once computed
        keys, counts = self.top_keys, self.top_counts
        for k in range(self.order - 1, 0, -1):
            if kept is not None:
                keys, counts = kept[0][k - 1], kept[1][k - 1]
            else:
                keys, counts = suffix_sums(keys, counts, V**k)
            yield k, keys, counts

    @property
    def keys(self) -> tuple[torch.Tensor, ...]:
        """keys[k-1]: sorted unique int64 keys of the k-grams."""
        return self._orders[0]

    @property
    def counts(self) -> tuple[torch.Tensor, ...]:
        """counts[k-1]: int64 counts aligned with keys[k-1]."""
        return self._orders[1]

    def top(self) -> Top:
        """(keys, counts) of the highest order."""
        return self.top_keys, self.top_counts

    @property
    def tokens(self) -> int:
        """Predicted tokens counted: sum of (L + 1) over the kept items."""
        return int(self.top_counts.sum())

    def context_totals(self) -> Top:
        """(sorted context keys [C], c(h) [C]) of the top order: see `context_totals`."""
        return context_totals(self.top_keys, self.top_counts, self.vocab_size)

    def merge(self, other: NgramCounts) -> NgramCounts:
        """The counts of both tables' items; associative and commutative.

        Integer counts of equal keys are summed, nothing else, so any merge
        tree gives the same table bit for bit. Tables merge only when counted
        at the same order over the same vocabulary (CountTableError otherwise):
        else the keys would mean different n-grams.
        """
        check_compatible(self, other)
        keys, counts = merge_sorted(self.top(), other.top())
        return NgramCounts(self.vocab, self.order, keys, counts, self.provenance + other.provenance)


def context_totals(keys: torch.Tensor, counts: torch.Tensor, vocab_size: int) -> Top:
    """(sorted distinct contexts, c(h)) of sorted n-gram keys [M] and their counts [M].

    A context is a key without its last token (key // V); c(h) sums the
    counts of the n-grams it begins, in int64. Over (.,a)=1 (a,b)=1 (b,.)=2
    (.,b)=1 (V=3): contexts [0, 1, 2] (. a b), totals [2, 1, 2].
    """
    ctx_keys, inverse = torch.unique_consecutive(keys // vocab_size, return_inverse=True)
    return ctx_keys, torch.zeros_like(ctx_keys).index_add_(0, inverse, counts)


def merge_tops(parts: Iterable[Top]) -> Top:
    """The chunk tables `parts` merged into one: in memory, or under the `--memory`
    budget in force (memory.budget), spilling sorted runs to disk (counting/spill.py)."""
    limit = memory.current()
    if limit is None:
        return merge_all(grouped(parts), merge_sorted)
    from .counting.spill import count_within

    return count_within(parts, limit)


def merge_all(parts: Iterable[T], pair: Callable[[T, T], T] | None = None) -> T:
    """Merge `parts` pairwise as merge sort does: each part takes part in O(log n) merges.

    `pair` merges two parts (default: NgramCounts.merge); chunked counting
    passes one for (keys, counts) pairs, a Dask engine one that submits a
    task. Parts are merged as they arrive, keeping at most log2(n) of them.
    """
    merge = pair or NgramCounts.merge
    stack: list[tuple[int, T]] = []  # (parts merged into it, part), sizes strictly falling
    for part in parts:
        size = 1
        while stack and stack[-1][0] == size:
            n, before = stack.pop()
            part = merge(before, part)
            size += n
        stack.append((size, part))
    if not stack:
        raise CountTableError("no count tables to merge")
    _, out = stack.pop()
    while stack:
        out = merge(stack.pop()[1], out)
    return out


def check_compatible(a: NgramCounts, b: NgramCounts, names: tuple[str, str] = ("", "")) -> None:
    """CountTableError (one line) unless `a` and `b` share order and vocabulary."""
    na = names[0] or _name(a)
    nb = names[1] or _name(b)
    if a.order != b.order:
        raise CountTableError(
            f"cannot merge count tables of different orders: {na} is order {a.order}, "
            f"{nb} is order {b.order}"
        )
    if a.vocab != b.vocab:
        raise CountTableError(
            f"cannot merge count tables over different vocabularies: {na} has "
            f"{_describe(a.vocab)}, {nb} has {_describe(b.vocab)} "
            "(count every part with the same --vocab-from)"
        )


def _name(t: NgramCounts) -> str:
    sources = t.provenance.sources
    return sources[0] if len(sources) == 1 else f"a table of {len(sources)} sources"


def _describe(v: Vocabulary) -> str:
    return f"{len(v)} {v.kind} tokens"


def _provenance(
    keys: torch.Tensor, counts: torch.Tensor, V: int, items: int, blank: int = 0, source: str = ""
) -> Provenance:
    """The provenance of `items` counted into the top order (keys, counts).

    Every kept item predicts the boundary (id 0) once, so the windows ending
    in 0 count the kept items; the rest were left out as OOV.
    """
    kept = int(counts[keys % V == 0].sum())
    return Provenance(items, blank, items - kept, (source,) if source else ())


def subtract_counts(whole: NgramCounts, part: NgramCounts) -> NgramCounts:
    """`whole` minus `part`, where `part` counts some of the items `whole` counted.

    Counts add over items (an item's windows depend on that item alone), so
    this is exactly the table of the other items: n-grams left at 0 are
    dropped. The top order decides; lower orders follow as its suffix sums.
    """
    if (whole.vocab_size, whole.order) != (part.vocab_size, part.order):
        raise NgramkitError("cannot subtract counts of another vocabulary or order")
    kw, cw, kp, cp = whole.top_keys, whole.top_counts, part.top_keys, part.top_counts
    at = torch.searchsorted(kw, kp)
    if len(kp) and (bool((at >= len(kw)).any()) or not torch.equal(kw[at], kp)):
        raise NgramkitError("cannot subtract counts of n-grams the table lacks")
    left = cw.clone()
    left[at] -= cp
    if bool((left < 0).any()):
        raise NgramkitError("cannot subtract more of an n-gram than the table counts")
    keep = left > 0
    w, p = whole.provenance, part.provenance
    made = Provenance(w.items - p.items, w.blank - p.blank, w.oov - p.oov, w.sources)
    return NgramCounts(whole.vocab, whole.order, kw[keep], left[keep], made)


def _ascii_bigrams(corpus: Corpus, limit: int) -> Top | None:
    """Bigram (keys, counts) straight from the bytes of a small ASCII char corpus, or None.

    The lecture's case (names, identifiers): the items joined by newlines are
    the bigram stream already, with byte 10 as the boundary, so the pairs of
    adjacent bytes are counted with one bincount over 128 x 128 cells and
    only the cells seen are mapped to token ids; no per-character lookup.
    None (use the general path) for other vocabularies, corpora over `limit`
    characters, items holding a newline, or symbols outside the vocabulary.
    """
    vocab = corpus.vocab
    if vocab.kind != "char" or "\n" in vocab.stoi or any(ord(s) >= 128 for s in vocab.symbols):
        return None
    text = "\n".join(corpus.items)
    if len(text) > limit or not text.isascii():
        return None
    raw = torch.frombuffer(bytearray(("\n" + text + "\n").encode("ascii")), dtype=torch.uint8)
    seen = torch.bincount(raw, minlength=128)  # (128,) bytes present
    lut = torch.full((128,), -1, dtype=torch.long)
    lut[10] = 0
    lut[torch.tensor([ord(s) for s in vocab.symbols], dtype=torch.long)] = torch.arange(
        1, len(vocab.symbols) + 1
    )
    present = seen.nonzero().squeeze(1)
    if int(seen[10]) != len(corpus.items) + 1 or bool((lut[present] < 0).any()):
        return None  # a newline inside an item, or an unknown symbol (OOV items)
    wide = raw.to(torch.int16)  # 127 * 128 + 127 fits: a narrow type keeps this pass cheap
    pair = wide[:-1] * 128 + wide[1:]  # (T,) raw byte pairs
    cells = torch.bincount(pair, minlength=128 * 128)
    nz = cells.nonzero().squeeze(1)
    keys = lut[nz // 128] * len(vocab) + lut[nz % 128]
    keys, order = torch.sort(keys)
    return keys, cells[nz][order]


def _top(corpus: Corpus, order: int, chunk_tokens: int) -> Iterator[Top]:
    """The order-N (keys, counts) of `corpus`, chunk by chunk (at least one table).

    Each chunk is a bigram stream of whole items holding about `chunk_tokens`
    tokens (Corpus.stream_pieces: a large corpus is encoded one chunk at a time),
    encoded and counted on threads.pool_size() threads, in order. In a weighted
    corpus every window counts its item's weight (Corpus.weighted_pieces).
    """
    V = len(corpus.vocab)

    def table(piece: Callable[[], torch.Tensor]) -> Top:
        return count_keys(stream_gram_keys(piece(), order, V), V**order)

    def weighted(piece: Callable[[], tuple[torch.Tensor, torch.Tensor]]) -> Top:
        stream, weights = piece()
        return count_keys(stream_gram_keys(stream, order, V), V**order, weights)

    workers = threads.pool_size()
    if corpus.weights is None:
        yield from threads.in_order(table, corpus.stream_pieces(chunk_tokens), workers)
    else:
        yield from threads.in_order(weighted, corpus.weighted_pieces(chunk_tokens), workers)


def _counted(corpus: Corpus, weighted: bool, remember: int) -> Provenance:
    """What counting `corpus` takes in: items, OOV items, weight, distinct kept items."""
    oov = corpus.oov.tolist()
    seen = None
    if remember:
        seen = frozenset(s for s, bad in zip(corpus.items, oov) if not bad)
    weight = int(corpus.item_weights.sum()) if weighted else 0
    return Provenance(len(corpus), 0, sum(oov), (), weight, seen, remember)


SUFFIX_SLICE = 2**18  # entries whose suffixes are summed at once (then merged as counts are)


def suffix_sums(keys: torch.Tensor, counts: torch.Tensor, space: int) -> Top:
    """sum_by_key(keys % space, counts, space) a slice of SUFFIX_SLICE entries at a time,
    the slices' tables merged as chunk tables are: the same integer sums, with a
    slice's sort temporaries instead of the whole table's (60 MiB at 1.26 M keys)."""
    if space <= BINCOUNT_LIMIT or len(keys) <= SUFFIX_SLICE:
        return sum_by_key(keys % space, counts, space)
    parts = (
        sum_by_key(k % space, c, space)
        for k, c in zip(keys.split(SUFFIX_SLICE), counts.split(SUFFIX_SLICE))
    )
    return merge_all(grouped(parts), merge_sorted)


def sum_by_key(keys: torch.Tensor, counts: torch.Tensor, space: int) -> Top:
    """(sorted distinct keys, summed counts) of unsorted keys in [0, space).

    sum_by_key(tensor([2, 0, 2]), tensor([1, 5, 3]), 3) == (tensor([0, 2]), tensor([5, 4])).
    """
    if space <= BINCOUNT_LIMIT:  # float64 sums are exact below 2^53
        hist = torch.bincount(keys, weights=counts.double(), minlength=space)
        uniq = hist.nonzero().squeeze(1)
        return uniq, hist[uniq].long()
    keys, order = torch.sort(keys)
    return sum_runs(keys, counts[order])
