"""A count table: the order-N counts of some items, with their vocabulary.

Only the top order is kept (sorted base-V int64 keys, context first, and
their counts, as in counts.py): every lower-order n-gram is a suffix of an
order-N window, so the counts of orders 1..N-1 are exact suffix sums of it,
derived once after the global merge (`ngram_counts`). Shipping and storing
the top order alone keeps shard results and files small.

    count (one shard) -> merge (any tree, any order) -> estimate (a backend)

`merge` is associative and commutative: integer counts of equal keys are
summed, nothing else, so any reduction tree gives the same table bit for
bit. Tables merge only when counted at the same order over the same
vocabulary; otherwise the keys would mean different n-grams.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..counts import NgramCounts, merge_sorted
from ..errors import NgramkitError

if TYPE_CHECKING:
    import torch

    from ..tokenizer import Vocabulary


class CountTableError(NgramkitError):
    """Count tables that cannot be merged, or a damaged or foreign count table file."""


@dataclass(frozen=True)
class CountTable:
    """Top-order counts of some items.

    keys: LongTensor [M], sorted unique base-V keys of the order-N windows.
    counts: LongTensor [M], how often each occurs (> 0).
    items: non-blank lines read; blank: blank lines skipped;
    oov: items left out for symbols outside `vocab` (0 when the vocabulary
        was collected from the same data).
    sources: where the items came from (file[start:end] shards), for reports.
    """

    vocab: Vocabulary
    order: int
    keys: torch.Tensor
    counts: torch.Tensor
    items: int = 0
    blank: int = 0
    oov: int = 0
    sources: tuple[str, ...] = ()

    @classmethod
    def count(
        cls, items: list[str], vocab: Vocabulary, order: int, *, blank: int = 0, source: str = ""
    ) -> CountTable:
        """Count `items` over `vocab`; items with other symbols are left out and counted."""
        full = NgramCounts.count_items(items, vocab, order)
        keys, counts = full.top()
        # Every kept item predicts the boundary (id 0) once: the unigram c(.) counts them.
        kept = int(full.counts[0][0]) if len(full.keys[0]) and int(full.keys[0][0]) == 0 else 0
        sources = (source,) if source else ()
        return cls(vocab, order, keys, counts, len(items), blank, len(items) - kept, sources)

    @property
    def tokens(self) -> int:
        """Predicted tokens counted: sum of (L + 1) over the kept items."""
        return int(self.counts.sum())

    def merge(self, other: CountTable) -> CountTable:
        """The table of both tables' items (see the module docstring)."""
        check_compatible(self, other)
        keys, counts = merge_sorted(self.keys, self.counts, other.keys, other.counts)
        return CountTable(
            self.vocab,
            self.order,
            keys,
            counts,
            self.items + other.items,
            self.blank + other.blank,
            self.oov + other.oov,
            tuple(sorted(self.sources + other.sources)),  # the same for any merge order
        )

    def ngram_counts(self) -> NgramCounts:
        """Counts of every order 1..N, derived from the top order."""
        return NgramCounts.from_top(self.keys, self.counts, len(self.vocab), self.order)


def merge_all(tables: Iterable[CountTable]) -> CountTable:
    """Merge tables pairwise, as a balanced tree: each key takes part in O(log n) merges."""
    level = list(tables)
    if not level:
        raise CountTableError("no count tables to merge")
    while len(level) > 1:
        pairs = [a.merge(b) for a, b in zip(level[::2], level[1::2])]
        level = pairs + ([level[-1]] if len(level) % 2 else [])
    return level[0]


def check_compatible(a: CountTable, b: CountTable, names: tuple[str, str] = ("", "")) -> None:
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


def _name(t: CountTable) -> str:
    return t.sources[0] if len(t.sources) == 1 else f"a table of {len(t.sources)} sources"


def _describe(v: Vocabulary) -> str:
    return f"{len(v)} {v.kind} tokens"
