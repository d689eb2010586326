"""Fitting a smoothed model: discounts given, estimated or tuned, then tables.

`fit_tables` is what the count backend calls for kn, mkn, wb and abs;
`held_out` cuts the dev parts that it and addk.tune_k tune on, from the
training items they are given (never from anything else).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .. import memory
from ..corpus import Corpus
from ..counts import NgramCounts, subtract_counts
from ..data import train_val_split
from ..errors import NgramkitError, OptionError
from ..keys import key_digits
from ..memory import release
from ..options import LECTURE_SEED
from .backoff import BackoffTables
from .discounts import estimate as estimate_discounts
from .discounts import per_order
from .interpolate import estimate, locate
from .levels import build_levels, level_counts
from .methods import Method
from .tune import tune_discounts

DEV_SEED = LECTURE_SEED  # the split seed ngramkit uses everywhere by default

# Peak bytes the estimate, the training NLL and the save add to what the process holds
# once the counts to discount are found: the tables, per stored n-gram of all orders,
# and a fixed part (one run of contexts' temporaries, one tensor narrowed for the file).
# Measured on the stdlib corpus with mkn: 66 MiB for 1.94 M n-grams at order 5, 257 MiB
# for 11.6 M at order 8; with a margin (10 and 40 MiB), what `--memory` checks first.
BACKOFF_BYTES = 24
BACKOFF_FIXED = 32 * 2**20


def held_out(
    corpus: Corpus, whole: NgramCounts, folds: int, dev_fraction: float
) -> list[tuple[NgramCounts, NgramCounts]]:
    """(counts of the rest, counts of the held-out items) per held-out part of
    `corpus`, whose counts (of the order to tune) are `whole`.

    folds 1: one seeded dev split of `dev_fraction` (data.train_val_split).
    folds K >= 2: K-fold cross-validation: a seeded permutation deals the items into K
    folds (item perm[j] to fold j % K); each fold is held out from the counts
    of the other K - 1, so every item is scored once, by counts that did not
    see it. Tuning on all of them is steadier than on one split: a small dev
    set lets the discounts of a high order drift to fit its few tokens.
    The held-out items are kept as their order-N counts: each distinct
    n-gram is scored once and weighted by its count. Only the held-out items
    are counted: the rest is `whole` minus them (counts add over items).
    """
    items = [s for s, bad in zip(corpus.items, corpus.oov.tolist()) if not bad]
    if folds == 1:
        n_dev = round(len(items) * dev_fraction)
        if n_dev == 0 or n_dev >= len(items):
            raise NgramkitError(
                f"too few training items ({len(items)}) to cut a dev set of {dev_fraction:g} "
                "for tuning; give more data or fixed values"
            )
        _, dev = train_val_split(items, dev_fraction, DEV_SEED)
        return [_rest(corpus, whole, dev)]
    if len(items) < folds:
        raise NgramkitError(
            f"too few training items ({len(items)}) for {folds}-fold tuning; "
            "give more data, fewer --folds or fixed values"
        )
    perm = torch.randperm(len(items), generator=torch.Generator().manual_seed(DEV_SEED))
    fold_of = torch.empty(len(items), dtype=torch.long)
    fold_of[perm] = torch.arange(len(items)) % folds  # (N,) the fold of each item
    flags = fold_of.tolist()
    return [_rest(corpus, whole, [s for s, g in zip(items, flags) if g == f]) for f in range(folds)]


def _rest(corpus: Corpus, whole: NgramCounts, dev: list[str]) -> tuple[NgramCounts, NgramCounts]:
    """(whole minus the counts of `dev`, the counts of `dev`)."""
    held = NgramCounts.count(Corpus.from_items(dev, corpus.vocab), whole.order)
    return subtract_counts(whole, held), held


def fit_tables(
    method: Method,
    corpus: Corpus | None,
    counts: NgramCounts,
    *,
    discount: Sequence[float] | None = None,
    tune: bool = False,
    folds: int = 1,
    dev_fraction: float = 0.1,
    unk_mass: float = 0.0,
) -> tuple[BackoffTables, dict[str, Any]]:
    """(backoff tables, learned facts) of `method` on `counts` of `corpus`.

    `corpus` (the items counted) is needed only to tune (see held_out);
    `unk_mass` > 0 mixes the unknown token's singleton share into every row
    (BackoffTables.with_unk_mass).
    """
    N, V = counts.order, counts.vocab_size
    if method.min_order > N:
        why = f"needs order >= {method.min_order} (at order 1 Kneser-Ney has no lower order"
        raise OptionError(
            f"smooth={method.name!r} {why} to back off to; use 'abs' or 'wb')",
            cli=f"--smooth {method.name} {why} to back off to; use abs or wb)",
        )
    if tune and method.n_discounts == 0:
        raise OptionError.named(f"<tune>: {method.name} ({method.title}) has no discount to tune")
    if tune and discount is not None:
        raise OptionError.named("<discount> and <tune>: give discounts or tune them, not both")
    given = per_order(method, discount, N) if discount is not None else None
    stages = level_counts(counts, method.continuation)
    release()  # the lower orders' sums and merges, freed into the heap, back to the system
    ngrams = sum(len(keys) for keys, _ in stages)  # every order's stored n-grams
    need = BACKOFF_BYTES * ngrams + BACKOFF_FIXED
    memory.require(need, f"the estimate of {ngrams:,} n-grams")
    learned: dict[str, Any] = {"method": method.name}
    if tune:
        assert corpus is not None, "smoothing.estimate refuses to tune on counts alone"
        parts = []
        for train, dev in held_out(corpus, counts, folds, dev_fraction):
            sub = build_levels(train, method.continuation)
            keys, weight = dev.top()  # (U,) distinct held-out n-grams and their counts
            grams = key_digits(keys, V, N)  # (U, N)
            parts.append((sub, locate(sub, V, grams[:, :-1], grams[:, -1]), weight.double()))
        start = [estimate_discounts(method, level.counts) for level in parts[0][0]]
        given, learned["dev_nll"] = tune_discounts(method, parts, V, start)
        del parts
    tables, used = estimate(method, stages, given, V)
    learned["discounts"] = [list(row) for row in used]
    release()  # the estimate's temporaries back to the system, not kept for the next stage
    if unk_mass > 0:
        learned["unk_mass"] = unk_mass
        tables = tables.with_unk_mass(unk_mass)
    return tables, learned
