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
