"""The shipped makemore split (examples/makemore-split) is makemore's own."""

from __future__ import annotations

from pathlib import Path

import torch

SPLIT = Path(__file__).resolve().parents[1] / "examples" / "makemore-split"


def test_split_is_makemores_seeded_permutation(names: list[str]) -> None:
    """makemore.py: torch.manual_seed(3407), randperm, the last 1,000 names are test."""
    gen = torch.Generator().manual_seed(3407)  # the same stream as torch.manual_seed
    rp = torch.randperm(len(names), generator=gen).tolist()
    test = (SPLIT / "test.txt").read_text(encoding="utf-8").split("\n")[:-1]
    train = (SPLIT / "train.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert test == [names[i] for i in rp[-1000:]]
    assert train == [names[i] for i in rp[:-1000]]
