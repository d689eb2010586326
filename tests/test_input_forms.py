"""Word lists as they come: compressed, UTF-16, CR line ends, weighted, tabular, deduplicated.

Each form is checked against an independent reference: the same list written
plainly, a weighted list against the list with each item repeated (models bit
for bit, NLL up to float summation order), --dedup against a plain loop.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import math
import random
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from ngramkit import CountLM, reader
from ngramkit.backends.neural import NeuralLM
from ngramkit.cli import cli
from ngramkit.corpus import Corpus
from ngramkit.errors import DataError
from ngramkit.persist import load, save
from ngramkit.reader import ListStream, Shard, read_items, read_shard
from ngramkit.tabular import ListFormat

ROOT = Path(__file__).resolve().parents[1]
SPLIT = Path("/work/shared/data/makemore-split")
COMPRESS = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "100"})
    return result.exit_code, result.stdout, result.stderr


def _bad_crc(data: bytes) -> bytes:
    """A whole gzip file whose CRC-32 (the last 8 bytes: CRC, size) does not match."""
    return data[:-8] + bytes([data[-8] ^ 0xFF]) + data[-7:]


def streamed(path: Path, fmt: ListFormat | None = None) -> list[str]:
    reader.READ_BLOCK = 7  # tiny blocks: lines, characters and CRLFs cut across reads
    try:
        return [item for w in ListStream(str(path), 3, fmt).blocks() for item in w.items]
    finally:
        reader.READ_BLOCK = 4 * 2**20


# -- compressed, UTF-16, line ends: read as the plain UTF-8 list -----------------


@pytest.mark.parametrize("ext", sorted(COMPRESS))
def test_compressed_lists_read_as_plain(tmp_path: Path, ext: str) -> None:
    data = "\ufeffemma\r\nzoë\rłukasz\n\nava".encode()
    path = tmp_path / f"w.txt.{ext}"
    path.write_bytes(COMPRESS[ext](data))
    words = read_items(path)
    assert words.items == ["emma", "zoë", "łukasz", "ava"]
    assert list(words.lines) == [1, 2, 3, 5] and words.blank == 1
    assert streamed(path) == words.items
    assert read_shard(Shard(str(path), 0, path.stat().st_size)).items == words.items
    with pytest.raises(DataError, match="cannot be read from byte 3"):
        read_shard(Shard(str(path), 3, path.stat().st_size))


def test_compression_is_recognised_by_its_bytes_not_its_name(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"  # gzip data under a plain name
    path.write_bytes(gzip.compress(b"a\nb\n"))
    assert read_items(path).items == ["a", "b"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("w.gz", b"emma\n", "w.gz: named .gz but not a gzip file (it does not start as one does)"),
        ("w.xz", b"", "w.xz: named .xz but not a xz file (it is empty)"),
        ("w.gz", gzip.compress(b"emma\n" * 500)[:40], "w.gz: truncated gzip file"),
        ("w.bz2", bz2.compress(b"emma\n" * 500)[:40], "w.bz2: truncated bzip2 file"),
        ("w.xz", lzma.compress(b"emma\n" * 500)[:40], "w.xz: truncated xz file"),
        ("w.gz", _bad_crc(gzip.compress(b"emma\n")), "w.gz: damaged gzip data"),
    ],
)
def test_bad_compressed_files_are_one_line(tmp_path: Path, name: str, data: bytes, message: str):
    path = tmp_path / name
    path.write_bytes(data)
    for read in (read_items, streamed):
        with pytest.raises(DataError) as e:
            read(path)
        assert str(e.value).startswith(f"{tmp_path}/{message}") and "\n" not in str(e.value)
    code, out, err = run("fit", str(path), "-o", str(tmp_path / "m.ngk"), "--json")
    assert code != 0 and out == "" and message.split(": ", 1)[1] in err
    assert "Traceback" not in err and not (tmp_path / "m.ngk").exists()


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_a_bom_is_decoded(tmp_path: Path, codec: str) -> None:
    path = tmp_path / "w.txt"
    path.write_bytes("\ufeffzoë\r\nłukasz\n\n日本\n".encode(codec))
    assert read_items(path).items == ["zoë", "łukasz", "日本"]
    assert streamed(path) == ["zoë", "łukasz", "日本"]
    bad = tmp_path / "bad.txt"
    bad.write_bytes("\ufeffa\nb\n".encode(codec) + "\ud800".encode(codec, "surrogatepass"))
    with pytest.raises(DataError, match=r"bad.txt:3: not valid UTF-16"):
        read_items(bad)


LINES = st.lists(st.text(alphabet="ab é", max_size=4), max_size=8)


@settings(max_examples=120, deadline=None)
@given(lines=LINES, ends=st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=8, max_size=8))
def test_lf_crlf_and_lone_cr_end_lines_in_every_reader(tmp_path_factory, lines, ends) -> None:
    """Any mix of line ends: the items of a plain loop over the lines, in every reader."""
    text = "".join(line + end for line, end in zip(lines, ends))
    want = [s.strip() for s in lines if s.strip()]
    path = tmp_path_factory.mktemp("cr") / "w.txt"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    if not want:
        return
    assert read_items(path).items == want
    assert streamed(path) == want
    size = path.stat().st_size
    for cut in range(size + 1):
        parts = [read_shard(Shard(str(path), a, b)) for a, b in ((0, cut), (cut, size))]
        assert parts[0].items + parts[1].items == want
        assert parts[0].blank + parts[1].blank == read_items(path).blank


def test_a_utf8_bom_is_dropped_by_every_reader(tmp_path: Path) -> None:
    path = tmp_path / "w.txt"
    path.write_bytes(b"\xef\xbb\xbfemma\nava\n")
    gz = tmp_path / "w.txt.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    for p in (path, gz):
        assert read_items(p).items == ["emma", "ava"] == streamed(p)
        assert read_shard(Shard(str(p), 0, p.stat().st_size)).items == ["emma", "ava"]


def test_a_compressed_list_counts_in_shards_as_one_shard_each(tmp_path: Path, names) -> None:
    plain = tmp_path / "n.txt"
    plain.write_text("\n".join(names[:3000]) + "\n")
    gz = tmp_path / "n.txt.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    outs = []
    for data, flags in ((plain, []), (gz, ["--shards", "4"])):
        out = tmp_path / f"{data.name}.ngk"
        code, _, err = run("fit", str(data), "--val-fraction", "0", "-o", str(out), *flags)
        assert code == 0, err
        outs.append(load(out).model)
    assert _same_state(*outs)


# -- weighted lists: exactly the repeated list --------------------------------


def _same_state(a, b) -> bool:
    (ca, ta), (cb, tb) = a.state(), b.state()
    return ca == cb and ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta)


@pytest.fixture(scope="module")
def weighted(tmp_path_factory, names: list[str]) -> tuple[Path, Path, list[str], list[int]]:
    """names[:3000] with weights 1..9, as item<TAB>count, and the list repeated."""
    folder = tmp_path_factory.mktemp("weighted")
    rng = random.Random(5)
    items = names[:3000]
    weights = [rng.randint(1, 9) for _ in items]
    w = folder / "w.tsv"
    w.write_text("".join(f"{s}\t{c}\n" for s, c in zip(items, weights)))
    x = folder / "x.txt"
    x.write_text("".join(f"{s}\n" * c for s, c in zip(items, weights)))
    return w, x, items, weights


@pytest.mark.parametrize(
    "flags",
    [
        ["--smooth", "0"],
        ["--smooth", "1"],
        ["--smooth", "0.25", "--order", "3"],
        ["--smooth", "kn", "--order", "3"],
        ["--smooth", "mkn", "--order", "4"],
        ["--smooth", "wb"],
        ["--smooth", "abs", "--order", "3"],
        ["--smooth", "auto"],
        ["--backend", "neural", "--steps", "30"],
        ["--backend", "neural", "--steps", "10", "--order", "3", "--optimizer", "lbfgs"],
    ],
    ids=lambda f: " ".join(f),
)
def test_a_weighted_fit_is_the_repeated_lists_model(tmp_path: Path, weighted, flags) -> None:
    w, x, items, weights = weighted
    models, reports = [], []
    for data, extra in ((w, ["--weighted"]), (x, [])):
        out = tmp_path / f"{data.stem}.ngk"
        args = ["fit", str(data), "--val-fraction", "0", "-o", str(out), "--json"]
        code, stdout, err = run(*args, *flags, *extra)
        assert code == 0, err
        models.append(load(out).model)
        reports.append(json.loads(stdout))
    assert _same_state(*models)
    assert models[0].training.items == models[1].training.items == sum(weights)
    assert models[0].training.tokens == models[1].training.tokens
    a, b = (r["metrics"]["train"] for r in reports)
    assert a["tokens"] == b["tokens"] == sum((len(s) + 1) * c for s, c in zip(items, weights))
    assert a["nll"] == pytest.approx(b["nll"], rel=1e-12)
    assert reports[0]["data"]["items"] == 3000 and reports[0]["data"]["weight"] == sum(weights)
    probe = ["emma", "zzq", items[7]]
    assert [models[0].logprob(s) for s in probe] == [models[1].logprob(s) for s in probe]


def test_weighted_counting_in_shards_is_the_one_process_count(tmp_path: Path, weighted) -> None:
    w, _, _, weights = weighted
    one, two = tmp_path / "one.ngk", tmp_path / "two.ngk"
    base = ["fit", str(w), "--weighted", "--smooth", "kn", "--order", "3"]
    assert run(*base, "--val-fraction", "0", "-o", str(one))[0] == 0
    code, out, err = run(*base, "--shards", "5", "-o", str(two), "--json")
    assert code == 0, err
    assert _same_state(load(one).model, load(two).model)
    assert json.loads(out)["data"]["weight"] == sum(weights)


def test_weighted_eval_is_the_repeated_lists_eval(tmp_path: Path, weighted) -> None:
    w, x, items, weights = weighted
    model = CountLM(order=2, smooth=1).fit(items[::2])
    path = tmp_path / "m.ngk"
    save(model, path)
    code, out, err = run("eval", str(path), str(w), "--weighted", "--json")
    assert code == 0, err
    got = json.loads(out)
    expanded = json.loads(run("eval", str(path), str(x), "--json")[1])["summary"]
    lp = sum(c * model.logprob(s) for s, c in zip(items, weights))  # a plain loop
    tokens = sum(c * (len(s) + 1) for s, c in zip(items, weights))
    summary = got["summary"]
    assert summary["tokens"] == expanded["tokens"] == tokens
    assert summary["nll"] == pytest.approx(-lp / tokens, rel=1e-12)
    assert summary["nll"] == pytest.approx(expanded["nll"], rel=1e-12)
    assert summary["items"] == 3000 and summary["weight"] == sum(weights)
    assert [r["weight"] for r in got["items"][:3]] == weights[:3]


def test_weights_only_where_asked(tmp_path: Path) -> None:
    """Without --weighted a TAB line is one item, as before (nothing is guessed)."""
    path = tmp_path / "w.tsv"
    path.write_text("emma\t3\n")
    assert read_items(path).items == ["emma\t3"]
    assert read_items(path, ListFormat.of(weighted=True)).items == ["emma"]


# -- tabular lists -------------------------------------------------------------


def test_csv_columns_by_name_or_number_with_quotes(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text('id,name,count\n1,"Smith, J.",3\n2,"say ""hi""",2\n3,ava,1\n')
    by_name = read_items(path, ListFormat.of("name", "count"))
    assert by_name.items == ["Smith, J.", 'say "hi"', "ava"]
    assert list(by_name.weights) == [3, 2, 1] and list(by_name.lines) == [2, 3, 4]
    by_number = read_items(path, ListFormat.of("2", "3", header=True))
    assert (by_number.items, list(by_number.weights)) == (by_name.items, [3, 2, 1])
    assert streamed(path, ListFormat.of("name", "count")) == by_name.items


def test_tsv_and_a_given_delimiter(tmp_path: Path) -> None:
    tsv = tmp_path / "w.tsv"
    tsv.write_text('a "b"\t7\tx\n\nc\t2\ty\n')  # TSV: quotes are text
    words = read_items(tsv, ListFormat.of(weighted=True))
    assert words.items == ['a "b"', "c"] and list(words.weights) == [7, 2] and words.blank == 1
    assert read_items(tsv, ListFormat.of("3")).items == ["x", "y"]
    semi = tmp_path / "w.txt"
    semi.write_text("emma;5\nava;2\n")
    words = read_items(semi, ListFormat.of(weighted=True, delimiter="semicolon"))
    assert words.items == ["emma", "ava"] and list(words.weights) == [5, 2]


def test_a_tabular_fit_and_eval_from_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_text("name,n\nemma,3\nava,1\n")
    out = tmp_path / "m.ngk"
    code, stdout, err = run(
        "fit", str(path), "--column", "name", "--weight-column", "n", "--val-fraction", "0",
        "-o", str(out), "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(stdout)["data"]["weight"] == 4
    code, stdout, _ = run("eval", str(out), str(path), "--column", "name", "--json")
    assert [r["item"] for r in json.loads(stdout)["items"]] == ["emma", "ava"]


BAD = [
    ("w.tsv", "emma\t3\nava\t-2\n", ["--weighted"], "w.tsv:2: weight '-2' is negative"),
    ("w.tsv", "emma\t3\nava\tmany\n", ["--weighted"], "w.tsv:2: weight 'many' is not a number"),
    ("w.tsv", "emma\t2.5\n", ["--weighted"], "w.tsv:1: weight '2.5' is fractional"),
    ("w.tsv", "emma\t0\n", ["--weighted"], "w.tsv:1: weight '0' is zero"),
    ("w.tsv", "emma\t3\nava\n", ["--weighted"], "w.tsv:2: no column 2 (weight)"),
    ("w.tsv", "emma\t3\n \t4\n", ["--weighted"], "w.tsv:2: empty item with weight 4"),
    ("w.csv", "a,b\nemma,1\n", ["--column", "3"], "w.csv:1: no column 3 (item)"),
    ("w.csv", "name,n\nemma,1\n", ["--column", "nmae"], "w.csv:1: no column 'nmae' in the header"),
    (
        "w.csv",
        "name,n\nemma,1\n",
        ["--column", "2", "--header", "--weight-column", "x"],
        "w.csv:1: no column 'x' in the header",
    ),
    ("w.csv", 'name\n"emma\n', ["--column", "name"], "w.csv:2: bad CSV quoting"),
]


@pytest.mark.parametrize(("name", "text", "flags", "message"), BAD, ids=[b[3] for b in BAD])
def test_bad_tabular_input_is_one_line_and_writes_nothing(
    tmp_path: Path, name: str, text: str, flags: list[str], message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    out = tmp_path / "m.ngk"
    code, stdout, err = run("fit", str(path), *flags, "-o", str(out), "--json")
    assert code != 0 and stdout == "" and not out.exists()
    assert f"{tmp_path}/{message}" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    model = tmp_path / "ok.ngk"
    save(CountLM().fit(["emma", "ava"]), model)
    code, stdout, err = run("eval", str(model), str(path), *flags, "--json")
    assert code != 0 and stdout == "" and message in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--column", "0"], "--column 0: columns are numbered from 1"),
        (["--delimiter", ","], "--delimiter applies to tabular lists"),
        (["--weighted", "--delimiter", "::"], "--delimiter '::': give one character"),
        (["--weighted", "--dedup"], "--dedup keeps each item once, ignoring its weight"),
        (["--dedup", "--workers", "2"], "--dedup needs the whole list in one process"),
    ],
)
def test_bad_list_options(tmp_path: Path, flags: list[str], message: str) -> None:
    path = tmp_path / "w.txt"
    path.write_text("emma\t1\n")
    code, _, err = run("fit", str(path), *flags, "-o", str(tmp_path / "m.ngk"))
    assert code != 0 and message in err and not (tmp_path / "m.ngk").exists()


# -- de-duplication -------------------------------------------------------------


def test_dedup_trains_on_each_name_once(tmp_path: Path, names_path: Path, names) -> None:
    out = tmp_path / "d.ngk"
    code, stdout, err = run("fit", str(names_path), "--dedup", "--val-fraction", "0",
                            "-o", str(out), "--json")  # fmt: skip
    assert code == 0, err
    data = json.loads(stdout)["data"]
    types = list(dict.fromkeys(names))  # a plain loop's first occurrences
    assert (data["items"], data["duplicates"], data["dedup"]) == (32_033, 2_539, len(types))
    assert len(types) == 29_494
    assert _same_state(load(out).model, CountLM(order=2, smooth=1).fit(types))


def test_dedup_compares_items_after_the_rule(tmp_path: Path) -> None:
    path = tmp_path / "people.txt"
    path.write_text("Anna\nanna\nZoë\nzoe\nZoe\nbob\nbob\n", encoding="utf-8")
    out = tmp_path / "d.ngk"
    flags = ["--dedup", "--val-fraction", "0", "--case", "lower", "--accents", "strip"]
    code, stdout, err = run("fit", str(path), *flags, "-o", str(out), "--json")
    assert code == 0, err
    data = json.loads(stdout)["data"]
    # 6 distinct spellings (bob twice is a plain duplicate), 3 items under the rule
    assert (data["dedup"], data["dedup_merged"], data["duplicates"]) == (3, 3, 1)
    assert _same_state(load(out).model, CountLM(order=2, smooth=1).fit(["anna", "zoe", "bob"]))
    code, stdout, _ = run("fit", str(path), *flags, "-o", str(out))
    assert code == 0 and "3 of 7 (3 spellings merged by the rule)" in stdout


# -- models counted in shards know their training items ----------------------------


@pytest.mark.skipif(not SPLIT.exists(), reason="needs /work/shared/data/makemore-split")
@pytest.mark.parametrize("flags", [["--workers", "2"], ["--shards", "3"]])
def test_sharded_fits_mark_training_items_as_one_process_fits_do(tmp_path: Path, flags) -> None:
    train, test = SPLIT / "train.txt", SPLIT / "test.txt"
    outs = []
    for name, extra in (("one", ["--val-fraction", "0"]), ("sharded", flags)):
        model = tmp_path / f"{name}.ngk"
        assert run("fit", str(train), *extra, "-o", str(model))[0] == 0
        outs.append(json.loads(run("eval", str(model), str(test), "--json")[1]))
    assert outs[0] == outs[1]
    assert outs[1]["summary"]["in_train"] == 153
    assert all(r["in_train"] is not None for r in outs[1]["items"])
    seen = set(train.read_text().split())
    assert [r["in_train"] for r in outs[1]["items"]] == [
        r["item"] in seen for r in outs[1]["items"]
    ]


def test_a_weighted_corpus_counts_the_repeated_windows(names) -> None:
    """counts.py directly, at every order: the weighted table is the repeated one."""
    from ngramkit.counts import NgramCounts

    rng = random.Random(2)
    items = names[:500]
    weights = [rng.randint(1, 30) for _ in items]
    corpus = Corpus.from_items(items, weights=weights)
    repeated = Corpus.from_items([s for s, c in zip(items, weights) for _ in range(c)])
    for order in (1, 2, 3, 5):
        a = NgramCounts.count(corpus, order, chunk_tokens=700)
        b = NgramCounts.count(repeated, order)
        c = NgramCounts.count_items(items, corpus.vocab, order, 600, weights=weights)
        assert torch.equal(a.top_keys, b.top_keys) and torch.equal(a.top_counts, b.top_counts)
        assert torch.equal(c.top_keys, b.top_keys) and torch.equal(c.top_counts, b.top_counts)
    neural = [NeuralLM(order=2, steps=5).fit(c) for c in (corpus, repeated)]
    assert _same_state(*neural)
    assert math.isclose(neural[0].logprob("emma"), neural[1].logprob("emma"), rel_tol=0)


def test_count_tables_of_a_weighted_list_fit_the_repeated_lists_model(tmp_path, weighted):
    w, x, _, weights = weighted
    table, model, plain = tmp_path / "w.counts", tmp_path / "fc.ngk", tmp_path / "x.ngk"
    code, out, err = run("count", str(w), "--weighted", "--order", "3", "-o", str(table), "--json")
    assert code == 0, err
    assert json.loads(out)["data"]["weight"] == sum(weights)
    assert run("fit", "--from-counts", str(table), "--smooth", "kn", "-o", str(model))[0] == 0
    flags = ["--order", "3", "--smooth", "kn", "--val-fraction", "0"]
    assert run("fit", str(x), *flags, "-o", str(plain))[0] == 0
    assert _same_state(load(model).model, load(plain).model)


def test_a_header_split_at_the_wrong_character_says_which_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "w.txt"  # a CSV without the .csv name: TAB is assumed
    path.write_text("name,n\nemma,2\n")
    with pytest.raises(DataError, match=r"w.txt:1: no column 'name' .*give --delimiter ','"):
        read_items(path, ListFormat.of("name"))
    assert read_items(path, ListFormat.of("name", delimiter=",")).items == ["emma"]
