"""Run torch on one thread: the tensors here are tiny, and on a busy machine
torch's worker threads make them many times slower."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    import torch

    torch.set_num_threads(1)
