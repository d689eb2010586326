"""`fit --memory`: counting within a budget spills sorted runs and gives the same model.

The spill path is forced on a small corpus by making the budget small next to
the process (`resident` pinned at 0, so the budget is all room); the tables
and the fitted model are compared with the in-memory ones for exact equality.
"""

from __future__ import annotations

import errno
import random
import tempfile
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from ngramkit import CountLM, memory, smoothing
from ngramkit.cli import cli
from ngramkit.corpus import Corpus
from ngramkit.counting import spill
from ngramkit.counts import NgramCounts, merge_sorted
from ngramkit.errors import OptionError
from ngramkit.smoothing import fit as smoothing_fit


def items(n: int = 6000, seed: int = 3) -> list[str]:
    """Random items over 12 letters: many distinct 4-grams, fast to count."""
    rng = random.Random(seed)
    return [
        "".join(rng.choice("abcdefghijkl") for _ in range(rng.randint(1, 24))) for _ in range(n)
    ]


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A spill every few chunks: budget room 64 KiB, runs read 500 entries at a time,
    with no numpy (ngramkit's requirements do not hold it).

    Returns the sizes of the runs written (filled as they are written)."""
    written: list[int] = []
    dump = spill._dump
    monkeypatch.setattr(spill, "resident", lambda: 0)
    monkeypatch.setattr(memory, "resident", lambda: 0)
    monkeypatch.setattr(spill, "MIN_ROOM", 0)
    monkeypatch.setattr(smoothing_fit, "BACKOFF_BYTES", 0)  # the estimate's own check: below
    monkeypatch.setattr(smoothing_fit, "BACKOFF_FIXED", 0)
    monkeypatch.setattr(smoothing, "ADDK_BYTES", 0)
    monkeypatch.setattr(spill, "READ_BLOCK", 500)
    monkeypatch.setattr(spill.Runs.merge, "__defaults__", (500,))

    def spy(path: Path, keys: torch.Tensor, counts: torch.Tensor) -> None:
        written.append(len(keys))
        dump(path, keys, counts)

    monkeypatch.setattr(spill, "_dump", spy)

    def no_numpy(self: torch.Tensor) -> None:
        raise RuntimeError("Numpy is not available")  # as torch's CPU wheel says without it

    monkeypatch.setattr(torch.Tensor, "numpy", no_numpy)  # the base install has no numpy
    return written


def test_parse_size() -> None:
    assert memory.parse_size("500M") == 500 * 2**20
    assert memory.parse_size("1.5g") == 3 * 2**29
    assert memory.parse_size("65536") == 65536
    assert memory.parse_size("2KiB") == 2048
    assert memory.parse_size("50%") == memory.physical() // 2
    for bad in ("abc", "5X", "-1M", "", "0", "1M2"):
        with pytest.raises(OptionError):
            memory.parse_size(bad)


def test_spilled_counts_equal_in_memory(small: list[int], tmp_path: Path) -> None:
    corpus = Corpus.from_items(items())
    plain = NgramCounts.count(corpus, 4, chunk_tokens=2048)
    with memory.budget(2**16, str(tmp_path)):
        spilled = NgramCounts.count(corpus, 4, chunk_tokens=2048)
    assert len(small) >= 4  # several runs, merged from disk in blocks
    assert sum(small) > len(plain.top_keys)  # runs overlap: the merge sums counts
    assert torch.equal(plain.top_keys, spilled.top_keys)
    assert torch.equal(plain.top_counts, spilled.top_counts)
    assert list(tmp_path.iterdir()) == []  # the runs and their folder are gone


def test_resident_memory_past_half_the_room_spills(
    small: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the tables alone would never fill a run under a 1 GiB budget: the process's own
    # memory (temporaries, the heap's holes) passing half the room makes the spills
    corpus = Corpus.from_items(items())
    plain = NgramCounts.count(corpus, 4, chunk_tokens=2048)
    readings = iter([0])  # counting starts at 0 bytes, then always reads the budget less one
    monkeypatch.setattr(spill, "resident", lambda: next(readings, 2**30 - 1))
    monkeypatch.setattr(spill, "GROUP_ENTRIES", 1000)  # groups small next to the corpus
    with memory.budget(2**30, str(tmp_path)):
        spilled = NgramCounts.count(corpus, 4, chunk_tokens=2048)
    assert len(small) >= 2 and all(n > spill.READ_BLOCK for n in small[:-1])
    assert torch.equal(plain.top_keys, spilled.top_keys)
    assert torch.equal(plain.top_counts, spilled.top_counts)
    assert list(tmp_path.iterdir()) == []


def test_spilled_model_equals_in_memory(small: list[int], tmp_path: Path) -> None:
    data = items(3000, seed=5)
    plain = CountLM(order=4, smooth="mkn").fit(data)
    with memory.budget(2**16, str(tmp_path)):
        spilled = CountLM(order=4, smooth="mkn").fit(data)
    assert small  # it did spill
    a, b = plain.backoff_tables(), spilled.backoff_tables()
    for x, y in zip([*a.keys, *a.logp, *a.log_bow], [*b.keys, *b.logp, *b.log_bow]):
        assert torch.equal(x, y)
    assert plain.learned_ == spilled.learned_


def test_blocked_merge_equals_one_piece() -> None:
    g = torch.Generator().manual_seed(7)
    for _ in range(20):
        ka = torch.unique(torch.randint(0, 5000, (3000,), generator=g))
        kb = torch.unique(torch.randint(0, 5000, (int(torch.randint(0, 3000, (1,))),), generator=g))
        ca, cb = (
            torch.randint(1, 9, ka.shape, generator=g),
            torch.randint(1, 9, kb.shape, generator=g),
        )
        whole = merge_sorted((ka, ca), (kb, cb), block=10**9)
        blocks = merge_sorted((ka, ca), (kb, cb), block=int(torch.randint(1, 90, (1,))))
        assert torch.equal(whole[0], blocks[0]) and torch.equal(whole[1], blocks[1])
        ref: dict[int, int] = {}
        for k, c in [*zip(ka.tolist(), ca.tolist()), *zip(kb.tolist(), cb.tolist())]:
            ref[k] = ref.get(k, 0) + c  # a plain loop: the union, counts summed
        assert whole[0].tolist() == sorted(ref) and whole[1].tolist() == [
            ref[k] for k in sorted(ref)
        ]


def fit_cli(tmp_path: Path, *flags: str) -> tuple[int, str, Path]:
    data = tmp_path / "items.txt"
    data.write_text("\n".join(items(2000)) + "\n")
    out = tmp_path / "m.ngk"
    args = ["fit", str(data), "--order", "4", "--smooth", "mkn", "-o", str(out), *flags]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.stderr, out


def test_cli_malformed_memory(tmp_path: Path) -> None:
    code, err, out = fit_cli(tmp_path, "--memory", "lots")
    assert code != 0 and "--memory 'lots': not a size" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_cli_budget_too_small(tmp_path: Path) -> None:
    code, err, out = fit_cli(tmp_path, "--memory", "1M")
    assert code != 0 and "too small to make progress" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_cli_budget_spills_same_model(small: list[int], tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    code, err, out = fit_cli(tmp_path, "--memory", "64K", "--temp-dir", str(runs))
    assert code == 0, err
    assert small and list(runs.iterdir()) == []
    again = tmp_path / "plain"
    again.mkdir()
    code, err, plain = fit_cli(again)
    assert code == 0, err
    a = CountLM.load(out) if hasattr(CountLM, "load") else None
    assert out.read_bytes()[-(2**16) :] == plain.read_bytes()[-(2**16) :]  # the same tables
    del a


def test_cli_temp_dir_missing_or_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    for where in (tmp_path / "none", tmp_path / "f"):
        code, err, out = fit_cli(tmp_path, "--memory", "1G", "--temp-dir", str(where))
        assert code != 0 and "no such folder" in err and not out.exists()
    code, err, out = fit_cli(tmp_path, "--temp-dir", str(tmp_path))
    assert code != 0 and "give --memory too" in err


def test_cli_temp_dir_not_writable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = tmp_path / "ro"
    runs.mkdir()
    runs.chmod(0o500)

    def refuse(*args: object, **kwargs: object) -> None:  # root writes anywhere: simulate
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    try:
        code, err, out = fit_cli(tmp_path, "--memory", "1G", "--temp-dir", str(runs))
    finally:
        runs.chmod(0o700)
    assert code != 0 and f"--temp-dir {runs}: cannot write there (Permission denied)" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_cli_temp_dir_fills_up(
    small: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()

    def full(path: Path, keys: torch.Tensor, counts: torch.Tensor) -> None:
        path.write_bytes(b"\0" * 100)  # a part written, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(spill, "_dump", full)
    code, err, out = fit_cli(tmp_path, "--memory", "64K", "--temp-dir", str(runs))
    assert code != 0 and f"--temp-dir {runs}: no space left for a sorted run" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
    assert list(runs.iterdir()) == []  # the half-written run and its folder are removed


def test_interrupt_removes_runs(
    small: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump = spill._dump

    def stop(path: Path, keys: torch.Tensor, counts: torch.Tensor) -> None:
        dump(path, keys, counts)
        if len(list(path.parent.iterdir())) >= 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(spill, "_dump", stop)
    with pytest.raises(KeyboardInterrupt), memory.budget(2**16, str(tmp_path)):
        NgramCounts.count(Corpus.from_items(items()), 4, chunk_tokens=2048)
    assert list(tmp_path.iterdir()) == []


def test_table_too_large_for_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spill, "MIN_ROOM", 0)
    seen = iter([0, 2**20])  # before counting, after: the table took the process past 512 KiB
    monkeypatch.setattr(spill, "resident", lambda: next(seen))
    with pytest.raises(OptionError, match="distinct n-grams take"), memory.budget(2**19):
        NgramCounts.count(Corpus.from_items(items(500)), 3, chunk_tokens=2048)


def test_chunking_never_changes_the_table() -> None:
    """Chunks of any size (2^18 is the default now, 2^20 before) give the table of a
    plain loop over every item's padded windows."""
    data = items(800, seed=11)
    corpus = Corpus.from_items(data)
    V, N = len(corpus.vocab), 5
    ref: dict[int, int] = {}
    for item in data:
        ids = [0] * (N - 1) + [corpus.vocab.stoi[c] for c in item] + [0]
        for j in range(len(ids) - N + 1):
            key = 0
            for t in ids[j : j + N]:
                key = key * V + t
            ref[key] = ref.get(key, 0) + 1
    for chunk in (2**20, 2**18, 1000, 50):
        got = NgramCounts.count(corpus, N, chunk_tokens=chunk)
        assert got.top_keys.tolist() == sorted(ref)
        assert got.top_counts.tolist() == [ref[k] for k in sorted(ref)]


def test_require_refuses_what_would_pass_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    memory.require(10**15, "nothing: no budget")  # no budget in force: never refused
    monkeypatch.setattr(memory, "resident", lambda: 300 * 2**20)
    with memory.budget(400 * 2**20):
        memory.require(100 * 2**20, "exactly the room left")
        with pytest.raises(OptionError) as e:
            memory.require(100 * 2**20 + 1, "the estimate of 7 n-grams")
    msg = str(e.value)
    assert msg.startswith("--memory 400 MiB is too small: the estimate of 7 n-grams needs")
    assert "above the 300 MiB this process holds" in msg and "give at least 400 MiB" in msg


def test_cli_budget_that_counting_keeps_but_the_estimate_would_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spill, "resident", lambda: 0)  # counting: the whole budget is room
    monkeypatch.setattr(memory, "resident", lambda: 0)
    monkeypatch.setattr(smoothing_fit, "BACKOFF_BYTES", 2**20)  # an n-gram costs 1 MiB
    code, err, out = fit_cli(tmp_path, "--memory", "64M")
    assert code == 2 and "--memory 64 MiB is too small: the estimate of " in err
    assert "n-grams needs about" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
