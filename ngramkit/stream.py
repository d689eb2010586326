"""Reading a word list in chunks, for lists too long to hold: data.py's rules, streamed.

`ListStream(path).chunks()` yields (items, line numbers) CHUNK_ITEMS at a
time while reading the file in blocks of BLOCK bytes, so memory is one block
plus one chunk plus the set of distinct items (for the duplicate count),
however long the list. The rules are data.py's: UTF-8, a byte-order mark
accepted, CRLF accepted (stripped with the other surrounding whitespace),
blank lines skipped and counted, "-" reads stdin; a NUL byte (a binary file),
bad UTF-8 or a list with no items raise DataError naming file and line.

A line longer than a block is carried over until its newline arrives.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import IO

from .data import STDIN
from .errors import DataError

BLOCK = 4 * 2**20  # bytes read at a time


class ListStream:
    """One word list, read lazily; counters are final once chunks() is exhausted.

    items: non-blank lines read; blank: blank lines skipped; duplicates:
    items that repeat an earlier one (kept); bytes_read / size: progress.
    """

    def __init__(self, path: str, chunk: int) -> None:
        self.path = path
        self.source = "<stdin>" if path == STDIN else path
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
        for item, line in self._items():
            items.append(item)
            lines.append(line)
            if len(items) == self.chunk:
                yield items, lines
                items, lines = [], []
        if items:
            yield items, lines
        if not self.items:
            if self.blank:
                raise DataError(f"{self.source}: no items, only {self.blank} blank line(s)")
            raise DataError(f"{self.source}: no items, the file is empty")

    def _items(self) -> Iterator[tuple[str, int]]:
        with self._open() as f:
            carry = b""
            done = 0  # lines fully read so far
            first = True
            while True:
                block = f.read(BLOCK)
                self.bytes_read += len(block)
                if not block:
                    break
                data = carry + block
                if first:
                    data = data.removeprefix(b"\xef\xbb\xbf")
                    first = False
                if b"\x00" in data:  # first: a binary file also fails to decode, misleadingly
                    line = done + data.count(b"\n", 0, data.index(b"\x00")) + 1
                    raise DataError(
                        f"{self.source}:{line}: contains a NUL byte; this looks like a binary file"
                    )
                cut = data.rfind(b"\n")
                if cut < 0:
                    carry = data  # one long line, still open
                    continue
                body, carry = data[: cut + 1], data[cut + 1 :]
                yield from self._lines(body, done)
                done += body.count(b"\n")
            if carry:  # the last line has no newline
                yield from self._lines(carry + b"\n", done)

    def _lines(self, body: bytes, done: int) -> Iterator[tuple[str, int]]:
        """The items of whole lines `body` (ending in a newline), numbered after `done`."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            line = done + body.count(b"\n", 0, e.start) + 1
            col = e.start - (body.rfind(b"\n", 0, e.start) + 1) + 1
            raise DataError(
                f"{self.source}:{line}: not valid UTF-8 (byte 0x{body[e.start]:02x} at column "
                f"{col}); re-save the file as UTF-8"
            ) from None
        seen = self._seen
        for i, raw in enumerate(text.split("\n")[:-1], done + 1):
            item = raw.strip()
            if not item:
                self.blank += 1
                continue
            self.items += 1
            if item in seen:
                self.duplicates += 1
            else:
                seen.add(item)
            yield item, i

    def _open(self) -> AbstractContextManager[IO[bytes]]:
        if self.path == STDIN:
            return nullcontext(sys.stdin.buffer)  # not ours to close
        try:
            return open(self.path, "rb")
        except OSError as e:
            raise DataError(f"{self.source}: cannot read ({e.strerror or e})") from None
