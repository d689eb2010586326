"""The large-fit paths (issue 18): grouped merges, threaded chunk counting, item runs,
the training NLL from stored n-grams, first-seen training items. Each against a plain
reference: a dict of counts, a Python loop, the one-thread path, the generic scorer."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ngramkit import CountLM, NgramCounts, threads
from ngramkit.corpus import Corpus, item_runs
from ngramkit.counts import grouped, merge_all, merge_many, merge_sorted
from ngramkit.model import FirstSeen
from ngramkit.persist import load, save
from ngramkit.reader import parse_text

NAMES = Path(__file__).resolve().parents[1] / "examples" / "names.txt"

tables = st.lists(
    st.dictionaries(st.integers(0, 200), st.integers(1, 9), max_size=30), min_size=1, max_size=8
)


def as_top(d: dict[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    keys = sorted(d)
    return torch.tensor(keys, dtype=torch.long), torch.tensor([d[k] for k in keys]).long()


@settings(max_examples=60, deadline=None)
@given(parts=tables, limit=st.integers(1, 60))
def test_merges_sum_counts_as_a_dict_does(parts: list[dict[int, int]], limit: int) -> None:
    want: Counter[int] = Counter()
    for d in parts:
        want.update(d)
    tops = [as_top(d) for d in parts]
    for keys, counts in (merge_many(tops), merge_all(grouped(iter(tops), limit), merge_sorted)):
        assert keys.tolist() == sorted(set(keys.tolist()))  # sorted and unique
        assert dict(zip(keys.tolist(), counts.tolist())) == dict(want)


def test_grouped_yields_nothing_for_no_parts() -> None:
    assert list(grouped(iter([]))) == []


def plain_runs(items: list[str], chunk: int) -> list[tuple[int, int]]:
    """The runs item_runs cuts, by the loop it replaced."""
    out, start, size = [], 0, 0
    for i, item in enumerate(items):
        size += len(item) + 1
        if size >= chunk:
            out.append((start, i + 1))
            start, size = i + 1, 0
    if start < len(items) or not items:
        out.append((start, len(items)))
    return out


@settings(max_examples=200, deadline=None)
@given(items=st.lists(st.text(alphabet="ab", max_size=12), max_size=30), chunk=st.integers(1, 40))
def test_item_runs_cut_as_the_plain_loop(items: list[str], chunk: int) -> None:
    assert list(item_runs(items, chunk)) == plain_runs(items, chunk)


def test_in_order_keeps_order_bounds_pending_and_raises() -> None:
    live, most = 0, 0
    lock = threading.Lock()

    def slow(x: int) -> int:
        nonlocal live, most
        with lock:
            live += 1
            most = max(most, live)
        time.sleep(random.random() / 500)
        with lock:
            live -= 1
        return x * x

    assert list(threads.in_order(slow, range(50), 3)) == [x * x for x in range(50)]
    assert most <= 3
    assert list(threads.in_order(slow, [4], 3)) == [16]  # one item: no pool

    def bad(x: int) -> int:
        if x == 7:
            raise ValueError("seven")
        return x

    with pytest.raises(ValueError, match="seven"):
        list(threads.in_order(bad, range(20), 2))


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_threaded_counting_is_the_one_thread_table(
    workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = NAMES.read_text().split()
    corpus = Corpus.from_items(items)
    one = NgramCounts.count(corpus, 4, chunk_tokens=1 << 12)
    monkeypatch.setattr(threads, "pool_size", lambda: workers)
    many = NgramCounts.count(Corpus.from_items(items), 4, chunk_tokens=1 << 12)
    assert torch.equal(one.top_keys, many.top_keys)
    assert torch.equal(one.top_counts, many.top_counts)


ESTIMATES = [
    (smooth, order)
    for smooth in (0.5, "kn", "mkn", "wb", "abs")
    for order in (1, 2, 3, 5)
    if not (smooth in ("kn", "mkn") and order == 1)  # Kneser-Ney needs a lower order
]


@pytest.mark.parametrize(("smooth", "order"), ESTIMATES)
@pytest.mark.parametrize("unk", [False, True])
def test_training_nll_reads_stored_ngrams_exactly(smooth: object, order: int, unk: bool) -> None:
    items = NAMES.read_text().split()[:3000]
    model = CountLM(order=order, smooth=smooth, unk=unk).fit(items)
    est = model.scorer_.estimate
    counts = NgramCounts.count(Corpus.from_items(items, model.vocab), order)
    keys = counts.top_keys
    assert torch.equal(est.counted_logprobs(keys), est.distinct_logprobs(keys))
    other = torch.randint(0, len(model.vocab) ** order, (500,)).unique()  # mostly unseen
    assert torch.equal(est.counted_logprobs(other), est.distinct_logprobs(other))


def test_first_seen_is_a_set_in_first_order_and_files_keep_it(tmp_path: Path) -> None:
    seen = FirstSeen(["b", "a", "b", "c", "a"])
    assert list(seen) == ["b", "a", "c"] and len(seen) == 3
    assert "a" in seen and "z" not in seen and seen == {"a", "b", "c"}
    items = ["emma", "olivia", "ava", "emma", "zoë"]
    model = CountLM(order=2).fit(items)
    assert list(model.training.seen) == ["emma", "olivia", "ava", "zoë"]
    path = save(model, tmp_path / "m.ngk")
    back = load(path).model
    assert list(back.training.seen) == ["emma", "olivia", "ava", "zoë"]
    save(back, tmp_path / "again.ngk")
    assert (tmp_path / "again.ngk").read_bytes() == path.read_bytes()


@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet="ab \n\r", max_size=60))
def test_reader_counts_distinct_items_as_a_set_does(text: str) -> None:
    words = parse_text("t", text, block=4)
    assert words.counted == len(set(words.items)) == words.distinct


@settings(max_examples=60, deadline=None)
@given(
    d=st.dictionaries(st.integers(0, 5000), st.integers(1, 9), min_size=1, max_size=200),
    slice_=st.integers(1, 40),
    space=st.sampled_from([7, 50, 2000]),
)
def test_suffix_sums_slice_by_slice_equal_a_dict(
    d: dict[int, int], slice_: int, space: int
) -> None:
    from ngramkit import counts as counts_module

    keys, cnt = as_top(d)
    want: Counter[int] = Counter()
    for k, c in d.items():
        want[k % space] += c
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(counts_module, "SUFFIX_SLICE", slice_)
        mp.setattr(counts_module, "BINCOUNT_LIMIT", 0)  # the sorting path
        got_k, got_c = counts_module.suffix_sums(keys, cnt, space)
    assert dict(zip(got_k.tolist(), got_c.tolist())) == dict(want)
    assert got_k.tolist() == sorted(want)
