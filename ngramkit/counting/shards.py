"""Shards: pieces of the input files that can be counted independently.

A shard is a byte range of one file (reader.Shard, read by reader.read_shard).
This module only plans them; it does not read, tokenize or count.
"""

from __future__ import annotations

import itertools
import stat
from pathlib import Path

from ..errors import DataError
from ..reader import STDIN, Shard, bind_format, check_path, compression
from ..tabular import ListFormat


def plan(paths: list[str], n_shards: int, fmt: ListFormat | None = None) -> list[Shard]:
    """About `n_shards` shards over `paths`, cut by bytes: at least one per non-empty file.

    Each file gets shards in proportion to its size; the cuts are plain byte
    offsets (the reader finds line boundaries), so planning reads no data (but
    a tabular list's header, to number its named columns). A compressed or
    UTF-16 file cannot be cut at byte offsets: it is one shard, read whole.
    """
    sizes = [_size(p) for p in paths]
    total = sum(sizes)
    shards: list[Shard] = []
    for path, size in zip(paths, sizes):
        if size == 0:
            continue
        bound = bind_format(path, fmt)
        k = 1 if compression(path) else max(1, round(n_shards * size / total))
        cuts = [size * i // k for i in range(k + 1)]
        shards += [Shard(path, a, b, bound) for a, b in itertools.pairwise(cuts) if b > a]
    if not shards:
        raise DataError(f"{', '.join(paths)}: no items, the input is empty")
    return shards


def _size(path: str) -> int:
    if path == STDIN:
        raise DataError("sharded counting reads files, not stdin ('-')")
    st = Path(check_path(path)).stat()
    if not stat.S_ISREG(st.st_mode):  # a FIFO's size is 0 however much it holds
        raise DataError(
            f"{path}: is a FIFO or a device, not a regular file: counting cuts files into "
            "shards by bytes (count, --workers, --shards, --dask); save it to a file first "
            "(fit without those reads it as a stream)"
        )
    return st.st_size
