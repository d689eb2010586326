"""Sharded counting, end to end: symbols -> count -> merge, on any engine.

The vocabulary is agreed up front: a first, cheap pass lists every shard's
symbols (a bincount of code points per shard for the char tokenizer), the
client takes their union and builds the one Vocabulary every shard then
counts with. So all shard tables share one key space and merge without any
re-mapping; the price is reading the input twice (the first pass does no
tokenizing or counting). The union is exactly what Vocabulary.build finds on
all items at once, so the model is the single-process model, bit for bit; the
normalization rule's "auto" parts are resolved from that union as a one-process
fit resolves them, and every shard counts its items under the resolved rule.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..counts import NgramCounts
from ..keys import check_order
from ..model import Progress
from ..normalize import DEFAULT, Normalization
from ..reader import require_items
from ..tabular import ListFormat
from ..tokenizer import Vocabulary, pick_boundary
from .engines import InProcess
from .shards import Shard, plan
from .tasks import count_shard, shard_symbols


@dataclass(frozen=True)
class CountRun:
    """A merged count table and how it was made (seconds per stage)."""

    table: NgramCounts
    shards: list[Shard]
    seconds: dict[str, float] = field(default_factory=dict)  # symbols, count, merge
    normalized: dict[str, int] | None = None  # items each rule part changed (None: not known)


def agree_vocab(
    engine: InProcess,
    shards: list[Shard],
    kind: str,
    rule: Normalization = DEFAULT,
) -> tuple[Vocabulary, dict[str, int]]:
    """(the vocabulary of all shards' items: the union of their symbol sets under
    `rule`, the items each part of the rule changed, summed over the shards)."""
    seen: set[str] = set()
    changed = {"form": 0, "case": 0, "accents": 0}
    for symbols, counts in engine.map(shard_symbols, [(s, kind, rule) for s in shards]):
        seen |= symbols
        changed = {k: changed[k] + counts[k] for k in changed}
    ordered = tuple(sorted(seen))
    resolved = rule.resolve(ordered)
    return Vocabulary(kind, ordered, pick_boundary(ordered), normalization=resolved), changed


def count_files(
    paths: list[str],
    order: int,
    engine: InProcess,
    *,
    n_shards: int | None = None,
    kind: str = "char",
    vocab: Vocabulary | None = None,
    normalization: Normalization = DEFAULT,
    progress: Progress | None = None,
    count: Callable[..., Any] = count_shard,
    unk: bool = False,
    fmt: ListFormat | None = None,
) -> CountRun:
    """Count `paths` cut into about `n_shards` byte-range shards (default one per file).

    With no `vocab`, one is agreed from the data first (see the module
    docstring; `normalization` is the rule); items with symbols outside a given
    `vocab` (under its own rule) are left out and counted in
    `table.provenance.oov`. `count` is the shard task (a test swaps in one that
    kills its worker). `unk`: the agreed vocabulary gets the unknown token
    (tokenizer.py). fmt: the lists' columns (tabular.py).
    """
    shards = plan(paths, n_shards or len(paths), fmt)
    clock = time.perf_counter()
    seconds: dict[str, float] = {}
    changed = None  # a given vocabulary: no first pass, changes not counted
    if vocab is None:
        agreed, changed = agree_vocab(engine, shards, kind, normalization)
        vocab = replace(agreed, unk=unk)
        seconds["symbols"] = time.perf_counter() - clock
    check_order(order, len(vocab))
    clock = time.perf_counter()
    handles = []
    for handle in engine.map_handles(count, [(s, vocab, order) for s in shards]):
        handles.append(handle)
        if progress is not None:
            progress(len(handles), len(shards), shards="counted")
    seconds["count"] = time.perf_counter() - clock
    clock = time.perf_counter()
    table = engine.merge(handles)
    seconds["merge"] = time.perf_counter() - clock
    require_items(", ".join(paths), table.provenance.items, table.provenance.blank)
    table = replace(table, provenance=replace(table.provenance, normalized=changed))
    return CountRun(table, shards, seconds, changed)
