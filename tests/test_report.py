"""Every report renderable rendered to text, as rich's own tests do.

Each renderable of ngramkit/report/ gets the result objects it takes, built
here from a tiny corpus whose numbers are easy to check by hand (add-one
bigram on "ab", "abb", "ba": V = 3, p(a|.) = (2+1)/(3+3) = 0.5), and is
printed to `Console(file=io.StringIO(), width=80)`. Trailing spaces (Rich
pads table lines) are dropped before comparing.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console, RenderableType

from ngramkit import CountLM
from ngramkit.compare import compare
from ngramkit.evaluate import breakdown, corpus_metrics
from ngramkit.fitting import CountedStats, DataStats, FitResult, fit_counted, table_metrics
from ngramkit.listeval import ListEvaluation
from ngramkit.ranking import select
from ngramkit.registry import BackendEntry
from ngramkit.report.backends import backends_table
from ngramkit.report.breakdown import breakdown_report, oddest_line
from ngramkit.report.compare import compare_report
from ngramkit.report.curve import LossCurve, curve_of
from ngramkit.report.evaluation import eval_report, item_text, selection_note
from ngramkit.report.fit import fit_report
from ngramkit.report.heatmap import heatmap, transitions_table
from ngramkit.report.tables import metrics_table, samples_table
from ngramkit.results import Metrics
from ngramkit.transitions import strongest, transition_matrix

TRAIN = ["ab", "abb", "ba"]


def render(renderable: RenderableType, width: int = 80) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines())


@pytest.fixture(scope="module")
def add1() -> CountLM:
    return CountLM(order=2, smooth=1).fit(TRAIN)


@pytest.fixture(scope="module")
def mle() -> CountLM:
    return CountLM(order=2, smooth=0).fit(TRAIN)


@pytest.fixture
def lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Two word lists: a blank line, an OOV item ("abc") and a duplicate ("ab")."""
    monkeypatch.chdir(tmp_path)
    Path("a.txt").write_text("ab\nba\n\nabc\nab\n", encoding="utf-8")
    Path("b.txt").write_text("bab\nbb\n", encoding="utf-8")
    return ["a.txt", "b.txt"]


def test_eval_report_two_lists_top_rows_then_totals(add1: CountLM, lists: list[str]) -> None:
    run = ListEvaluation(add1, lists)
    shown = select(run.rows(), "nll", top=3)
    # "ab": log p = 2 ln(1/2) + ln(3/7) = -2.2336 nats over 3 tokens.
    assert (
        render(eval_report(shown, run.files, run.overall))
        == """
                                     log p        NLL          in      OOV
 list    line   item       tokens     nats   nats/tok    ppl   train   symbols
 ─────────────────────────────────────────────────────────────────────────────
 a.txt      1   ab              3   -2.234     0.7445   2.11   yes
 a.txt      5   ab              3   -2.234     0.7445   2.11   yes
 b.txt      1   bab             4   -3.892     0.9730   2.65   no

top 3 of 6 items by nll
Word lists

                                     in                 NLL           bits
 list       items   OOV   dupes   train   tokens   nats/tok    ppl    /tok
 ─────────────────────────────────────────────────────────────────────────
 a.txt          4     1       1       3        9     0.8797   2.41   1.269
 b.txt          2     0       0       0        7     1.0129   2.75   1.461
 all            6     1       1       3       16     0.9380   2.55   1.353

OOV items hold symbols the model never saw: 'c' ×1
1 blank line(s) skipped"""
    )


def test_eval_report_one_list_cut_to_the_table_limit(add1: CountLM, lists: list[str]) -> None:
    run = ListEvaluation(add1, lists[:1])
    shown = select(run.rows(), "input", limit=2)
    text = render(eval_report(shown, run.files, run.overall))
    assert text.splitlines()[2:6] == [
        " line   item       tokens     nats   nats/tok    ppl   train   symbols",
        " ─────────────────────────────────────────────────────────────────────",
        "    1   ab              3   -2.234     0.7445   2.11   yes",
        "    2   ba              3   -3.450     1.1500   3.16   yes",
    ]
    assert "first 2 of 4 items by input (use --top/--bottom, or --format tsv" in text
    assert " a.txt          4     1       1       3        9     0.8797   2.41   1.269" in text


def test_selection_note_names_what_is_shown(add1: CountLM, lists: list[str]) -> None:
    run = ListEvaluation(add1, lists)
    everything = select(run.rows())
    assert selection_note(everything, run.overall.items) == ""
    bottom = select(ListEvaluation(add1, lists).rows(), "logprob", bottom=2)
    assert selection_note(bottom, 6) == "bottom 2 of 6 items by logprob"


def test_item_text_cuts_long_items_and_keeps_markup_literal() -> None:
    assert render(item_text("[red]x")) == "[red]x"
    assert render(item_text("a" * 60, limit=10)) == "aaaaaaaa… (60 chars)"


def test_compare_report(add1: CountLM, mle: CountLM) -> None:
    items = ["ab", "ba", "bb", "abc", "aab", "bba"]
    result = compare([add1, mle], ["add1", "mle"], items, "list.txt", resamples=100, top=2)
    assert (
        render(compare_report(result))
        == """\
6 items of list.txt; 4 scored by every model (differences use those)
Models

        backend                         NLL         bits    shared
 model  order    OOV  p=0  tokens  nats/tok   ppl   /tok  nats/tok
 ─────────────────────────────────────────────────────────────────
 add1   count 2    1    0      17    1.0359  2.82  1.494    1.0450
 mle    count 2    1    1      17       inf   inf    inf    1.0181

Against add1 (paired bootstrap, 100 resamples)

             ΔNLL                        resamples
 model   nats/tok               95% CI      better
 ─────────────────────────────────────────────────
 mle      -0.0269   [-0.1601, +0.0599]       66.0%

no clear difference between mle and add1: -0.0269 nats/token, 95% CI [-0.1601,
+0.0599] includes 0
Largest disagreements: mle vs add1

 item   NLL add1   NLL mle   Δ nats/tok
 ──────────────────────────────────────
 ab       0.7445    0.5014      -0.2432
 bba      1.1757    1.2425      +0.0668
"""
    )


def test_compare_report_numbers_long_model_names_in_a_key_at_80_columns(
    add1: CountLM, mle: CountLM
) -> None:
    names = ["runs/2024-06/add-one-bigram", "runs/2024-06/unsmoothed-bigram", "x/add-one-bigram"]
    items = ["ab", "ba", "bb", "abc", "aab", "bba"]
    result = compare([add1, mle, add1], names, items, "list.txt", resamples=100, top=2)
    lines = render(compare_report(result)).splitlines()
    assert lines[1:5] == [
        "Models (numbered in the tables below)",
        "#1  runs/2024-06/add-one-bigram",
        "#2  runs/2024-06/unsmoothed-bigram",
        "#3  x/add-one-bigram",
    ]
    assert " #2     count 2    1    1      17       inf   inf    inf    1.0181" in lines
    assert " #3       +0.0000   [+0.0000, +0.0000]        0.0%" in lines
    assert " item   NLL #1   NLL #3   Δ nats/tok" in lines
    assert "Largest disagreements: x/add-one-bigram vs runs/2024-06/add-one-bigram" in lines
    assert all(len(line) <= 80 for line in lines)
    wide = render(compare_report(result), width=120)  # names fit: no key
    assert "#1" not in wide and " runs/2024-06/unsmoothed-bigram  count 2" in wide


def test_compare_report_without_bootstrap_has_no_verdict(add1: CountLM, mle: CountLM) -> None:
    result = compare([add1, mle], ["add1", "mle"], ["ab", "ba"], "l.txt", resamples=0, top=0)
    text = render(compare_report(result), width=100)
    assert text.startswith("2 items of l.txt; 2 scored by every model")
    assert "Against" not in text and "difference" not in text.replace("differences use", "")


def test_breakdown_report_of_a_scored_item(add1: CountLM) -> None:
    # p(b|b) = (1 + 1) / (4 + 3) = 0.2857: the oddest spot of "abb".
    assert (
        render(breakdown_report(breakdown(add1, "abb")))
        == """\
score abb.
┏━━━━━━━━━┳━━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━┓
┃ context ┃ token ┃   prob ┃ log p (nats) ┃ surprisal (bits) ┃
┡━━━━━━━━━╇━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━┩
│ .       │ a     │ 0.5000 │      -0.6931 │   1.00 █         │
│ a       │ b     │ 0.5000 │      -0.6931 │   1.00 █         │
│ b       │ b     │ 0.2857 │      -1.2528 │   1.81 █         │
│ b       │ .     │ 0.4286 │      -0.8473 │   1.22 █         │
└─────────┴───────┴────────┴──────────────┴──────────────────┘
log p = -3.4864 nats   NLL = 0.8716 nats/token over 4 tokens
oddest spot: bb  (b after b)  p = 0.2857, 1.81 bits"""
    )


def test_breakdown_report_of_a_zero_probability_token(mle: CountLM) -> None:
    text = render(breakdown_report(breakdown(mle, "aa")))
    assert "│ a       │ a     │ 0.0000 │         -inf │    inf ████████████████████ │" in text
    assert "log p = -inf nats   NLL = inf nats/token over 3 tokens" in text
    assert text.endswith("oddest spot: aa  (a after a)  p = 0, inf bits")


def test_breakdown_report_of_an_oov_item(add1: CountLM) -> None:
    out = render(breakdown_report(breakdown(add1, "abc")))
    assert out == "abc: OOV, symbols outside the model's vocabulary: c"


def test_oddest_line_of_a_unigram_model() -> None:
    unigram = CountLM(order=1, smooth=1).fit(TRAIN)
    tokens = breakdown(unigram, "ab").tokens
    assert render(oddest_line(tokens)).startswith("oddest spot: a  (a, with no context")


def test_metrics_table_skips_a_missing_split(add1: CountLM) -> None:
    train = corpus_metrics(add1, TRAIN)  # 10 tokens: each item's symbols and its end
    assert (
        render(metrics_table([("train", train), ("val", None)]))
        == """\
Metrics
┏━━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━┓
┃ split ┃ tokens ┃ NLL (nats/token) ┃ perplexity ┃ bits/token ┃
┡━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━┩
│ train │     10 │           0.9170 │      2.502 │     1.3229 │
└───────┴────────┴──────────────────┴────────────┴────────────┘"""
    )
    zero = render(metrics_table([("val", Metrics(3, float("-inf")))]))
    assert "│ val   │      3 │              inf │        inf │        inf │" in zero


def test_samples_table_marks_seen_new_and_empty() -> None:
    text = render(samples_table([("ab", True), ("bbba", False), ("", False), ("x", None)]))
    assert text.splitlines() == [
        "Samples",
        " ab       seen in training",
        " bbba     new",
        " (empty)  new",
        " x",
    ]


def test_fit_report(add1: CountLM) -> None:
    data = DataStats("train.txt", 4, 1, 1, 3, 1, 0, 10, 3, 0.25, 7)
    train, val = corpus_metrics(add1, TRAIN), corpus_metrics(add1, ["ab"])
    samples = [("ab", True), ("bbba", False)]
    result = FitResult(add1, data, train, val, samples, 0.25, output="m.ngk")
    lines = render(fit_report(result)).splitlines()
    assert lines[0].startswith("╭─ ngramkit fit · count · order 2 ─")
    for row in (
        "│ source                      train.txt",
        "│ train / val items           3 / 1",
        "│ predicted train tokens      10",
        "│ backend            count",
        "│ │ train │     10 │           0.9170 │      2.502 │     1.3229 │",
        "│ │ val   │      3 │           0.7445 │      2.105 │     1.0741 │",
        "│  bbba  new",
        "│ saved m.ngk  ·  0.25 s",
    ):
        assert any(line.startswith(row) for line in lines), row
    assert all(len(line) == 80 for line in lines)


def test_fit_report_from_counts(tmp_path: Path) -> None:
    from ngramkit.counting import InProcess, count_files

    words = tmp_path / "t.txt"
    words.write_text("\n".join(TRAIN) + "\n\n", encoding="utf-8")
    table = count_files([str(words)], 2, InProcess()).table
    model = fit_counted(CountLM, table, {"smooth": 1})
    stages = {"symbols": 0.5, "count": 1.0, "merge": 0.25, "estimate": 0.25}
    data = CountedStats("in this process", 1, table, stages)
    result = FitResult(model, data, table_metrics(model, table), None, [], 2.0, output="m.ngk")
    lines = render(fit_report(result)).splitlines()
    assert lines[0].startswith("╭─ ngramkit fit · count · order 2 · from counts ─")
    for row in (
        "│ counted                                          in this process",
        "│ blank lines skipped                              1",
        "│ predicted train tokens                           10",
        "│ │ count    │    1.00 │   50% │",
        "│ │ train │     10 │           0.9170 │      2.502 │     1.3229 │",
        "│ saved m.ngk  ·  2.00 s",
    ):
        assert any(line.startswith(row) for line in lines), row


def test_model_card(add1: CountLM, tmp_path: Path) -> None:
    from ngramkit.persist import load, save
    from ngramkit.report.card import model_card

    path = tmp_path / "m.ngk"
    save(add1, path, extra={"metrics": {"train": corpus_metrics(add1, TRAIN).to_json()}})
    mf = load(path)
    lines = render(model_card(mf, path.stat().st_size)).splitlines()
    assert lines[0].startswith(f"╭─ ngramkit model · {path}"[:78])
    for row in (
        f"│ path               {path}"[:79],
        "│ backend            count",
        "│ size V     3",
        "│ symbols    ab",
        "│ items             3",
        "│ predicted tokens  10",
        f"│ file            {path.stat().st_size:,} bytes",
        "│ training items  ",  # the compressed blob named as what it holds
        "│ tensor counts   7 int64 (stored as uint8, 7 bytes)",
        "│  train       10     0.9170   2.502     1.3229",
    ):
        assert any(line.startswith(row) for line in lines), row


def test_heatmap_of_the_bigram_counts(add1: CountLM) -> None:
    matrix = transition_matrix(add1)
    assert matrix is not None
    # Row "a": a. once (from "ba"), aa never, ab twice.
    assert (
        render(heatmap(matrix, width=80))
        == """\
   .   a   b
─────────────
. ..  .a  .b
   0   2   1
a a.  aa  ab
   1   0   2
b b.  ba  bb
   2   1   1
rows: previous token, columns: next token; cells: bigram and counts; shade:
log(1 + value)"""
    )


def test_heatmap_cuts_a_wide_matrix_into_column_blocks(add1: CountLM) -> None:
    matrix = transition_matrix(add1)
    assert matrix is not None
    lines = render(heatmap(matrix, width=8)).splitlines()  # two columns, then one
    assert lines[:4] == ["columns . to a (1 of 2)", "  .  a", "───────", ". .. .a"]
    assert lines[10:14] == ["column b (2 of 2)", "  b", "────", ". .b"]


def test_heatmap_of_the_lecture_matrix_shows_all_27_columns_at_80(names: list[str]) -> None:
    matrix = transition_matrix(CountLM(order=2, smooth=0).fit(names))
    assert matrix is not None
    lines = render(heatmap(matrix, width=76)).splitlines()  # inside show's card at 80 columns
    assert all(len(line) <= 76 for line in lines)
    assert "columns . to m (1 of 2)" in lines and "columns n to z (2 of 2)" in lines
    expected: dict[str, int] = {}  # the lecture's N, by a plain loop
    for name in names:
        chars = ["."] + list(name) + ["."]
        for a, b in zip(chars, chars[1:]):
            expected[a + b] = expected.get(a + b, 0) + 1
    shown: dict[str, int] = {}  # each bigram line, then its counts line under it
    for top, below in zip(lines, lines[1:]):
        cells = top.split()
        if len(cells) > 1 and all(len(c) == 2 and c[0] == cells[0] for c in cells[1:]):
            shown.update(zip(cells[1:], map(int, below.split())))
    letters = ".abcdefghijklmnopqrstuvwxyz"
    assert sorted(shown) == sorted(a + b for a in letters for b in letters)  # none cut
    assert shown == {k: expected.get(k, 0) for k in shown}
    assert (shown["a."], shown["aa"], shown["ab"], shown["nz"]) == (6640, 556, 541, 145)


def test_transitions_table(add1: CountLM) -> None:
    assert (
        render(transitions_table(strongest(add1, 3)))
        == """\
Strongest transitions

 context   next   count   p(next | context)
 ──────────────────────────────────────────
 .         a          2              0.5000
 b         .          2              0.4286
 a         b          2              0.5000
"""
    )


def test_loss_curve() -> None:
    assert (
        render(LossCurve([4.0, 3.0, 2.5, 2.0, 2.0]))
        == """\
Training loss (nats/token): 4.0000 → 2.0000 in 4 steps
4.000 ┤ █
      ┤ █
      ┤ █▂
      ┤ ██
      ┤ ██▆
2.000 ┤ ███▃▃
        0step 4"""
    )
    assert curve_of(CountLM(order=2).fit(TRAIN)) is None


def test_backends_table_with_a_shadowed_and_a_broken_entry() -> None:
    loser = BackendEntry("count", "other.mod:Count", "other", "2.0", error="ImportError: x")
    ok = BackendEntry(
        "count", "ngramkit.backends.count:CountLM", "ngramkit", "0.1.0", CountLM, shadows=[loser]
    )
    broken = BackendEntry("bad", "bad.mod:LM", "bad-dist", "0.3", error="ImportError: boom")
    assert (
        render(backends_table([ok, broken]))
        == """\
Backends (entry points in group ngramkit.backends)

                                                          distribution
 name    class / description                              version        status
 ──────────────────────────────────────────────────────────────────────────────
 count   ngramkit.backends.count.CountLM                  ngramkit       ok
         count n-gram model: add-k, Kneser-Ney,           0.1.0
         Witten-Bell, absolute discounting

         other.mod.Count                                  other          broken
         shadowed by ngramkit; broken: ImportError: x     2.0

 bad     bad.mod.LM                                       bad-dist       broken
         broken: ImportError: boom                        0.3
"""
    )


def test_backends_table_keeps_long_class_paths_whole_at_80_columns() -> None:
    paths = ["ngramkit.backends.neural:NeuralLM", "ngramkit_ppm.escape_methods:PPMEscapeLM"]
    entries = [
        BackendEntry(f"b{i}", p, "ngramkit-ppm-escapes", "10.2.0rc1", CountLM)
        for i, p in enumerate(paths)
    ]
    text = render(backends_table(entries))
    for p in paths:
        assert p.replace(":", ".") in text
    assert "ngramkit-ppm-escapes" in text and "10.2.0rc1" in text
    assert all(len(line) <= 80 for line in text.splitlines())
