"""ARPA interop: KenLM's files score as KenLM scores them, our mkn reproduces
lmplz's probabilities, and our exports load in KenLM with the same scores.

The KenLM tests need the `kenlm` Python module (pip install kenlm) and the
shared data folder; they are skipped without them.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from ngramkit import CountLM
from ngramkit.cli import cli
from ngramkit.errors import ArpaError
from ngramkit.smoothing.arpa import read, save, symbol_of, word_of

DATA = Path("/work/shared/data")
if not DATA.is_dir():
    DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
KENLM = DATA / "kenlm"
SPLIT = DATA / "makemore-split"
NAMES = Path(__file__).resolve().parents[1] / "examples" / "names.txt"
LN10 = math.log(10)

needs_data = pytest.mark.skipif(not KENLM.is_dir(), reason="shared data folder not found")


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split()


def kenlm_score(model, item: str) -> float:
    """KenLM's log10 p of an item written as space-separated characters."""
    return model.score(" ".join(item), bos=True, eos=True)


@needs_data
@pytest.mark.parametrize("order", [2, 3, 4])
def test_kenlm_files_score_as_kenlm(order: int, tmp_path: Path) -> None:
    kenlm = pytest.importorskip("kenlm")
    path = KENLM / f"names_o{order}.arpa"
    runner = CliRunner()
    out = tmp_path / "m.ngk"
    result = runner.invoke(cli, ["import", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    from ngramkit import load

    model = load(out).model
    ref = kenlm.Model(str(path))
    for item in lines(SPLIT / "test.txt"):
        assert model.logprob(item) / LN10 == pytest.approx(kenlm_score(ref, item), abs=1e-5)


def arpa_entries(path: Path) -> dict[tuple[str, ...], tuple[float, float]]:
    """{words: (log10 p, log10 bow)} of an ARPA file, read by a plain loop."""
    out = {}
    order = 0
    for line in path.read_text().split("\n"):
        if line.startswith("\\") and line.endswith("-grams:"):
            order = int(line[1 : line.index("-")])
        elif order and line and not line.startswith("\\"):
            f = line.split("\t")
            bow = float(f[2]) if len(f) > 2 else 0.0
            out[tuple(f[1].split())] = (float(f[0]), bow)
    return out


@needs_data
@pytest.mark.parametrize("order", [2, 3, 4])
def test_mkn_reproduces_lmplz(order: int, tmp_path: Path) -> None:
    """Default mkn discounts are lmplz's (with --discount_fallback for unigrams)."""
    model = CountLM(order=order, smooth="mkn", unk=True).fit(lines(SPLIT / "train.txt"))
    save(model, tmp_path / "ours.arpa")
    ours = arpa_entries(tmp_path / "ours.arpa")
    ref = arpa_entries(KENLM / f"names_o{order}.arpa")
    assert set(ours) == set(ref)
    for words, (lp, bow) in ref.items():
        if words == ("<s>",):  # no probability of its own: lmplz writes 0, we write -99
            assert ours[words][1] == pytest.approx(bow, abs=1e-5)
            continue
        assert ours[words][0] == pytest.approx(lp, abs=1e-5), words
        assert ours[words][1] == pytest.approx(bow, abs=1e-5), words


@needs_data
@pytest.mark.parametrize(("order", "smooth"), [(5, "mkn"), (3, "wb"), (4, "kn"), (3, 0.5)])
def test_export_loads_in_kenlm(order: int, smooth: object, tmp_path: Path) -> None:
    kenlm = pytest.importorskip("kenlm")
    model = CountLM(order=order, smooth=smooth).fit(lines(SPLIT / "train.txt"))
    save(model, tmp_path / "m.arpa")
    ref = kenlm.Model(str(tmp_path / "m.arpa"))
    for item in lines(SPLIT / "test.txt")[:300]:
        assert model.logprob(item) / LN10 == pytest.approx(kenlm_score(ref, item), abs=1e-5)


@pytest.mark.parametrize("smooth", ["mkn", "wb", 1.0, 0.1])
def test_export_import_round_trip(smooth: object, tmp_path: Path) -> None:
    items = NAMES.read_text().split()[:500]
    model = CountLM(order=4, smooth=smooth).fit(items)
    save(model, tmp_path / "m.arpa")
    back = read(tmp_path / "m.arpa")
    again = CountLM.from_tables(back.tables, back.vocab)
    assert back.vocab == model.vocab
    for item in ["emma", "zzq", "a", items[7]]:
        assert again.logprob(item) == pytest.approx(model.logprob(item), abs=1e-6)


def test_space_and_tab_round_trip(tmp_path: Path) -> None:
    items = ["a b", "ab\tc", "  x"]
    model = CountLM(order=3, smooth="wb").fit([s.strip() for s in items])
    save(model, tmp_path / "m.arpa")
    text = (tmp_path / "m.arpa").read_text()
    assert "<space>" in text and "<U+0009>" in text
    back = read(tmp_path / "m.arpa")
    assert back.vocab == model.vocab
    assert word_of(" ", "char") == "<space>" and symbol_of("<U+0009>") == "\t"


def test_word_model_round_trip(tmp_path: Path) -> None:
    from ngramkit.corpus import Corpus

    items = ["the cat sat", "the dog sat down", "a cat <space>"]
    model = CountLM(order=3, smooth="kn").fit(Corpus.from_items(items, kind="word"))
    save(model, tmp_path / "m.arpa")
    back = read(tmp_path / "m.arpa")
    assert back.vocab == model.vocab  # a word spelled <space> stays a word
    again = CountLM.from_tables(back.tables, back.vocab)
    assert again.logprob("the cat sat down") == pytest.approx(
        model.logprob("the cat sat down"), abs=1e-6
    )


def test_imported_model_samples_and_saves(tmp_path: Path) -> None:
    model = CountLM(order=3, smooth="mkn").fit(NAMES.read_text().split()[:300])
    save(model, tmp_path / "m.arpa")
    runner = CliRunner()
    r = runner.invoke(cli, ["import", str(tmp_path / "m.arpa"), "-o", str(tmp_path / "m.ngk")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["sample", str(tmp_path / "m.ngk"), "-n", "3", "--json"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["export", str(tmp_path / "m.ngk"), "-o", str(tmp_path / "b.arpa")])
    assert r.exit_code == 0, r.output
    assert arpa_entries(tmp_path / "b.arpa") == arpa_entries(tmp_path / "m.arpa")


# -- bad input -------------------------------------------------------------------

GOOD = """\\data\\
ngram 1=4
ngram 2=2

\\1-grams:
-0.5\t</s>
-99\t<s>\t-0.2
-0.6\ta\t-0.1
-0.7\tb

\\2-grams:
-0.3\t<s> a
-0.2\ta b

\\end\\
"""


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (GOOD.replace("-0.6\ta\t-0.1", "-0.6\ta\tb\tc\td"), r"m\.arpa:8: malformed 1-gram"),
        (GOOD.replace("-0.2\ta b", "x\ta b"), r"m\.arpa:13: malformed 2-gram line \(not a number"),
        (GOOD.replace("ngram 2=2", "ngram 2=3"), "declares 3 2-grams, the file holds 2"),
        (GOOD.replace("\\end\\", "\\3-grams:\n-0.1\ta b a\n\\end\\"), "above the declared order 2"),
        (GOOD.replace("-0.2\ta b", "-0.2\ta q"), r"m\.arpa:13: word 'q' is not among"),
        (GOOD.replace("-0.2\ta b", "-0.2\t</s> b"), r"m\.arpa:13: </s> in the middle"),
        (GOOD.replace("\\end\\\n", ""), "truncated"),
        ("hello\n", "no \\\\data"),
    ],
)
def test_bad_arpa(text: str, match: str, tmp_path: Path) -> None:
    path = tmp_path / "m.arpa"
    path.write_text(text)
    with pytest.raises(ArpaError, match=match):
        read(path)


def test_good_arpa_reads(tmp_path: Path) -> None:
    (tmp_path / "m.arpa").write_text(GOOD)
    m = read(tmp_path / "m.arpa")
    model = CountLM.from_tables(m.tables, m.vocab)
    # p(a | <s>) is stored; p(</s> | a) backs off: bow(a) * p(</s>)
    want = (-0.3 + (-0.1 - 0.5)) * LN10
    assert model.logprob("a") == pytest.approx(want)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (GOOD.replace("-0.2\ta b", "x\ta b"), "m.arpa:13: malformed 2-gram line"),
        (GOOD.replace("ngram 2=2", "ngram 2=5"), "declares 5 2-grams, the file holds 2"),
        (GOOD.replace("\\end\\", "\\3-grams:\n-0.1\ta b a\n\\end\\"), "above the declared order 2"),
    ],
    ids=["malformed line", "inconsistent counts", "order above declared"],
)
def test_cli_bad_arpa_is_one_line(text: str, match: str, tmp_path: Path) -> None:
    path = tmp_path / "m.arpa"
    path.write_text(text)
    r = CliRunner().invoke(cli, ["import", str(path), "-o", str(tmp_path / "m.ngk")])
    assert r.exit_code == 1
    assert r.output.startswith("Error: ") and r.output.count("\n") == 1
    assert match in r.output and "Traceback" not in r.output
    assert not (tmp_path / "m.ngk").exists()


def test_cli_kn_order_one_and_bad_discount(tmp_path: Path) -> None:
    runner = CliRunner()
    data = str(NAMES)
    for args, match in [
        (["--order", "1", "--smooth", "kn"], "needs order >= 2"),
        (["--order", "3", "--smooth", "kn", "--discount", "1.2"], "0 < D <= 1"),
    ]:
        r = runner.invoke(cli, ["fit", data, "-o", str(tmp_path / "m.ngk"), *args])
        assert r.exit_code == 2, r.output
        assert r.output.startswith("Error: ") and match in r.output


def test_tables_score_batches_as_single_tokens() -> None:
    """The de-duplicated batch path gives the per-token numbers."""
    model = CountLM(order=5, smooth="mkn").fit(NAMES.read_text().split()[:2000])
    from ngramkit.corpus import Corpus

    grams, _ = Corpus.from_items(NAMES.read_text().split()[:3000], model.vocab).windows(5)
    big = model.estimate_.token_logprobs(grams[:, :-1], grams[:, -1])
    small = torch.cat(
        [model.estimate_.token_logprobs(g[:, :-1], g[:, -1]) for g in grams.split(1000)]  # no dedup
    )
    assert len(grams) > 8192 and torch.equal(big, small)
