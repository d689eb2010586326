"""Counting under a memory budget (`fit --memory`): sorted runs on disk, merged.

Chunk tables (sorted keys, counts) are merged in memory as `merge_all`
does until they hold `run_bytes` (a quarter of what the budget leaves
above the process's memory when counting starts); that table is then
written to a temporary file as one sorted run, and counting goes on with
an empty stack. At the end the runs are merged a block at a time (a k-way
merge: every key up to the smallest last key of the blocks in hand is
final), into the one table the estimate needs. Counts are integer sums of
the same keys, so the table is the in-memory one, entry for entry.

Runs live in a folder made under the budget's `temp_dir` (the system's
temporary folder by default) at the first spill, and removed when counting
ends however it ends (an error, a full disk, Ctrl-C). A budget that leaves
no room for one chunk, or that the counted table itself overflows, is one
clear line (OptionError); so is a temporary folder that fills up.
"""

from __future__ import annotations

import errno
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import torch

from .. import threads
from ..container import tensor_view
from ..counts import CHUNK_TOKENS, GROUP_ENTRIES, Top, grouped, merge_all, merge_sorted
from ..errors import OptionError
from ..memory import Budget, mib, release, resident

ENTRY = 16  # bytes of one n-gram in a table or run: int64 key, int64 count
MIN_ROOM = CHUNK_TOKENS * 128  # bytes one chunk's counting needs above the process (16 MiB)
READ_BLOCK = 2**16  # entries of each run read at once when merging
RUN_SHARE = 6  # a run holds at most 1/RUN_SHARE of the room the budget leaves


def count_within(parts: Iterable[Top], budget: Budget) -> Top:
    """merge_all(parts, merge_sorted) with at most about `budget.limit` bytes resident."""
    start = resident()
    room = budget.limit - start
    need = MIN_ROOM * threads.pool_size()  # each counting thread holds a chunk's temporaries
    if room < need:
        raise OptionError(
            f"--memory {mib(budget.limit)} is too small to make progress: this process "
            f"already holds {mib(start)} (Python, torch, the items read) and counting needs "
            f"{mib(need)} more; give at least {mib(start + need)}"
        )
    run_bytes = max(room // RUN_SHARE, ENTRY * READ_BLOCK)
    # Resident memory that spills whatever the tables hold: counting's temporaries
    # and the heap's holes come on top of the tables (3-4 times a run's bytes at
    # its peak on the stdlib corpus), and a spill's own merge needs room too.
    high = start + room // 2
    runs = Runs(budget.temp_dir)
    try:
        stack: list[tuple[int, Top]] = []  # merge_all's stack: (parts merged, table)
        held = 0  # entries in the stack
        # groups small next to a run: a group's sort temporaries stay within the budget
        for part in grouped(parts, min(GROUP_ENTRIES, run_bytes // (4 * ENTRY))):
            size = 1
            held += len(part[0])
            while stack and stack[-1][0] == size:
                n, before = stack.pop()
                held -= len(before[0]) + len(part[0])
                part = merge_sorted(before, part)
                held += len(part[0])
                size += n
            stack.append((size, part))
            if held * ENTRY > run_bytes or (held > READ_BLOCK and resident() > high):
                runs.write(merge_all([t for _, t in stack], merge_sorted))
                stack, held = [], 0
                release()
        if not runs.paths:
            table = merge_all([t for _, t in stack], merge_sorted)
        else:
            if stack:
                runs.write(merge_all([t for _, t in stack], merge_sorted))
            del stack
            release()
            table = runs.merge()
    finally:
        runs.close()
    release()  # the chunks' freed temporaries are not held
    if resident() > budget.limit:
        raise OptionError(
            f"--memory {mib(budget.limit)} is too small: the {len(table[0]):,} distinct "
            f"n-grams take {mib(ENTRY * len(table[0]))} and the estimate needs them in "
            f"memory, above the {mib(start)} this process held before counting"
        )
    return table


class Runs:
    """Sorted runs of (keys, counts), each one file: keys then counts, int64."""

    def __init__(self, temp_dir: str | None) -> None:
        self.temp_dir = temp_dir
        self.folder: Path | None = None  # made at the first spill
        self.paths: list[Path] = []
        self.lengths: list[int] = []

    def write(self, table: Top) -> None:
        """Spill one sorted table; OptionError (one line) when the folder fills up."""
        keys, counts = table
        if self.folder is None:
            where = self.temp_dir or tempfile.gettempdir()
            try:
                self.folder = Path(tempfile.mkdtemp(prefix="ngramkit-runs-", dir=where))
            except OSError as e:
                raise OptionError(
                    f"--temp-dir {where}: cannot write there ({e.strerror})"
                ) from None
        path = self.folder / f"run{len(self.paths)}.bin"
        self.paths.append(path)  # listed first: close() removes a half-written run too
        self.lengths.append(len(keys))
        try:
            _dump(path, keys, counts)
        except OSError as e:
            where = self.folder.parent
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise OptionError(
                    f"--temp-dir {where}: no space left for a sorted run of "
                    f"{mib(ENTRY * len(keys))}; free space there or give another --temp-dir"
                ) from None
            raise OptionError(
                f"--temp-dir {where}: cannot write a sorted run ({e.strerror})"
            ) from None

    def merge(self, block: int = READ_BLOCK) -> Top:
        """The runs merged into one table (sorted unique keys, summed counts)."""
        total = sum(self.lengths)
        keys = torch.empty(total, dtype=torch.long)  # its unwritten tail is never touched
        counts = torch.empty(total, dtype=torch.long)
        used = 0
        readers = [_Reader(p, n, block) for p, n in zip(self.paths, self.lengths)]
        try:
            while live := [r for r in readers if r.keys is not None]:
                pivot = min(int(r.keys[-1]) for r in live)  # type: ignore[index]
                k, c = merge_all([r.take(pivot) for r in live], merge_sorted)
                keys[used : used + len(k)] = k
                counts[used : used + len(k)] = c
                used += len(k)
        finally:
            for r in readers:
                r.file.close()
        return keys[:used], counts[:used]

    def close(self) -> None:
        """Remove the runs and their folder."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def _dump(path: Path, keys: torch.Tensor, counts: torch.Tensor) -> None:
    """Write one run: keys [M] then counts [M], int64, native byte order."""
    with path.open("wb") as f:
        f.write(tensor_view(keys.contiguous()))  # the tensors' bytes: no numpy needed
        f.write(tensor_view(counts.contiguous()))


class _Reader:
    """One run read `block` entries at a time: the block in hand is keys, counts."""

    def __init__(self, path: Path, length: int, block: int) -> None:
        self.file: BinaryIO = path.open("rb")
        self.length, self.block, self.pos = length, block, 0
        self.keys: torch.Tensor | None = None
        self.counts = torch.zeros(0, dtype=torch.long)
        self._load()

    def _load(self) -> None:
        """The next block of the run, or keys None once it is read."""
        n = min(self.block, self.length - self.pos)
        if n <= 0:
            self.keys = None
            return
        self.keys, self.counts = self._read(self.pos, n), self._read(self.length + self.pos, n)
        self.pos += n

    def _read(self, entry: int, n: int) -> torch.Tensor:
        out = torch.empty(n, dtype=torch.long)
        self.file.seek(8 * entry)
        if self.file.readinto(tensor_view(out)) != 8 * n:
            raise OptionError(f"{self.file.name}: a sorted run was cut short (removed meanwhile?)")
        return out

    def take(self, pivot: int) -> Top:
        """The entries of the block in hand with keys <= pivot (taken from it)."""
        assert self.keys is not None
        cut = int(torch.searchsorted(self.keys, pivot, right=True))
        out = self.keys[:cut], self.counts[:cut]
        self.keys, self.counts = self.keys[cut:], self.counts[cut:]
        if len(self.keys) == 0:
            self._load()
        return out
