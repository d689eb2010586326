"""report/decide.py: the terminal histogram and ROC plot, rendered at 80 columns."""

from __future__ import annotations

import io
import random
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from ngramkit import CountLM
from ngramkit.cli import cli
from ngramkit.persist import save
from ngramkit.report.decide import BLOCKS, histogram, roc_plot


def render(renderable: object, width: int = 80) -> str:
    con = Console(file=io.StringIO(), width=width, color_system=None)
    con.print(renderable)
    return con.file.getvalue()


def bar_eighths(line: str) -> int:
    """The bar's length in eighths of a cell, read back from its block characters."""
    return sum(8 if ch == "█" else BLOCKS.index(ch) for ch in line if ch in BLOCKS[1:])


def test_histogram_counts_match_a_plain_loop() -> None:
    rng = random.Random(1)
    xs = [rng.gauss(0, 1) for _ in range(500)] + [float("nan"), float("inf")]
    text = render(histogram(xs, "x", bins=10, width=40))
    lines = text.splitlines()[1:11]
    finite = [x for x in xs if abs(x) != float("inf") and x == x]
    lo, hi = min(finite), max(finite)
    step = (hi - lo) / 10
    want = [0] * 10
    for x in finite:
        want[min(int((x - lo) / step), 9)] += 1
    assert [int(line.split()[-1].replace(",", "")) for line in lines] == want
    top = max(want)
    for line, n in zip(lines, want):
        assert bar_eighths(line) == round(8 * 40 * n / top)
    assert max(map(len, text.splitlines())) <= 80


def test_histogram_of_nothing_and_of_one_value() -> None:
    assert "no finite values" in render(histogram([], "x"))
    one = render(histogram([2.0, 2.0], "x", bins=3)).splitlines()
    assert one[1].split()[-1] == "2"


def test_roc_plot_draws_the_curve_and_the_diagonal() -> None:
    text = render(roc_plot([(0.0, 0.0, 0.0), (1.0, 0.0, 1.0), (2.0, 1.0, 1.0)], size=8))
    rows = text.splitlines()
    assert rows[1].startswith("1.0 │█")  # TPR 1 at FPR 0: the top-left corner
    assert "·" in text and max(map(len, rows)) <= 80


def test_eval_hist(tmp_path: Path, names: list[str]) -> None:
    model = tmp_path / "m.ngk"
    save(CountLM(order=2, smooth=1).fit(names[:2000]), model)
    words = tmp_path / "w.txt"
    words.write_text("\n".join(names[2000:2500]) + "\n")
    r = CliRunner().invoke(
        cli, ["eval", str(model), str(words), "--hist", "--top", "3"], env={"COLUMNS": "80"}
    )
    assert r.exit_code == 0, r.stderr
    assert "NLL per item (nats/token), all items" in r.stdout
    counts = [
        int(line.split()[-1].replace(",", ""))
        for line in r.stdout.split("all items")[1].strip().splitlines()
    ]
    assert sum(counts) == 500  # every item, not only the 3 shown
    r = CliRunner().invoke(cli, ["eval", str(model), str(words), "--hist", "--json"])
    assert r.exit_code == 2 and "--hist draws in the table report" in r.stderr
