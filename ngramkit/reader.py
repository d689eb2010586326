"""The word-list reader: one item per line, UTF-8, validated; whole, streamed or by range.

Rules (DESIGN.md), the same for every way of reading: surrounding whitespace
is stripped (so CRLF line ends are accepted), blank lines are skipped and
counted, a UTF-8 byte-order mark at the file's start is dropped, "-" reads
standard input. Bad bytes, NUL bytes (a binary file), missing files,
directories and input with no items raise `DataError` naming the file and
line (and column). Nothing is dropped silently: blank lines and duplicates
are counted.

Three readers share one opener (`_open`), one decoder (`decode`) and one
parser (`parse_text`), so a new input rule lands in one of those three:

- `read_items(path)`: the whole file -> `WordList`;
- `ListStream(path, chunk).chunks()`: (items, line numbers) `chunk` items at
  a time, reading READ_BLOCK bytes at a time, for lists too long to hold;
- `read_shard(Shard(path, start, end))`: the lines whose first byte lies in a
  byte range, for counting a file in independent pieces.

It knows nothing of symbols, vocabularies, counts or models.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import DataError

STDIN = "-"
BOM = b"\xef\xbb\xbf"
PARSE_BLOCK = 2**20  # characters split into lines at once (parse_text)
READ_BLOCK = 4 * 2**20  # bytes read at a time (ListStream)
PROBE = 1 << 16  # bytes read at a time while looking for the next line start (read_shard)


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


@dataclass(frozen=True)
class Shard:
    """Lines of `path` whose first byte lies in [start, end) (byte offsets).

    A line belongs to the shard that holds its first byte, so cutting a file
    at any byte offsets gives shards whose lines, taken together, are exactly
    the file's lines, each once:

        "ab\\ncd\\nef\\n" cut at byte 4 -> shard [0, 4) reads "ab", "cd";
                                        shard [4, 9) reads "ef".
    """

    path: str
    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.path}[{self.start}:{self.end}]"


# -- the rules ------------------------------------------------------------


def check_path(path: str) -> str:
    """The name errors use for `path` ("<stdin>" for "-"); DataError if missing or a folder."""
    if path == STDIN:
        return "<stdin>"
    p = Path(path)
    if not p.exists():
        raise DataError(f"{path}: no such file")
    if p.is_dir():
        raise DataError(f"{path}: is a directory, not a word list")
    return path


def check_paths(paths: Sequence[str]) -> None:
    """Fail early (before any output) on a missing file or a directory."""
    for path in paths:
        check_path(path)


@contextmanager
def _open(path: str, name: str) -> Iterator[BinaryIO]:
    """The file's bytes (stdin's for "-", not closed); OSError -> DataError 'cannot read'."""
    try:
        if path == STDIN:
            if sys.stdin is None:  # started with `<&-`
                raise DataError(f"{name}: standard input is closed")
            yield sys.stdin.buffer
        else:
            with open(path, "rb") as f:
                yield f
    except OSError as e:
        raise DataError(f"{name}: cannot read ({e.strerror or e})") from None


def refuse_nul(name: str, raw: bytes, first_line: int = 1) -> None:
    """DataError naming the line of the first NUL byte in `raw`, if there is one.

    Checked before decoding: a binary file also fails to decode, misleadingly.
    """
    if b"\x00" in raw:
        line = first_line + raw.count(b"\n", 0, raw.index(b"\x00"))
        raise DataError(f"{name}:{line}: contains a NUL byte; this looks like a binary file")


def decode(name: str, raw: bytes, first_line: int = 1, *, at_start: bool = True) -> str:
    """UTF-8 bytes as text, naming the first bad line (numbered from `first_line`).

    at_start: `raw` begins at the file's start, where a byte-order mark is
    dropped (anywhere else it is text, U+FEFF).
    """
    if at_start:
        raw = raw.removeprefix(BOM)
    refuse_nul(name, raw, first_line)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = first_line + raw.count(b"\n", 0, e.start)
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise DataError(
            f"{name}:{line}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at column {col}); "
            "re-save the file as UTF-8"
        ) from None


def parse_text(name: str, text: str, block: int = PARSE_BLOCK, first_line: int = 1) -> WordList:
    """The items of `text`: its lines stripped, blank ones skipped and counted.

    parse_text("t", " a \\r\\n\\nb\\n") -> items ['a', 'b'], lines [1, 3], blank 1
    (a final newline ends the last line; it does not start a blank one).

    The text is split and stripped in C, about `block` characters at a time,
    so the raw lines of one block are freed (and their memory reused) before
    the next block is cut. Line numbers (from `first_line`) are a `range` when
    no line is blank (the usual word list), else an 8-byte-a-line array, not a
    Python int each.
    """
    if not text:
        return WordList(name, [], range(first_line, first_line), 0)
    stripped: list[str] = []
    start, end = 0, len(text) - text.endswith("\n")  # a final newline ends the last line
    while start <= end:
        stop = text.find("\n", min(start + block, end))
        stop = end if stop < 0 else stop
        stripped.extend(map(str.strip, text[start:stop].split("\n")))
        start = stop + 1
    if "" not in stripped:
        return WordList(name, stripped, range(first_line, first_line + len(stripped)), 0)
    numbers = array("l", [i for i, item in enumerate(stripped, first_line) if item])
    items = list(filter(None, stripped))
    return WordList(name, items, numbers, len(stripped) - len(items))


def require_items(name: str, items: int, blank: int) -> None:
    """DataError when a list has no items: 'only N blank line(s)' or 'the file is empty'."""
    if items:
        return
    if blank:
        raise DataError(f"{name}: no items, only {blank} blank line(s)")
    raise DataError(f"{name}: no items, the file is empty")


# -- the three readers ----------------------------------------------------


def read_items(path: str | Path, *, allow_empty: bool = False) -> WordList:
    """Read a word list: read_items("names.txt").items[:2] == ['emma', 'olivia'].

    Memory: the bytes are dropped once decoded, and the text is cut a block
    at a time (no list of every raw line), so a list costs little beyond its items.
    """
    name = check_path(str(path))
    with _open(str(path), name) as f:
        raw = f.read()
    text = decode(name, raw)
    del raw
    words = parse_text(name, text)
    if not allow_empty:
        require_items(name, len(words.items), words.blank)
    return words


class ListStream:
    """One word list, read lazily; counters are final once chunks() is exhausted.

    items: non-blank lines read; blank: blank lines skipped; duplicates:
    items that repeat an earlier one (kept); bytes_read / size: progress.
    Memory is one block of bytes and its items, plus the set of distinct items
    (for the duplicate count), however long the list. A line longer than a
    block is carried over until its newline arrives.
    """

    def __init__(self, path: str, chunk: int) -> None:
        self.path = path
        self.source = check_path(path)
        self.chunk = chunk
        self.items = 0
        self.blank = 0
        self.duplicates = 0
        self.bytes_read = 0
        self.size = None if path == STDIN else Path(path).stat().st_size
        self._seen: set[str] = set()

    def chunks(self) -> Iterator[tuple[list[str], list[int]]]:
        """(items, 1-based line numbers), at most `chunk` items each, in file order."""
        items: list[str] = []
        lines: list[int] = []
        n = self.chunk
        for words in self._blocks():
            items += words.items
            lines += words.lines
            full = len(items) - len(items) % n
            for i in range(0, full, n):
                yield items[i : i + n], lines[i : i + n]
            items, lines = items[full:], lines[full:]
        if items:
            yield items, lines
        require_items(self.source, self.items, self.blank)

    def _blocks(self) -> Iterator[WordList]:
        """The items of each block's whole lines, numbered in the file, counted as they come."""
        with _open(self.path, self.source) as f:
            carry = b""
            done = 0  # lines fully read so far
            while True:
                block = f.read(READ_BLOCK)
                self.bytes_read += len(block)
                data = carry + block
                refuse_nul(self.source, data, done + 1)  # before a UTF-8 error further on
                cut = data.rfind(b"\n") + 1 if block else len(data)  # the last line may lack one
                body, carry = data[:cut], data[cut:]  # no newline yet: all carried over
                if body:
                    # a body starts where the last one ended: at the file's start iff none came
                    yield self._parse(decode(self.source, body, done + 1, at_start=done == 0), done)
                    done += body.count(b"\n")
                if not block:
                    return

    def _parse(self, text: str, done: int) -> WordList:
        """parse_text of whole lines, numbered after `done`; updates the counters."""
        words = parse_text(self.source, text, first_line=done + 1)
        before = len(self._seen)
        self._seen.update(words.items)
        self.items += len(words.items)
        self.blank += words.blank
        self.duplicates += len(words.items) - (len(self._seen) - before)
        return words


def read_shard(shard: Shard) -> WordList:
    """The lines of `shard`, decoded and stripped as read_items does.

    Errors name the shard's first byte when it is not the file's start:
    "data.txt (from byte 4096):2: not valid UTF-8 ...".
    """
    with _open(shard.path, shard.path) as f:
        begin = _line_start(f, shard.start)
        stop = _line_start(f, shard.end)
        f.seek(begin)
        raw = f.read(max(stop - begin, 0))
    name = shard.path if shard.start == 0 else f"{shard.path} (from byte {begin})"
    return parse_text(name, decode(name, raw, at_start=begin == 0))


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
