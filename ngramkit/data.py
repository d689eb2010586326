"""Reading word lists: one item per line, UTF-8, validated; seeded splits.

Rules (DESIGN.md): surrounding whitespace is stripped, blank lines are skipped
and counted, CRLF line ends and a UTF-8 byte-order mark are accepted, "-" reads
standard input. Bad bytes, NUL bytes, missing files, directories and empty
input raise `DataError` naming the file and line. Nothing is dropped silently:
the `WordList` counts the blank lines it skipped and the duplicates it kept.
"""

from __future__ import annotations

import hashlib
import sys
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError

STDIN = "-"
PARSE_BLOCK = 2**20  # characters split into lines at once (parse_text)


@dataclass(frozen=True)
class WordList:
    """Items read from one source, in file order.

    items: the stripped, non-blank lines.
    lines: 1-based line number of each item in the source.
    blank: how many blank (or whitespace-only) lines were skipped.
    """

    source: str
    items: list[str]
    lines: Sequence[int]
    blank: int = 0

    def __len__(self) -> int:
        return len(self.items)

    @property
    def distinct(self) -> int:
        return len(set(self.items))

    @property
    def duplicates(self) -> int:
        """Items that repeat an earlier item (kept, and counted here)."""
        return len(self.items) - self.distinct


def _read_bytes(path: str | Path) -> tuple[str, bytes]:
    if str(path) == STDIN:
        return "<stdin>", sys.stdin.buffer.read()
    p = Path(path)
    name = str(path)
    if not p.exists():
        raise DataError(f"{name}: no such file")
    if p.is_dir():
        raise DataError(f"{name}: is a directory, not a word list")
    try:
        return name, p.read_bytes()
    except OSError as e:
        raise DataError(f"{name}: cannot read ({e.strerror or e})") from None


def decode_lines(name: str, raw: bytes) -> list[str]:
    """Split UTF-8 bytes into lines, naming the first line with bad bytes."""
    return decode_text(name, raw).split("\n")


def decode_text(name: str, raw: bytes) -> str:
    """UTF-8 bytes as text (a BOM dropped), naming the first line with bad bytes."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\x00" in raw:  # checked first: a binary file also fails to decode, misleadingly
        line = raw.count(b"\n", 0, raw.index(b"\x00")) + 1
        raise DataError(f"{name}:{line}: contains a NUL byte; this looks like a binary file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        bad = raw[e.start : e.start + 1].hex()
        raise DataError(
            f"{name}:{line}: not valid UTF-8 (byte 0x{bad} at column {col}); "
            "re-save the file as UTF-8"
        ) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise DataError(f"{name}:{line}: contains a NUL byte; this looks like a binary file")
    return text


def parse_text(name: str, text: str, block: int = PARSE_BLOCK) -> WordList:
    """parse_lines(name, text.split("\n")), with compact memory.

    The text is split and stripped in C, about `block` characters at a time,
    so the raw lines of one block are freed (and their memory reused) before
    the next block is cut. Line numbers are a `range` when no line is blank
    (the usual word list), else an 8-byte-a-line array, not a Python int each.
    """
    if not text:
        return WordList(name, [], range(1, 1), 0)
    stripped: list[str] = []
    start, end = 0, len(text) - text.endswith("\n")  # a final newline ends the last line
    while start <= end:
        stop = text.find("\n", min(start + block, end))
        stop = end if stop < 0 else stop
        stripped.extend(map(str.strip, text[start:stop].split("\n")))
        start = stop + 1
    if "" not in stripped:
        return WordList(name, stripped, range(1, len(stripped) + 1), 0)
    numbers = array("l", [i for i, item in enumerate(stripped, 1) if item])
    items = list(filter(None, stripped))
    return WordList(name, items, numbers, len(stripped) - len(items))


def parse_lines(name: str, lines: Sequence[str]) -> WordList:
    items: list[str] = []
    numbers: list[int] = []
    blank = 0
    for i, line in enumerate(lines, 1):
        item = line.strip()
        if item:
            items.append(item)
            numbers.append(i)
        elif i < len(lines) or line:
            blank += 1  # the empty string after a final newline is not a line
    return WordList(name, items, numbers, blank)


def read_items(path: str | Path, *, allow_empty: bool = False) -> WordList:
    """Read a word list: read_items("names.txt").items[:2] == ['emma', 'olivia'].

    Memory: the bytes are dropped once decoded, and the text is walked line by
    line (no list of every raw line), so a list costs little beyond its items.
    """
    name, raw = _read_bytes(path)
    text = decode_text(name, raw)
    del raw
    words = parse_text(name, text)
    if not words.items and not allow_empty:
        if words.blank:
            raise DataError(f"{name}: no items, only {words.blank} blank line(s)")
        raise DataError(f"{name}: no items, the file is empty")
    return words


def fingerprint(items: Sequence[str]) -> str:
    """sha256 of the items, each followed by a newline: identifies training data."""
    h = hashlib.sha256(b"" if items else b"\n")  # no items: one newline, as "\n".join gives
    for i in range(0, len(items), 65_536):  # a chunk at a time: no copy of a large corpus
        h.update(("\n".join(items[i : i + 65_536]) + "\n").encode("utf-8"))
    return h.hexdigest()


def split(items: Sequence[str], val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Seeded train/validation split; both parts keep file order.

    round(N * val_fraction) items, chosen by torch.randperm with `seed`, go to
    validation. val_fraction 0 trains on everything.
    """
    if not 0 <= val_fraction < 1:
        raise DataError(f"--val-fraction must be in [0, 1), got {val_fraction:g}")
    n_val = round(len(items) * val_fraction)
    if n_val == 0:
        return list(items), []
    if n_val >= len(items):
        raise DataError(
            f"--val-fraction {val_fraction:g} leaves no training items out of {len(items)}"
        )
    import torch

    perm = torch.randperm(len(items), generator=torch.Generator().manual_seed(seed))
    is_val = torch.zeros(len(items), dtype=torch.bool)
    is_val[perm[:n_val]] = True
    flags = is_val.tolist()
    train = [s for s, v in zip(items, flags) if not v]
    val = [s for s, v in zip(items, flags) if v]
    return train, val
