"""Shards: pieces of the input files that can be counted independently.

A shard is a byte range [start, end) of one file. A line belongs to the shard
that holds its first byte, so cutting a file at any byte offsets gives shards
whose lines, taken together, are exactly the file's lines, each once:

    "ab\\ncd\\nef\\n" cut at byte 4 -> shard [0, 4) reads "ab", "cd";
                                    shard [4, 9) reads "ef".

This module plans shards and reads one; it does not tokenize or count.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..data import decode_lines, parse_lines
from ..errors import DataError

PROBE = 1 << 16  # bytes read at a time while looking for the next line start


@dataclass(frozen=True)
class Shard:
    """Lines of `path` whose first byte lies in [start, end) (byte offsets)."""

    path: str
    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.path}[{self.start}:{self.end}]"


@dataclass(frozen=True)
class ShardText:
    """What a shard holds: its stripped non-blank lines and the blank lines skipped."""

    items: list[str]
    blank: int


def plan(paths: list[str], n_shards: int) -> list[Shard]:
    """About `n_shards` shards over `paths`, cut by bytes: at least one per non-empty file.

    Each file gets shards in proportion to its size; the cuts are plain byte
    offsets (the reader finds line boundaries), so planning reads no data.
    """
    sizes = [_size(p) for p in paths]
    total = sum(sizes)
    shards: list[Shard] = []
    for path, size in zip(paths, sizes):
        if size == 0:
            continue
        k = max(1, round(n_shards * size / total))
        cuts = [size * i // k for i in range(k + 1)]
        shards += [Shard(path, a, b) for a, b in itertools.pairwise(cuts) if b > a]
    if not shards:
        raise DataError(f"{', '.join(paths)}: no items, the input is empty")
    return shards


def _size(path: str) -> int:
    p = Path(path)
    if path == "-":
        raise DataError("sharded counting reads files, not stdin ('-')")
    if not p.exists():
        raise DataError(f"{path}: no such file")
    if p.is_dir():
        raise DataError(f"{path}: is a directory, not a word list")
    return p.stat().st_size


def read(shard: Shard) -> ShardText:
    """The lines of `shard`, decoded and stripped as data.read_items does."""
    try:
        with open(shard.path, "rb") as f:
            begin = _line_start(f, shard.start)
            stop = _line_start(f, shard.end)
            f.seek(begin)
            raw = f.read(max(stop - begin, 0))
    except OSError as e:
        raise DataError(f"{shard.path}: cannot read ({e.strerror or e})") from None
    name = shard.path if shard.start == 0 else f"{shard.path} (from byte {begin})"
    lines = decode_lines(name, raw)
    if begin > 0 and raw.startswith(b"\xef\xbb\xbf"):
        lines[0] = "\ufeff" + lines[0]  # a byte-order mark is one only at the file's start
    words = parse_lines(name, lines)
    return ShardText(words.items, words.blank)


def _line_start(f: BinaryIO, offset: int) -> int:
    """The first line start at or after `offset`: 0, or just after a newline."""
    if offset == 0:
        return 0
    f.seek(offset - 1)
    pos = offset - 1
    while True:
        block = f.read(PROBE)
        if not block:
            return pos
        nl = block.find(b"\n")
        if nl >= 0:
            return pos + nl + 1
        pos += len(block)
