"""Shared fixtures: the lecture's names.txt and small corpora."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NAMES = ROOT / "examples" / "names.txt"


@pytest.fixture(scope="session")
def names_path() -> Path:
    return NAMES


@pytest.fixture(scope="session")
def names() -> list[str]:
    return NAMES.read_text(encoding="utf-8").split()


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    """Run torch on one thread, as the CLI does: the suite's tensors are small, and
    on a busy 2-core machine intra-op threads slow them down many times over."""
    import torch

    torch.set_num_threads(1)
