"""Every example script runs and prints what its docstring promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.fixture(scope="module")
def run_example(tmp_path_factory: pytest.TempPathFactory):
    """Run an example once per module, in a fresh folder: (completed process, folder)."""
    done: dict[str, tuple[subprocess.CompletedProcess[str], Path]] = {}

    def run(name: str) -> tuple[subprocess.CompletedProcess[str], Path]:
        if name not in done:
            folder = tmp_path_factory.mktemp(name.removesuffix(".py"))
            script = next(p for p in EXAMPLES if p.name == name)
            out = subprocess.run(
                [sys.executable, str(script)],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=300,
            )
            done[name] = (out, folder)
        return done[name]

    return run


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script: Path, run_example) -> None:
    out, _ = run_example(script.name)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()


def test_lecture_example_figures(run_example) -> None:
    out, _ = run_example("lecture_bigram.py")
    assert "smooth=0: NLL 2.4540 nats over 228,146 tokens" in out.stdout
    assert "smooth=1: NLL 2.4546 nats over 228,146 tokens" in out.stdout
    assert "['cexze', 'momasurailezitynn', 'konimittain', 'llayn', 'ka']" in out.stdout


def test_smoothing_example_figures(run_example) -> None:
    done, folder = run_example("smoothing.py")
    out = done.stdout
    table = [line.split() for line in out.split("\n")]
    rows = {int(r[0]): [float(x) for x in r[1:]] for r in table if len(r) == 5 and r[0].isdigit()}
    assert sorted(rows) == [2, 3, 4, 5, 6]
    for order in range(3, 7):  # above bigrams: Kneser-Ney beats add-1, tuned mkn beats both KNs
        add1, kn, mkn, tuned = rows[order]
        assert tuned < min(kn, mkn) and max(kn, mkn) < add1
    assert "best: order 6, smooth mkn, tune True: validation NLL 1.9579" in out
    gap = float(out.split("on 500 names ")[1].split()[0])
    assert gap < 1e-5 and (folder / "best.arpa").exists()
