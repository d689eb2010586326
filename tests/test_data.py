"""data.py: the seeded train/validation split and the training-data fingerprint."""

from __future__ import annotations

import pytest

from ngramkit.data import train_val_split
from ngramkit.errors import OptionError


def test_split_is_seeded_and_complete() -> None:
    items = [f"w{i}" for i in range(1000)]
    train, val = train_val_split(items, 0.1, seed=3)
    assert len(val) == 100 and len(train) == 900
    assert sorted(train + val) == sorted(items)
    assert train_val_split(items, 0.1, seed=3) == (train, val)
    assert train_val_split(items, 0.1, seed=4) != (train, val)
    assert train_val_split(items, 0.0, seed=3) == (items, [])
    with pytest.raises(OptionError, match=r"^val_fraction must be in \[0, 1\), got 1$"):
        train_val_split(items, 1.0, seed=3)
