"""The two tasks a worker runs on one shard: list its symbols, count its n-grams.

Both are plain module-level functions of picklable arguments, so a local
process pool and a Dask cluster run them alike (the worker imports ngramkit
and reads the shard's file itself: only the byte range travels).
"""

from __future__ import annotations

from ..counts import NgramCounts
from ..model import SEEN_LIMIT
from ..normalize import Normalization
from ..reader import Shard, read_shard
from ..tokenizer import Vocabulary, split_symbols


def shard_symbols(
    shard: Shard, kind: str, rule: Normalization
) -> tuple[frozenset[str], dict[str, int]]:
    """(the distinct symbols of a shard's items under `rule`, items each rule part
    changed) (the cheap first pass). The counts are the resolved rule's too: an
    "auto" part resolves to a change only where it changes no symbol, so it counts 0."""
    items, changed = rule.counted(read_shard(shard).items)
    if kind == "char":
        return frozenset(Vocabulary.build(items, "char", normalization=rule).symbols), changed
    return frozenset(s for item in items for s in split_symbols(item, kind)), changed


def count_shard(shard: Shard, vocab: Vocabulary, order: int) -> NgramCounts:
    """The counts of a shard's items over the agreed vocabulary."""
    text = read_shard(shard)
    return NgramCounts.count_items(
        text.items,
        vocab,
        order,
        blank=text.blank,
        source=str(shard),
        weights=text.weights,
        remember=SEEN_LIMIT,  # the distinct items, for "in training" marks
    )
