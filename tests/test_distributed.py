"""Sharded counting: shards, count tables, merging, files, and the engines.

The reference is always the single-process model (CountLM.fit on all items,
what `ngramkit fit DATA --val-fraction 0` trains): a model counted in any
number of shards, here, in local processes or on Dask, must export the same
ARPA bytes and give the same token_logprobs bit for bit.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from ngramkit.backends.count import CountLM
from ngramkit.cli import cli
from ngramkit.corpus import Corpus
from ngramkit.counting import (
    DaskCluster,
    InProcess,
    LocalPool,
    count_files,
    load,
    plan,
    save,
)
from ngramkit.counting.tasks import count_shard
from ngramkit.counts import NgramCounts, merge_all
from ngramkit.errors import CountTableError
from ngramkit.fitting import fit_counted
from ngramkit.persist import load as load_model
from ngramkit.reader import read_items, read_shard
from ngramkit.smoothing import arpa
from ngramkit.tokenizer import Vocabulary

NAMES = Path(__file__).resolve().parents[1] / "examples" / "names.txt"
ORDER, SMOOTH = 4, "mkn"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def arpa_text(model: CountLM) -> str:
    out = io.StringIO()
    arpa.write(model, out)
    return out.getvalue()


@pytest.fixture(scope="module")
def reference() -> tuple[CountLM, str, torch.Tensor]:
    """The single-process model, its ARPA text and its scores of every training token."""
    items = read_items(NAMES).items
    model = CountLM(order=ORDER, smooth=SMOOTH).fit(Corpus.from_items(items))
    grams = Corpus.from_items(items, model.vocab).grams(ORDER)
    return model, arpa_text(model), grams


def assert_identical(run_table: NgramCounts, reference: tuple[CountLM, str, torch.Tensor]) -> None:
    model, text, grams = reference
    fitted = fit_counted(CountLM, run_table, {"order": ORDER, "smooth": SMOOTH})
    assert arpa_text(fitted) == text
    ctx, nxt = grams[:, :-1], grams[:, -1]
    assert torch.equal(fitted.token_logprobs(ctx, nxt), model.token_logprobs(ctx, nxt))


# -- shards ---------------------------------------------------------------

lines = st.lists(st.text(alphabet="ab \t\r", max_size=6), max_size=25)


@settings(max_examples=60, deadline=None)
@given(lines=lines, n=st.integers(1, 9), final_newline=st.booleans())
def test_shards_cover_every_line_once(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str], n: int, final_newline: bool
) -> None:
    """Items and blank lines of all shards, in order, are those of the whole file."""
    path = tmp_path_factory.mktemp("shards") / "data.txt"
    path.write_bytes(("\n".join(lines) + ("\n" if final_newline else "")).encode())
    whole = read_items(path, allow_empty=True)
    if path.stat().st_size == 0:
        return
    parts = [read_shard(s) for s in plan([str(path)], n)]
    assert [i for p in parts for i in p.items] == whole.items
    assert sum(p.blank for p in parts) == whole.blank


def test_plan_cuts_by_size(tmp_path: Path) -> None:
    big, small, empty = tmp_path / "big", tmp_path / "small", tmp_path / "empty"
    big.write_text("x\n" * 300)
    small.write_text("y\n" * 100)
    empty.write_text("")
    shards = plan([str(big), str(small), str(empty)], 4)
    assert [(Path(s.path).name, s.start, s.end) for s in shards] == [
        ("big", 0, 200),
        ("big", 200, 400),
        ("big", 400, 600),
        ("small", 0, 200),
    ]


# -- count tables -----------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    items=st.lists(st.text(alphabet="abc", min_size=1, max_size=6), min_size=3, max_size=15),
    order=st.integers(1, 4),
    cut=st.data(),
)
def test_merge_is_associative_and_commutative(
    items: list[str], order: int, cut: st.DataObject
) -> None:
    """Three parts merged in any tree equal a plain-loop count of the top order."""
    vocab = Vocabulary.build(items)
    i, j = sorted(cut.draw(st.lists(st.integers(0, len(items)), min_size=2, max_size=2)))
    a, b, c = (NgramCounts.count_items(p, vocab, order) for p in (items[:i], items[i:j], items[j:]))
    trees = [a.merge(b).merge(c), c.merge(a.merge(b)), a.merge(c.merge(b)), merge_all([b, c, a])]
    V = len(vocab)
    want: Counter[int] = Counter()
    for item in items:
        seq = [0] * (order - 1) + [0, *vocab.encode(item), 0]
        for end in range(order, len(seq) + 0):
            key = 0
            for t in seq[end - order + 1 : end + 1]:
                key = key * V + t
            want[key] += 1
    for t in trees:
        assert dict(zip(t.top_keys.tolist(), t.top_counts.tolist())) == dict(want)
        assert (t.provenance.items, t.tokens) == (len(items), sum(len(s) + 1 for s in items))


def test_table_file_round_trip(tmp_path: Path) -> None:
    items = read_items(NAMES).items[:500]
    table = NgramCounts.count_items(items, Vocabulary.build(items), 3, blank=2, source="names")
    loaded = load(save(table, tmp_path / "n.counts"))
    assert torch.equal(loaded.top_keys, table.top_keys)
    assert torch.equal(loaded.top_counts, table.top_counts)
    made = loaded.provenance
    assert (loaded.vocab, loaded.order, made.items, made.blank, made.sources) == (
        table.vocab,
        3,
        500,
        2,
        ("names",),
    )


def test_oov_items_are_counted_not_dropped_silently(tmp_path: Path) -> None:
    vocab = Vocabulary.build(["ab"])
    table = NgramCounts.count_items(["ab", "abc", "ba", "z"], vocab, 2)
    assert (table.provenance.items, table.provenance.oov, table.tokens) == (4, 2, 6)


# -- identical models: in this process, local processes, Dask ----------------


@pytest.mark.parametrize("n_shards", [1, 2, 7])
def test_in_process_shards_give_the_single_process_model(reference, n_shards: int) -> None:
    result = count_files([str(NAMES)], ORDER, InProcess(), n_shards=n_shards)
    assert len(result.shards) == n_shards
    assert_identical(result.table, reference)


def test_local_processes_give_the_single_process_model(reference) -> None:
    pool = LocalPool(2)
    try:
        for n_shards in (2, 7):
            assert_identical(
                count_files([str(NAMES)], ORDER, pool, n_shards=n_shards).table, reference
            )
    finally:
        pool.close()


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        worker_dashboard_address=None,
    )
    client = distributed.Client(cluster, timeout=30)
    yield client
    client.close()
    cluster.close()


@pytest.mark.parametrize("n_shards", [1, 2, 7])
def test_dask_gives_the_single_process_model(reference, dask_client, n_shards: int) -> None:
    engine = DaskCluster.from_client(dask_client)
    result = count_files([str(NAMES)], ORDER, engine, n_shards=n_shards)
    assert len(result.shards) == n_shards
    assert_identical(result.table, reference)


def test_dask_counts_a_weighted_list_as_the_repeated_list(dask_client, tmp_path: Path) -> None:
    from ngramkit.tabular import ListFormat

    pairs = [("emma", 3), ("ava", 1), ("olivia", 5), ("mia", 2)] * 7
    path = tmp_path / "freq.tsv"
    path.write_text("".join(f"{w}\t{n}\n" for w, n in pairs))
    engine = DaskCluster.from_client(dask_client)
    fmt = ListFormat.of(weighted=True)
    run = count_files([str(path)], 3, engine, n_shards=3, fmt=fmt)
    assert run.table.provenance.weight == sum(n for _, n in pairs)
    repeated = [w for w, n in pairs for _ in range(n)]
    model = CountLM(order=3, smooth="kn").fit(Corpus.from_items(repeated))
    fitted = fit_counted(CountLM, run.table, {"order": 3, "smooth": "kn"})
    assert arpa_text(fitted) == arpa_text(model)


def count_or_die(shard, vocab, order, marker: str) -> NgramCounts:
    """Kills its own worker process (SIGKILL) the first time, then counts."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL)  # only the first attempt creates it
    except FileExistsError:
        return count_shard(shard, vocab, order)
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


def test_dask_retries_a_killed_worker(reference, dask_client, tmp_path: Path) -> None:
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests
    engine = DaskCluster.from_client(dask_client)
    marker = str(tmp_path / "killed-once")

    def count(shard, vocab, order):
        return count_or_die(shard, vocab, order, marker)

    result = count_files([str(NAMES)], ORDER, engine, n_shards=3, count=count)
    assert os.path.exists(marker)  # a worker did die mid-count
    assert_identical(result.table, reference)
    dask_client.wait_for_workers(2, timeout=30)


# -- the command line --------------------------------------------------------


def test_cli_count_parts_then_fit_equals_fit(tmp_path: Path) -> None:
    lines = NAMES.read_text().splitlines()
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("\n".join(lines[:10000]) + "\n")
    b.write_text("\n".join(lines[10000:]) + "\n")
    ca, cb = str(tmp_path / "a.counts"), str(tmp_path / "b.counts")
    assert run("count", str(a), "-o", ca, "--order", "3", "--vocab-from", str(NAMES))[0] == 0
    assert run("count", str(b), "-o", cb, "--order", "3", "--vocab-from", ca)[0] == 0
    m0, m1, m2 = (str(tmp_path / f"m{i}.ngk") for i in range(3))
    common = ["--order", "3", "--smooth", "kn", "--samples", "3"]
    assert run("fit", str(NAMES), "--val-fraction", "0", *common, "-o", m0, "--json")[0] == 0
    assert run("fit", "--from-counts", cb, ca, "--smooth", "kn", "-o", m1, "--json")[0] == 0
    code, out = run("fit", str(a), str(b), *common, "--shards", "5", "-o", m2, "--json")
    assert code == 0 and '"shards": 5' in out
    texts = []
    for m in (m0, m1, m2):
        assert run("export", m, "-o", m + ".arpa")[0] == 0
        texts.append(Path(m + ".arpa").read_bytes())
    assert texts[0] == texts[1] == texts[2]


def test_count_stores_the_rule_and_unk_as_fit_does(tmp_path: Path) -> None:
    data = tmp_path / "names.txt"
    data.write_text("Emma\nZoë\nanna\nŁukasz\nZOE\nÉmile\n" * 3, encoding="utf-8")
    rule = ["--case", "lower", "--accents", "strip", "--unk"]
    counts, m0, m1 = (str(tmp_path / n) for n in ("t.counts", "m0.ngk", "m1.ngk"))
    code, out = run("count", str(data), "-o", counts, "--order", "3", *rule, "--json")
    assert code == 0 and '"normalized": {"form": 0, "case": 15, "accents": 9}' in out, out
    code, out = run("fit", "--from-counts", counts, "--smooth", "kn", "-o", m1, "--json")
    assert code == 0 and '"normalized": {"form": 0, "case": 15, "accents": 9}' in out, out
    fit = ["fit", str(data), "--order", "3", "--smooth", "kn", *rule]
    assert run(*fit, "--val-fraction", "0", "-o", m0, "--json")[0] == 0
    models = [load_model(m).model for m in (m0, m1)]
    assert models[0].vocab == models[1].vocab and models[1].vocab.unk
    assert models[1].vocab.normalization.to_json()["case"] == "lower"
    assert arpa_text(models[0]) == arpa_text(models[1])
    assert models[1].logprob("ZOË") == models[0].logprob("zoe")  # the rule applies at eval
    changed = '"normalized": {"form": 0, "case": 15, "accents": 9}'
    m2 = str(tmp_path / "m2.ngk")
    code, out = run(*fit, "--shards", "2", "-o", m2, "--json")
    assert code == 0 and out.count(changed) == 1 and '"shards": 2' in out  # as one process
    assert changed in run(*fit, "--val-fraction", "0", "-o", m0, "--json")[1]


# -- bad input: one line, non-zero exit ---------------------------------------


def one_line_error(code: int, out: str, *words: str) -> None:
    assert code == 1, out
    assert out.startswith("Error: ") and out.count("\n") == 1 and "Traceback" not in out, out
    for w in words:
        assert w in out, out


def test_unreachable_scheduler_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("distributed")
    import time

    from ngramkit.counting import engines

    monkeypatch.setattr(engines, "CONNECT_TIMEOUT", 1.5)
    start = time.perf_counter()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out = run(
        "fit", str(NAMES), "--dask", f"tcp://127.0.0.1:{port}", "-o", str(tmp_path / "m")
    )
    one_line_error(code, out, "cannot reach the Dask scheduler", str(port), "1.5 s")
    assert time.perf_counter() - start < 10


@pytest.fixture
def parts(tmp_path: Path) -> dict[str, str]:
    items = read_items(NAMES).items
    out = {}
    for name, part, order in (
        ("a", items[:300], 3),
        ("b", ["ab", "ba", "abba"], 3),
        ("c", items, 2),
    ):
        out[name] = str(
            save(NgramCounts.count_items(part, Vocabulary.build(part), order), tmp_path / name)
        )
    out["words"] = str(
        save(
            NgramCounts.count_items(items[:300], Vocabulary.build(items[:300], "word"), 3),
            tmp_path / "w",
        )
    )
    return out


def test_merging_different_orders_is_a_clear_error(parts: dict[str, str]) -> None:
    code, out = run("fit", "--from-counts", parts["a"], parts["c"])
    one_line_error(code, out, "different orders", "order 3", "order 2")


def test_merging_different_vocabularies_is_a_clear_error(parts: dict[str, str]) -> None:
    one_line_error(*run("fit", "--from-counts", parts["a"], parts["b"]), "different vocabularies")
    one_line_error(
        *run("fit", "--from-counts", parts["a"], parts["words"]), "different vocabularies"
    )


def test_other_formats_are_a_clear_error(parts: dict[str, str], tmp_path: Path) -> None:
    model = str(tmp_path / "m.ngk")
    assert run("fit", str(NAMES), "-o", model, "--samples", "0")[0] == 0
    one_line_error(*run("fit", "--from-counts", parts["a"], model), "a model file")
    one_line_error(*run("fit", "--from-counts", str(NAMES)), "not an ngramkit count table")
    raw = Path(parts["a"]).read_bytes()
    newer = raw.replace(b'"format_version": 1', b'"format_version": 9')
    Path(parts["a"]).write_bytes(newer)
    one_line_error(*run("fit", "--from-counts", parts["a"]), "newer", "upgrade")


@pytest.mark.parametrize("damage", ["flip", "truncate", "header"])
def test_damaged_count_table_is_a_clear_error(parts: dict[str, str], damage: str) -> None:
    path = Path(parts["a"])
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[-5] ^= 0xFF
    elif damage == "truncate":
        raw = raw[: len(raw) - 9]
    else:
        raw[20] = ord("}")
    path.write_bytes(bytes(raw))
    one_line_error(*run("fit", "--from-counts", str(path)), "damaged count table")


def test_loading_checks_the_table_itself(tmp_path: Path) -> None:
    """A file with a valid checksum but unsorted keys is still refused."""
    items = ["ab", "ba"]
    t = NgramCounts.count_items(items, Vocabulary.build(items), 2)
    bad = NgramCounts(t.vocab, 2, t.top_keys.flip(0), t.top_counts)
    with pytest.raises(CountTableError, match="inconsistent"):
        load(save(bad, tmp_path / "bad.counts"))


def test_train_metric_from_the_table_matches_scoring_the_items(reference) -> None:
    """sum of c(g) log p(g) over distinct n-grams == the per-token sum, in blocks or not."""
    from ngramkit.evaluate import corpus_metrics
    from ngramkit.fitting import table_metrics

    model, _, _ = reference
    items = read_items(NAMES).items
    table = NgramCounts.count_items(items, model.vocab, ORDER)
    want = corpus_metrics(model, items)
    for block in (1000, 2**18):
        got = table_metrics(model, table, block=block)
        assert got.tokens == want.tokens
        assert got.logprob == pytest.approx(want.logprob, rel=1e-12)


def test_bad_bytes_in_a_shard_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"anna\nbob\n" * 50 + b"\xff\xfe\n" + b"eve\n" * 50)
    code, out = run("fit", str(path), "--shards", "3", "-o", str(tmp_path / "m"))
    one_line_error(code, out, "bad.txt", "not valid UTF-8", "from byte")


def test_word_tokenizer_shards_give_the_single_process_model(tmp_path: Path) -> None:
    names = read_items(NAMES).items[:3000]
    items = [" ".join(names[i : i + 3]) for i in range(0, len(names), 3)]  # 3 words a line
    path = tmp_path / "words.txt"
    path.write_text("\n".join(items) + "\n")
    ref = CountLM(order=3, smooth="kn").fit(Corpus.from_items(items, kind="word"))
    table = count_files([str(path)], 3, InProcess(), n_shards=5, kind="word").table
    fitted = fit_counted(CountLM, table, {"order": 3, "smooth": "kn"})
    assert fitted.vocab == ref.vocab and arpa_text(fitted) == arpa_text(ref)
