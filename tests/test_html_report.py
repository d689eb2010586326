"""The HTML report (`--html FILE`): built by each command, opened in a real headless Chromium.

The browser tests share one Chromium (a module fixture) and skip where none is
installed (.ci/run installs Debian's). Each page must load with no exception,
console error or CSP violation, ask for nothing but its own file, hold its
tables and figures, sort its item table on a click, draw something (a
screenshot that is not blank) and fit a phone's width without the page itself
scrolling sideways (wide tables scroll inside their own box).
"""

from __future__ import annotations

import os
import random
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser import Browser, find_chromium, ink
from click.testing import CliRunner

from ngramkit.cli import cli

LAPTOP, PHONE = 1366, 390  # CSS pixels
HOSTILE = "<b>bold</b>&amp;"  # an item that must show as text, never as markup


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": "80"})
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory, names: list[str]) -> dict[str, Path]:
    """Every command's report, from small lists cut from names.txt and gibberish."""
    d = tmp_path_factory.mktemp("html")
    rng = random.Random(0)
    pool = names[:]
    rng.shuffle(pool)
    train, real, test = pool[:4000], pool[4000:4600], pool[4600:4700]
    letters = "abcdefghijklmnopqrstuvwxyz"
    bad = ["".join(rng.choice(letters) for _ in w) for w in real]
    lists = {"train": train, "real": real, "bad": bad, "test": [*test, HOSTILE, "zoë"]}
    for name, items in lists.items():
        (d / f"{name}.txt").write_text("\n".join(items) + "\n", encoding="utf-8")
    (d / "gib.txt").write_text("\n".join(bad[:400]) + "\n")
    out = {k: d / f"{k}.html" for k in ("fit", "show", "eval", "compare", "classify", "threshold")}
    commands = [
        ("fit", d / "train.txt", "-o", d / "bi.ngk", "--html", out["fit"]),
        ("fit", d / "train.txt", "--order", "3", "-o", d / "tri.ngk"),
        ("fit", d / "gib.txt", "-o", d / "gib.ngk"),
        ("show", d / "bi.ngk", "--html", out["show"]),
        ("eval", d / "bi.ngk", d / "test.txt", "--html", out["eval"]),
        ("compare", d / "bi.ngk", d / "tri.ngk", "--on", d / "test.txt", "--coverage",
         "--samples", "500", "--bootstrap", "100", "--html", out["compare"]),
        ("classify", "--model", f"name={d / 'bi.ngk'}", "--model", f"gib={d / 'gib.ngk'}",
         "--labeled", f"name={d / 'test.txt'}", "--labeled", f"gib={d / 'bad.txt'}",
         "--html", out["classify"]),
        ("threshold", d / "bi.ngk", "--real", d / "real.txt", "--bad", d / "bad.txt",
         "--fpr", "0.05", "--html", out["threshold"]),
    ]  # fmt: skip
    for args in commands:
        code, _, err = run(*args)
        assert code == 0, (args, err)
    return out


# -- without a browser: the file itself ------------------------------------


class Refs(HTMLParser):
    """Every tag, and every attribute that could fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.refs += [f"{tag} {k}={v}" for k, v in attrs if k in ("src", "href", "srcset")]


@pytest.mark.parametrize("name", ["fit", "show", "eval", "compare", "classify", "threshold"])
def test_self_contained(pages: dict[str, Path], name: str) -> None:
    """No src/href anywhere, no <link>, a CSP that fetches nothing, and small."""
    text = pages[name].read_text(encoding="utf-8")
    p = Refs()
    p.feed(text)
    assert p.refs == [] and "link" not in p.tags and "iframe" not in p.tags
    assert "default-src 'none'" in text
    assert text.startswith("<!DOCTYPE html>")
    assert len(text) < 400_000


def test_heatmap_is_whole(pages: dict[str, Path]) -> None:
    """The 27x27 matrix with every column (the terminal export lost m..z), counts exact."""
    text = pages["show"].read_text(encoding="utf-8")
    heat = text[text.index('<table class="heat">') :]
    heat = heat[: heat.index("</table>")]
    assert heat.count("<td") == 27 * 27
    for col in "amz":
        assert f"<th>{col}</th>" in heat
    assert "<b>.e</b>" in heat and "<b>zz</b>" in heat


def test_hostile_item_is_text(pages: dict[str, Path]) -> None:
    text = pages["eval"].read_text(encoding="utf-8")
    assert "&lt;b&gt;bold&lt;/b&gt;&amp;amp;" in text and "<b>bold</b>" not in text


# -- bad targets: one line, non-zero exit, nothing written ------------------


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, names: list[str]) -> Path:
    """A bigram of 2,000 names, outside the tests' own folders."""
    d = tmp_path_factory.mktemp("model")
    (d / "n.txt").write_text("\n".join(names[:2000]) + "\n")
    assert run("fit", d / "n.txt", "-o", d / "m.ngk")[0] == 0
    return d / "m.ngk"


def test_bad_targets(tmp_path: Path, model: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    cases = [
        (tmp_path / "missing" / "r.html", "folder"),
        (tmp_path, "it is a directory"),
        (fifo, "not a regular file"),
    ]
    for target, why in cases:
        code, out, err = run("show", model, "--html", target)
        assert code != 0 and why in err and len(err.strip().splitlines()) == 1, err
        assert out == "" and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_unwritable_folder(tmp_path: Path, model: Path, monkeypatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, m: False if Path(p) == locked else real_access(p, m)
    )
    code, _, err = run("show", model, "--html", locked / "r.html")  # root may write anywhere
    assert code != 0 and "is not writable" in err and list(locked.iterdir()) == []


def test_atomic_write(tmp_path: Path, model: Path, monkeypatch) -> None:
    """A disk filling up mid-write leaves the old report whole and no temporary file."""
    target = tmp_path / "r.html"
    target.write_text("old")

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    code, _, err = run("show", model, "--html", target)
    assert code != 0 and "No space left" in err and target.read_text() == "old"
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]
    assert run("show", model, "--html", target)[0] == 0
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_nothing_written_when_the_run_fails(tmp_path: Path, model: Path) -> None:
    target = tmp_path / "r.html"
    code, _, err = run("eval", model, tmp_path / "absent.txt", "--html", target)
    assert code != 0 and "absent.txt" in err and not target.exists()


# -- in Chromium ------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Browser:
    exe = find_chromium()
    if exe is None:
        pytest.skip("no Chromium on PATH (apt-get install chromium)")
    b = Browser(exe)
    yield b
    b.close()


@pytest.fixture(scope="module")
def shots() -> Path | None:
    """Where full-size screenshots go for a person to look at: $NGRAMKIT_SHOTS, if set."""
    keep = os.environ.get("NGRAMKIT_SHOTS")
    return Path(keep) if keep else None


CHECKS = {  # page -> JavaScript that counts what must be there, and the least count
    "fit": [("document.querySelectorAll('table.heat td').length", 729)],
    "show": [("document.querySelectorAll('table.heat td').length", 729)],
    "eval": [
        ("document.querySelectorAll('table.sortable tbody tr').length", 102),
        ("document.querySelectorAll('.item span').length", 500),
        ("document.querySelectorAll('svg.chart rect').length", 10),
    ],
    "compare": [("document.querySelectorAll('svg.chart polyline').length", 4)],
    "classify": [
        ("document.querySelectorAll('svg.grid rect').length", 6),
        ("document.querySelectorAll('table.sortable tbody tr').length", 700),
    ],
    "threshold": [
        ("document.querySelector('svg.chart polyline[points]').getAttribute('points')"
         ".split(' ').length", 2),
        ("document.querySelectorAll('svg.chart circle').length", 1),
    ],
}  # fmt: skip


@pytest.mark.parametrize("name", list(CHECKS))
def test_page_in_chromium(
    browser: Browser, pages: dict[str, Path], shots: Path | None, name: str
) -> None:
    """Loads clean, fetches nothing, holds its parts, is not blank, fits a phone."""
    for width in (LAPTOP, PHONE):
        tab = browser.open(pages[name], width)
        try:
            assert tab.problems() == []
            assert tab.requests() == [pages[name].resolve().as_uri()]
            for expression, least in CHECKS[name]:
                assert tab.js(expression) >= least, expression
            scroll, inner = tab.js("[document.documentElement.scrollWidth, innerWidth]")
            assert scroll <= inner, f"{name} at {width}px scrolls sideways ({scroll}px)"
            assert ink(tab.screenshot(scale=0.1, height=1600)) > 0.02  # a blank page has none
            if shots is not None:
                tab.screenshot(shots / f"{name}-{width}.png")
        finally:
            tab.close()


def test_table_sorts_on_click(browser: Browser, pages: dict[str, Path]) -> None:
    """Clicking 'log p' sorts rows by it, ascending then descending; OOV rows last."""
    tab = browser.open(pages["eval"], LAPTOP)
    try:
        col = tab.js(
            "[...document.querySelectorAll('table.sortable th')]"
            ".findIndex(h => h.textContent.startsWith('log p'))"
        )
        values = (
            f"[...document.querySelectorAll('table.sortable tbody tr')]"
            f".map(r => parseFloat(r.cells[{col}].dataset.v))"
        )
        click = f"document.querySelectorAll('table.sortable th')[{col}].click()"
        tab.js(click)
        up = tab.js(values)  # Infinity (an OOV row's log p) comes back as None
        finite = [v for v in up if v is not None]
        assert len(finite) > 50 and up == finite + [None] * (len(up) - len(finite))
        assert finite == sorted(finite)
        tab.js(click)
        down = tab.js(values)
        assert down == [None] * (len(up) - len(finite)) + sorted(finite, reverse=True)
        assert tab.js("document.querySelector('th[aria-sort]').getAttribute('aria-sort')") == (
            "descending"
        )
        assert tab.problems() == []
    finally:
        tab.close()


def test_hostile_item_in_chromium(browser: Browser, pages: dict[str, Path]) -> None:
    tab = browser.open(pages["eval"], LAPTOP)
    try:
        assert tab.js("document.querySelectorAll('tbody b').length") == 0
        assert tab.js(f"document.body.textContent.includes({HOSTILE!r})")
    finally:
        tab.close()


def test_eval_rank_has_no_html(tmp_path: Path, model: Path) -> None:
    (tmp_path / "l.txt").write_text("emma\n")
    target = tmp_path / "r.html"
    code, _, err = run("eval", model, tmp_path / "l.txt", "--rank", "--html", target)
    assert code == 2 and "compare MODEL --on LIST --coverage --html" in err
    assert not target.exists()
