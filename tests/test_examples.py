"""Every example script runs and prints what its docstring promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()


def test_lecture_example_figures() -> None:
    script = next(p for p in EXAMPLES if p.name == "lecture_bigram.py")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert "smooth=0: NLL 2.4540 nats over 228,146 tokens" in out.stdout
    assert "smooth=1: NLL 2.4546 nats over 228,146 tokens" in out.stdout
    assert "['cexze', 'momasurailezitynn', 'konimittain', 'llayn', 'ka']" in out.stdout
