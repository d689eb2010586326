"""`ngramkit eval` and `score` as a user drives them: formats, sorting, Unicode, bad input."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.cells import cell_len

from ngramkit import CountLM
from ngramkit.cli import cli
from ngramkit.persist import save

ROOT = Path(__file__).resolve().parents[1]
WORDLISTS = sorted((ROOT / "examples" / "wordlists").glob("*.txt"))


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input, env={"COLUMNS": "120"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, names: list[str]) -> Path:
    """The lecture's bigram, add-one, on every name."""
    path = tmp_path_factory.mktemp("m") / "bigram.ngk"
    save(CountLM(order=2, smooth=1).fit(names), path)
    return path


def lecture_logprob(names: list[str], item: str) -> float:
    """log p under the add-one bigram, from counts taken in a plain loop."""
    N: dict[tuple[str, str], int] = {}
    for w in names:
        chs = [".", *w, "."]
        for a, b in itertools.pairwise(chs):
            N[a, b] = N.get((a, b), 0) + 1
    row = {a: sum(c for (x, _), c in N.items() if x == a) for a, _ in N}
    chs = [".", *item, "."]
    return sum(math.log((N.get((a, b), 0) + 1) / (row[a] + 27)) for a, b in itertools.pairwise(chs))


def eval_json(model: Path, *args: str) -> dict:
    code, stdout, stderr = run("eval", str(model), *args, "--format", "json")
    assert code == 0, stderr
    return json.loads(stdout)


def test_json_rows_match_a_plain_loop(model: Path, names: list[str]) -> None:
    data = eval_json(model, str(ROOT / "examples/wordlists/names-sample.txt"))
    rows = data["items"]
    assert [r["item"] for r in rows][:3] == ["emma", "olivia", "ava"]
    for r in rows:
        assert r["logprob"] == pytest.approx(lecture_logprob(names, r["item"]), rel=1e-9)
        assert r["tokens"] == len(r["item"]) + 1
        assert r["nll"] == pytest.approx(-r["logprob"] / r["tokens"])
    s = data["summary"]
    assert s["items"] == 10 and s["duplicates"] == 1  # emma twice: counted, both scored
    assert s["tokens"] == sum(r["tokens"] for r in rows)
    assert s["nll"] == pytest.approx(-sum(r["logprob"] for r in rows) / s["tokens"])
    assert rows[0]["logprob"] == rows[8]["logprob"] and rows[8]["line"] == 9


def test_several_lists_totals_per_list_and_overall(model: Path) -> None:
    a, b = ROOT / "examples/wordlists/names-sample.txt", ROOT / "examples/wordlists/accents.txt"
    data = eval_json(model, str(a), str(b))
    files = data["files"]
    assert [f["source"] for f in files] == [str(a), str(b)]
    assert sum(f["items"] for f in files) == data["summary"]["items"] == len(data["items"])
    assert sum(f["tokens"] for f in files) == data["summary"]["tokens"]
    # The default rule (NFC, lower-case, accents stripped) scores every accented name.
    assert files[1]["oov"] == 0 and files[1]["normalized"] == 7
    assert {r["source"] for r in data["items"]} == {str(a), str(b)}


def test_sort_top_bottom(model: Path) -> None:
    odd = str(ROOT / "examples/wordlists/oddities.txt")
    every = eval_json(model, odd)["items"]
    by_nll = sorted(every, key=lambda r: r["nll"])
    bottom = eval_json(model, odd, "--sort", "nll", "--bottom", "3")
    assert [r["item"] for r in bottom["items"]] == [r["item"] for r in by_nll[-3:]]
    assert bottom["summary"]["items"] == len(every)  # totals still cover every item
    top = eval_json(model, odd, "--sort", "logprob", "--top", "2")
    best = sorted(every, key=lambda r: -r["logprob"])[:2]
    assert [r["item"] for r in top["items"]] == [r["item"] for r in best]
    length = eval_json(model, odd, "--sort", "length", "--top", "1")["items"]
    assert length[0]["item"] == "q"
    first = eval_json(model, odd, "--top", "2")["items"]
    last = eval_json(model, odd, "--bottom", "2")["items"]
    assert [r["item"] for r in first + last] == [every[i]["item"] for i in (0, 1, -2, -1)]
    code, _, stderr = run("eval", str(model), odd, "--top", "1", "--bottom", "1")
    assert code == 2 and "not both" in stderr


def test_oov_rows_sort_last(model: Path, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.txt"
    mixed.write_text("José\nанна\nemma\n李华\nzoë\n", encoding="utf-8")
    rows = eval_json(model, str(mixed), "--sort", "nll")["items"]
    flags = [r["oov"] for r in rows]
    assert flags == sorted(flags) and flags[0] is False and flags[-1] is True


@pytest.mark.parametrize("fmt,delim", [("tsv", "\t"), ("csv", ",")])
def test_delimited_match_json(model: Path, fmt: str, delim: str) -> None:
    messy = str(ROOT / "examples/wordlists/messy.txt")
    want = eval_json(model, messy)["items"]
    code, stdout, stderr = run("eval", str(model), messy, "--format", fmt)
    assert code == 0 and stderr == ""  # no progress bar when not interactive
    rows = list(csv.DictReader(io.StringIO(stdout), delimiter=delim))
    assert [r["item"] for r in rows] == [w["item"] for w in want]
    for r, w in zip(rows, want):
        assert int(r["line"]) == w["line"] and int(r["tokens"]) == w["tokens"]
        assert r["oov"] == ("true" if w["oov"] else "false")
        if w["oov"]:
            assert r["logprob"] == "" and r["unknown"] == " ".join(w["unknown"])
        else:
            assert float(r["logprob"]) == pytest.approx(w["logprob"], rel=1e-15)
        assert r["weight"] == r["unk_tokens"] == ""  # not a weighted list, no <unk>


@pytest.mark.parametrize("fmt,delim", [("tsv", "\t"), ("csv", ",")])
@pytest.mark.parametrize("sort", ["input", "nll"])  # streamed, and the selected rows
def test_delimited_weight_unk_columns_and_end_marker(
    tmp_path: Path, fmt: str, delim: str, sort: str
) -> None:
    unk = save(CountLM(order=2, smooth=1, unk=True).fit(["emma", "ava"]), tmp_path / "u.ngk")
    data = tmp_path / "w.tsv"
    data.write_text("emma\t3\nzz\t2\nav,a\t1\n")
    args = ["eval", str(unk), str(data), "--weighted", "--format", fmt, "--sort", sort]
    code, stdout, _ = run(*args, "--end-marker")
    assert code == 0
    *body, last = stdout.splitlines()
    assert last == f"#end{delim}3"  # the rows written
    rows = {r["item"]: r for r in csv.DictReader(io.StringIO("\n".join(body)), delimiter=delim)}
    want = {w["item"]: w for w in json.loads(run(*args[:-4], "--json")[1])["items"]}
    assert {k: (int(r["weight"]), int(r["unk_tokens"])) for k, r in rows.items()} == {
        "emma": (3, 0),
        "zz": (2, 2),
        "av,a": (1, 1),
    }
    assert all(int(rows[k]["unk_tokens"]) == w["unk_tokens"] for k, w in want.items())
    assert "#end" not in run(*args)[1]  # only when asked for
    assert run(*args[:-4], "--end-marker")[0] == 2  # a table has no end marker


def test_jsonl_rows_then_summary(model: Path) -> None:
    messy = str(ROOT / "examples/wordlists/messy.txt")
    code, stdout, _ = run("eval", str(model), messy, "--format", "jsonl")
    assert code == 0
    lines = [json.loads(x) for x in stdout.splitlines()]
    assert "summary" in lines[-1] and "files" in lines[-1]
    assert len(lines) - 1 == lines[-1]["summary"]["items"] == 12
    assert lines[0]["item"] == "kaelyn" and lines[0]["line"] == 1


def test_unicode_rows_stay_aligned(model: Path, tmp_path: Path) -> None:
    words = tmp_path / "u.txt"
    words.write_text("zoë\n李华\n🙂\ncafe\u0301\nemma\n[red]x[/red]\n", encoding="utf-8")
    code, stdout, _ = run("eval", str(model), str(words))
    assert code == 0
    table = stdout.split("Word lists")[0]
    body = [line for line in table.splitlines() if line.strip()]
    cells = {cell_len(line) for line in body}
    assert len(cells) == 1, f"rows of unequal width: {cells}"
    assert "[red]x[/red]" in stdout  # items are text, never markup
    rows = eval_json(model, str(words))["items"]
    # NFC makes "cafe" + U+0301 the one code point "é", which accent stripping makes "e".
    assert rows[3]["tokens"] == 5 and not rows[3]["oov"]


def test_score_breakdown_and_oddest_spot(model: Path, names: list[str]) -> None:
    code, stdout, _ = run("score", str(model), "andrejq")
    assert code == 0
    assert "oddest spot: jq" in stdout
    code, stdout, _ = run("score", str(model), "andrejq", "--json")
    data = json.loads(stdout)
    assert data["logprob"] == pytest.approx(lecture_logprob(names, "andrejq"))
    worst = max(data["tokens"], key=lambda t: t["surprisal_bits"])
    assert (worst["context"], worst["token"]) == ("j", "q")
    assert worst["surprisal_bits"] == pytest.approx(-worst["logprob"] / math.log(2))


@pytest.mark.parametrize("suffix", [".html", ".svg", ".txt"])
def test_export(model: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"report{suffix}"
    sample = str(ROOT / "examples/wordlists/names-sample.txt")
    code, _, stderr = run("eval", str(model), sample, "--export", str(out))
    assert code == 0, stderr
    text = out.read_text(encoding="utf-8")
    if suffix == ".svg":  # Rich's SVG splits text into positioned runs
        assert text.startswith("<svg") and "olivia" in text.replace("&#160;", " ")
    else:
        assert "olivia" in text and "Word lists" in text
    code, _, _ = run("score", str(model), "emma", "--export", str(out))
    assert code == 0 and "oddest" in out.read_text(encoding="utf-8")


def bad(*args: str) -> str:
    code, stdout, stderr = run(*args)
    assert code != 0
    assert "Traceback" not in stderr + stdout
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines  # one clear line
    return lines[0]


def test_bad_input(model: Path, tmp_path: Path) -> None:
    m = str(model)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"emma\n\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    mixed = tmp_path / "mixed.txt"
    mixed.write_bytes("emma\nzoë\n".encode() + "zoë\n".encode("latin-1"))
    assert "empty" in bad("eval", m, str(empty))
    assert "bin.txt:4" in bad("eval", m, str(binary)) and "binary" in bad("eval", m, str(binary))
    assert "mixed.txt:3: not valid UTF-8" in bad("eval", m, str(mixed))
    assert "no such file" in bad("eval", m, str(tmp_path / "nope.txt"))
    assert "must end in" in bad("eval", m, str(empty), "--export", str(tmp_path / "r.pdf"))
    assert "--format tsv" in bad("eval", m, str(empty), "--format", "tsv", "--export", "r.txt")


def test_a_one_megabyte_line(model: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("emma\n" + "ab" * 500_000 + "\nava\n")
    code, stdout, _ = run("eval", str(model), str(big))
    assert code == 0 and "(1,000,000 chars)" in stdout and len(stdout) < 10_000
    rows = eval_json(model, str(big))["items"]
    assert rows[1]["tokens"] == 1_000_001 and rows[1]["nll"] > 0


def test_stdin(model: Path) -> None:
    code, stdout, _ = run("eval", str(model), "-", "--format", "json", input="emma\nava\n")
    assert code == 0 and json.loads(stdout)["summary"]["items"] == 2


@pytest.mark.parametrize("words", WORDLISTS, ids=lambda p: p.name)
def test_every_example_list_through_every_command(model: Path, words: Path) -> None:
    items = [w.strip() for w in words.read_text(encoding="utf-8").splitlines() if w.strip()]
    all_oov = words.name == "cyrillic.txt"
    for fmt in ("table", "json", "jsonl", "tsv", "csv"):
        code, _, stderr = run("eval", str(model), str(words), "--format", fmt)
        assert code == 0, stderr  # an all-OOV list gets its rows, and a note on stderr
        assert ("all 5 items are OOV" in stderr) == all_oov
    code, _, stderr = run("score", str(model), *items[:4])
    assert code == 0, stderr
    m = str(model)
    code, _, stderr = run("compare", m, m, "--on", str(words), "--bootstrap", "50")
    assert code == 0 and ("no item of 5 is scored by every model" in stderr) == all_oov


def test_a_list_of_only_oov_items_gets_its_rows(model: Path, tmp_path: Path) -> None:
    """Every format writes every row marked OOV, exit 0, and one line on stderr naming --unk."""
    only_oov = tmp_path / "oov.txt"
    only_oov.write_text("анна\n123\n" * 5000, encoding="utf-8")
    for fmt in ("table", "json", "jsonl", "tsv", "csv"):
        code, stdout, stderr = run("eval", str(model), str(only_oov), "--format", fmt)
        assert code == 0 and "Traceback" not in stderr
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "all 10,000 items are OOV" in lines[0] and "--unk" in lines[0]
        if fmt in ("tsv", "csv"):
            assert len(stdout.splitlines()) == 10_001  # a header, then every row
    data = json.loads(run("eval", str(model), str(only_oov), "--format", "json")[1])
    assert len(data["items"]) == 10_000 and all(r["oov"] for r in data["items"])
    assert data["summary"]["scored"] == 0 and data["summary"]["nll"] is None
