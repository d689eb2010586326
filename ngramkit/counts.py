"""The count table: how often each n-gram of orders 1..N occurs. Mergeable.

An n-gram of k tokens is stored as one base-V int64 key (keys.py). Keys of
each order are sorted and unique, with their counts alongside, so the table grows with
the distinct n-grams seen, never with V^N.

Counts of ["ab", "b"] at order 2 (V=3: . a b): (.,a)=1 (a,b)=1 (b,.)=2 (.,b)=1.

Counting is count (one shard) -> merge (any number, any order) -> estimate
(done by a backend); `merge` is associative and commutative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import NgramkitError
from .keys import check_order

if TYPE_CHECKING:
    from collections.abc import Iterable

    import torch

    from .corpus import Corpus
    from .tokenizer import Vocabulary

CHUNK_TOKENS = 2**20  # symbols counted per chunk before merging
BINCOUNT_LIMIT = 2**20  # key spaces up to this size are counted without sorting


def count_keys(keys: torch.Tensor, space: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(sorted distinct keys, their counts) of int64 keys in [0, space).

    A small key space is counted with bincount (no sort); a large one sorts.
    count_keys(tensor([3, 1, 3]), 4) == (tensor([1, 3]), tensor([1, 2])).
    """
    import torch

    if space <= BINCOUNT_LIMIT:
        hist = torch.bincount(keys, minlength=space)  # (space,)
        uniq = hist.nonzero().squeeze(1)
        return uniq, hist[uniq]
    return torch.unique(keys, sorted=True, return_counts=True)


def merge_sorted(
    ka: torch.Tensor, ca: torch.Tensor, kb: torch.Tensor, cb: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Union of two sorted unique key arrays, counts of equal keys summed.

    A merge, not a sort: each key's place in the output is its own index plus
    how many keys of the other array go before it (equal keys of `kb` after
    those of `ka`), found by binary search; equal neighbours are then summed.
    """
    import torch

    pa = torch.searchsorted(kb, ka) + torch.arange(len(ka))
    pb = torch.searchsorted(ka, kb, right=True) + torch.arange(len(kb))
    n = len(ka) + len(kb)
    keys = torch.empty(n, dtype=torch.long)
    cnt = torch.empty(n, dtype=torch.long)
    keys[pa], keys[pb] = ka, kb
    cnt[pa], cnt[pb] = ca, cb
    return sum_runs(keys, cnt)


def sum_runs(keys: torch.Tensor, counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted keys with repeats -> (distinct keys, summed counts), in one pass."""
    import torch

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
class NgramCounts:
    """Counts of every n-gram of orders 1..order.

    keys[k-1]: sorted unique int64 keys of the k-grams (the k-token suffixes
        of the order-N windows, which are exactly the order-k windows).
    counts[k-1]: int64 counts aligned with keys[k-1].
    """

    vocab_size: int
    order: int
    keys: tuple[torch.Tensor, ...]
    counts: tuple[torch.Tensor, ...]

    @classmethod
    def count(cls, corpus: Corpus, order: int, chunk_tokens: int = CHUNK_TOKENS) -> NgramCounts:
        """Count the n-grams of every order up to `order` in `corpus`.

        Items are counted in chunks of about `chunk_tokens` symbols. Only the
        top order is counted per chunk and merged: every lower-order n-gram is
        a suffix of an order-N window, so its count is the sum over the
        merged top-order table (`from_top`). Memory follows the distinct
        n-grams, not the corpus length times the order.
        """
        check_order(order, len(corpus.vocab))
        fast = _ascii_bigrams(corpus, chunk_tokens) if order == 2 else None
        if fast is not None:
            return cls.from_top(*fast, len(corpus.vocab), order)
        stack = _MergeStack()
        _push_top(stack, corpus, order, chunk_tokens)
        keys, counts = stack.result()
        return cls.from_top(keys, counts, len(corpus.vocab), order)

    @classmethod
    def count_items(
        cls, items: Iterable[str], vocab: Vocabulary, order: int, chunk_tokens: int = CHUNK_TOKENS
    ) -> NgramCounts:
        """Count raw items chunk by chunk: only one chunk is ever encoded at once.

        Items with symbols outside `vocab` are skipped (as a Corpus marks them
        OOV). The same table as `count(Corpus.from_items(items, vocab), order)`.
        """
        from .corpus import Corpus

        check_order(order, len(vocab))
        stack = _MergeStack()
        chunk: list[str] = []
        size = 0
        for item in items:
            chunk.append(item)
            size += len(item) + 1
            if size >= chunk_tokens:
                _push_top(stack, Corpus.from_items(chunk, vocab), order, chunk_tokens)
                chunk, size = [], 0
        _push_top(stack, Corpus.from_items(chunk, vocab), order, chunk_tokens)
        keys, counts = stack.result()
        return cls.from_top(keys, counts, len(vocab), order)

    @classmethod
    def from_top(
        cls, keys: torch.Tensor, counts: torch.Tensor, vocab_size: int, order: int
    ) -> NgramCounts:
        """All orders from the order-N counts: c(g) = sum of c(G) over G ending in g.

        from_top of (.,a)=1 (a,b)=1 (b,.)=2 (.,b)=1 (V=3, order 2) adds the
        unigrams a=1, b=2, .=2 (the predicted tokens).
        """
        V = vocab_size
        out_keys, out_counts = [keys], [counts]
        for k in range(order - 1, 0, -1):
            suffix_keys, suffix_counts = sum_by_key(keys % V**k, counts, V**k)
            out_keys.insert(0, suffix_keys)
            out_counts.insert(0, suffix_counts)
        return cls(V, order, tuple(out_keys), tuple(out_counts))

    @classmethod
    def from_windows(cls, grams: torch.Tensor, vocab_size: int) -> NgramCounts:
        """Counts of the k-suffixes (k = 1..order) of the windows `grams` [T, order]."""
        import torch

        V, order = vocab_size, grams.shape[1]
        keys: list[torch.Tensor] = []
        counts: list[torch.Tensor] = []
        key = torch.zeros(len(grams), dtype=torch.long)
        scale = 1
        for k in range(1, order + 1):  # the suffix grows leftwards
            key += grams[:, order - k] * scale
            scale *= V
            uniq, cnt = count_keys(key, scale)
            keys.append(uniq)
            counts.append(cnt)
        return cls(V, order, tuple(keys), tuple(counts))

    def top(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(keys, counts) of the highest order."""
        return self.keys[-1], self.counts[-1]

    @property
    def total(self) -> int:
        """Predicted tokens counted (every order sees each token once)."""
        return int(self.counts[0].sum())

    def merge(self, other: NgramCounts) -> NgramCounts:
        """Sum of two tables over the same vocabulary and order."""

        if (self.vocab_size, self.order) != (other.vocab_size, other.order):
            raise NgramkitError(
                f"cannot merge counts of order {self.order} over {self.vocab_size} tokens "
                f"with counts of order {other.order} over {other.vocab_size} tokens"
            )
        keys, counts = [], []
        for ka, ca, kb, cb in zip(self.keys, self.counts, other.keys, other.counts):
            k, c = merge_sorted(ka, ca, kb, cb)
            keys.append(k)
            counts.append(c)
        return NgramCounts(self.vocab_size, self.order, tuple(keys), tuple(counts))


def subtract_counts(whole: NgramCounts, part: NgramCounts) -> NgramCounts:
    """`whole` minus `part`, where `part` counts some of the items `whole` counted.

    Counts add over items (an item's windows depend on that item alone), so
    this is exactly the table of the other items: n-grams left at 0 are dropped.
    """
    import torch

    if (whole.vocab_size, whole.order) != (part.vocab_size, part.order):
        raise NgramkitError("cannot subtract counts of another vocabulary or order")
    keys, counts = [], []
    for kw, cw, kp, cp in zip(whole.keys, whole.counts, part.keys, part.counts):
        at = torch.searchsorted(kw, kp)
        if len(kp) and (bool((at >= len(kw)).any()) or not torch.equal(kw[at], kp)):
            raise NgramkitError("cannot subtract counts of n-grams the table lacks")
        left = cw.clone()
        left[at] -= cp
        if bool((left < 0).any()):
            raise NgramkitError("cannot subtract more of an n-gram than the table counts")
        keep = left > 0
        keys.append(kw[keep])
        counts.append(left[keep])
    return NgramCounts(whole.vocab_size, whole.order, tuple(keys), tuple(counts))


class _MergeStack:
    """Merges (keys, counts) chunk tables pairwise, as merge sort does, so each
    n-gram takes part in O(log chunks) merges, not one per chunk."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, torch.Tensor, torch.Tensor]] = []  # (chunks, keys, counts)

    def push(self, keys: torch.Tensor, counts: torch.Tensor) -> None:
        size = 1
        while self.stack and self.stack[-1][0] == size:
            n, ka, ca = self.stack.pop()
            keys, counts = merge_sorted(ka, ca, keys, counts)
            size += n
        self.stack.append((size, keys, counts))

    def result(self) -> tuple[torch.Tensor, torch.Tensor]:
        _, keys, counts = self.stack.pop()
        while self.stack:
            _, ka, ca = self.stack.pop()
            keys, counts = merge_sorted(ka, ca, keys, counts)
        return keys, counts


def _ascii_bigrams(corpus: Corpus, limit: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Bigram (keys, counts) straight from the bytes of a small ASCII char corpus, or None.

    The lecture's case (names, identifiers): the items joined by newlines are
    the bigram stream already, with byte 10 as the boundary, so the pairs of
    adjacent bytes are counted with one bincount over 128 x 128 cells and
    only the cells seen are mapped to token ids; no per-character lookup.
    None (use the general path) for other vocabularies, corpora over `limit`
    characters, items holding a newline, or symbols outside the vocabulary.
    """
    import torch

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
        1, len(vocab)
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


def _push_top(stack: _MergeStack, corpus: Corpus, order: int, chunk_tokens: int) -> None:
    """Push the order-N counts of `corpus`, chunk by chunk (at least one table).

    Each chunk is a bigram stream of whole items holding about `chunk_tokens`
    tokens (Corpus.stream_chunks: a large corpus is encoded one chunk at a time).
    """
    from .keys import stream_gram_keys

    V = len(corpus.vocab)
    for piece in corpus.stream_chunks(chunk_tokens):
        stack.push(*count_keys(stream_gram_keys(piece, order, V), V**order))


def sum_by_key(
    keys: torch.Tensor, counts: torch.Tensor, space: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(sorted distinct keys, summed counts) of unsorted keys in [0, space).

    sum_by_key(tensor([2, 0, 2]), tensor([1, 5, 3]), 3) == (tensor([0, 2]), tensor([5, 4])).
    """
    import torch

    if space <= BINCOUNT_LIMIT:  # float64 sums are exact below 2^53
        hist = torch.bincount(keys, weights=counts.double(), minlength=space)
        uniq = hist.nonzero().squeeze(1)
        return uniq, hist[uniq].long()
    keys, order = torch.sort(keys)
    return sum_runs(keys, counts[order])
