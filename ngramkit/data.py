"""What is done with a word list once read (reader.py): its fingerprint, its seeded split."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

import torch

from .errors import OptionError

T = TypeVar("T")


def fingerprint(items: Sequence[str], weights: Sequence[int] | None = None) -> str:
    """sha256 of the items, each followed by a newline: identifies training data.

    A weighted list hashes each item as "item<TAB>weight" (its line as written).
    """
    h = hashlib.sha256(b"" if items else b"\n")  # no items: one newline, as "\n".join gives
    for i in range(0, len(items), 65_536):  # a chunk at a time: no copy of a large corpus
        part = items[i : i + 65_536]
        if weights is not None:
            part = [f"{s}\t{w}" for s, w in zip(part, weights[i : i + 65_536])]
        h.update(("\n".join(part) + "\n").encode("utf-8"))
    return h.hexdigest()


def train_val_split(items: Sequence[T], val_fraction: float, seed: int) -> tuple[list[T], list[T]]:
    """Seeded train/validation split; both parts keep file order.

    round(N * val_fraction) items, chosen by torch.randperm with `seed`, go to
    validation. val_fraction 0 trains on everything.
    """
    if not 0 <= val_fraction < 1:
        raise OptionError.named(f"<val_fraction> must be in [0, 1), got {val_fraction:g}")
    n_val = round(len(items) * val_fraction)
    if n_val == 0:
        return list(items), []
    if n_val >= len(items):
        raise OptionError.named(
            f"<val_fraction> {val_fraction:g} leaves no training items out of {len(items)}"
        )
    perm = torch.randperm(len(items), generator=torch.Generator().manual_seed(seed))
    is_val = torch.zeros(len(items), dtype=torch.bool)
    is_val[perm[:n_val]] = True
    flags = is_val.tolist()
    train = [s for s, v in zip(items, flags) if not v]
    val = [s for s, v in zip(items, flags) if v]
    return train, val
