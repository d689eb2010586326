"""The word-list reader: one item per line, UTF-8, validated; whole, streamed or by range.

Rules (DESIGN.md), the same for every way of reading: surrounding whitespace
is stripped, blank lines are skipped and counted, "-" reads standard input.
Bad bytes, NUL bytes (a binary file), missing files, directories and input
with no items raise `DataError` naming the file and line (and column).
Nothing is dropped silently: blank lines and duplicates are counted.

The input forms people have are read as plain UTF-8 lists:

- gzip, bzip2 and xz files (recognised by their first bytes, not their
  name) are decompressed as they are read; a file named .gz/.bz2/.xz that is
  not so compressed, a truncated or a damaged one is one `DataError` line;
- a UTF-8 byte-order mark at the file's start is dropped; a UTF-16 file
  with its byte-order mark (what Windows tools write as "Unicode") is
  decoded; a UTF-16 file without one reads as NUL bytes and is refused;
- line ends are LF, CRLF or a lone CR (old Mac files): each ends a line;
- a compressed or UTF-16 file cannot be cut into byte ranges, so it is one
  shard, read whole (`read_shard` refuses any other range of it).

Tabular and weighted lists (`ListFormat`): the item is one column of a
delimited line, and optionally another column is the item's weight, a whole
number >= 1 (see `Layout`).

Three readers share one opener (`_open`), one decoder (`decode`) and one
parser (`parse_text`, then `Layout.rows` for a tabular list), so a new input
rule lands in one of those:

- `read_items(path)`: the whole file -> `WordList`;
- `ListStream(path, chunk).blocks()`: `WordList`s of `chunk` items at a
  time, reading READ_BLOCK bytes at a time, for lists too long to hold;
- `read_shard(Shard(path, start, end))`: the lines whose first byte lies in a
  byte range, for counting a file in independent pieces.

It knows nothing of symbols, vocabularies, counts or models.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import lzma
import re
import sys
import zlib
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

from .errors import DataError
from .tabular import ListFormat, WordList

STDIN = "-"
BOM = b"\xef\xbb\xbf"
UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
COMPRESSED = {  # name: (first bytes, file name ending, opener)
    "gzip": (b"\x1f\x8b", ".gz", lambda f: gzip.GzipFile(fileobj=f)),
    "bzip2": (b"BZh", ".bz2", bz2.BZ2File),
    "xz": (b"\xfd7zXZ\x00", ".xz", lzma.LZMAFile),
}
PARSE_BLOCK = 2**20  # characters split into lines at once (parse_text)
READ_BLOCK = 4 * 2**20  # bytes read at a time (ListStream)
PROBE = 1 << 16  # bytes read at a time while looking for the next line start (read_shard)
LINE_END = re.compile(rb"\r\n?|\n")  # LF, CRLF or a lone CR


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
    format: ListFormat | None = None  # a tabular list's columns, bound to numbers

    def __str__(self) -> str:
        return f"{self.path}[{self.start}:{self.end}]"


# -- the rules ------------------------------------------------------------


def check_path(path: str) -> str:
    """The name errors use for `path` ("<stdin>" for "-"); DataError if missing or a folder."""
    if path == STDIN:
        return "<stdin>"
    problem = path_problem(path)
    if problem:
        raise DataError(f"{path}: {problem}")
    if Path(path).is_dir():
        raise DataError(f"{path}: is a directory, not a word list")
    return path


def path_problem(path: str | Path) -> str | None:
    """Why `path` cannot be opened for reading, in words, or None: 'no such file',
    'a loop of symbolic links', 'permission denied', ... (what stat and access say)."""
    import errno
    import os

    try:
        os.stat(path)
    except OSError as e:
        reasons = {errno.ENOENT: "no such file", errno.ELOOP: "a loop of symbolic links"}
        reasons[errno.ENOTDIR] = "no such file (a part of its path is not a directory)"
        return reasons.get(e.errno, f"cannot read ({e.strerror or e})")
    if not os.access(path, os.R_OK):  # now, before shards go to workers
        return "cannot read (permission denied)"
    return None


def check_paths(paths: Sequence[str]) -> None:
    """Fail early (before any output) on a missing file or a directory."""
    for path in paths:
        check_path(path)


@contextmanager
def _open(path: str, name: str) -> Iterator[Any]:
    """The list's bytes as UTF-8 with LF line ends: decompressed, UTF-16 decoded, CRs read.

    Yields an object with `read(n)` (stdin's buffer is not closed). OSError
    -> 'cannot read'; a truncated or damaged compressed file -> one line.
    """
    kind = ""
    try:
        with _raw(path) as raw:
            kind, f = _decompressed(raw, name, path)
            bom = f.peek(2)[:2]
            if bom in UTF16_BOMS:
                f = _Utf16(f, name, UTF16_BOMS[bom])
            yield _LineEnds(f)
    except EOFError:
        raise DataError(
            f"{name}: truncated {kind} file (it ends before the end of its compressed data); "
            "the download or copy was cut short"
        ) from None
    except (OSError, lzma.LZMAError, zlib.error) as e:
        if kind:
            raise DataError(f"{name}: damaged {kind} data ({e})") from None
        raise DataError(f"{name}: cannot read ({getattr(e, 'strerror', None) or e})") from None


@contextmanager
def _raw(path: str) -> Iterator[BinaryIO]:
    """The file's bytes, or standard input's for "-" (not closed)."""
    if path == STDIN:
        if sys.stdin is None:  # started with `<&-`
            raise DataError("<stdin>: standard input is closed")
        yield sys.stdin.buffer
    else:
        with open(path, "rb") as f:
            yield f


def _decompressed(raw: Any, name: str, path: str) -> tuple[str, Any]:
    """(compression name or "", a reader with peek) of a file, by its first bytes.

    A file named .gz, .bz2 or .xz whose bytes are not that compression is refused:
    reading it as text would give a misleading error, or silently wrong items.
    """
    raw = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
    head = raw.peek(8)[:8]
    for kind, (magic, _, opener) in COMPRESSED.items():
        if head.startswith(magic):
            return kind, opener(raw)
    for kind, (_, ending, _) in COMPRESSED.items():
        if path.lower().endswith(ending):
            what = "is empty" if not head else "does not start as one does"
            raise DataError(f"{name}: named {ending} but not a {kind} file (it {what})")
    return "", raw


def compression(path: str) -> str:
    """ "gzip", "bzip2", "xz", "utf-16" (a file read whole) or "" (plain, cut anywhere)."""
    if path == STDIN or not Path(path).is_file():  # a pipe's bytes would be used up here
        return ""
    with _raw(path) as raw:
        head = raw.read(8)
    kinds = [k for k, (magic, _, _) in COMPRESSED.items() if head.startswith(magic)]
    return kinds[0] if kinds else "utf-16" if head[:2] in UTF16_BOMS else ""


class _Utf16:
    """A UTF-16 file (its BOM read) as UTF-8 bytes; a bad code unit names its line."""

    def __init__(self, f: Any, name: str, encoding: str) -> None:
        f.read(2)  # the byte-order mark
        self.f, self.name, self.encoding = f, name, encoding
        self.decoder = codecs.getincrementaldecoder(encoding)()
        self.lines = 0  # line ends handed out so far

    def read(self, n: int = -1) -> bytes:
        while True:
            raw = self.f.read(n)
            try:
                text = self.decoder.decode(raw, final=not raw or n < 0)  # -1: all
            except UnicodeDecodeError as e:
                before = e.object[: e.start].decode(self.encoding, errors="replace")
                line = self.lines + before.count("\n") + 1
                raise DataError(
                    f"{self.name}:{line}: not valid UTF-16 (an unpaired surrogate)"
                ) from None
            if text or not raw:
                self.lines += text.count("\n")
                return text.encode("utf-8")


class _LineEnds:
    """The bytes of `f` with every CRLF and lone CR read as LF (a CR cut from its LF kept)."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.cr = False  # the last block ended in CR: an LF opening the next is its CRLF

    def read(self, n: int = -1) -> bytes:
        while True:
            block = self.f.read(n)
            if not block:
                return block
            if self.cr and block.startswith(b"\n"):
                block = block[1:]
            self.cr = False
            if b"\r" in block:
                block = block.replace(b"\r\n", b"\n")
                self.cr = block.endswith(b"\r")
                block = block.replace(b"\r", b"\n")
            if block:
                return block


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
    Python int each. A line that repeats an earlier one is that line's string
    object (memory grows with the distinct lines, plus 8 bytes a line).
    """
    if not text:
        return WordList(name, [], range(first_line, first_line), 0, counted=0)
    stripped: list[str] = []
    one: dict[str, str] = {}  # each distinct line once: a repeated line is the same object
    start, end = 0, len(text) - text.endswith("\n")  # a final newline ends the last line
    while start <= end:
        stop = text.find("\n", min(start + block, end))
        stop = end if stop < 0 else stop
        lines = list(map(str.strip, text[start:stop].split("\n")))
        stripped.extend(map(one.setdefault, lines, lines))
        start = stop + 1
    distinct = len(one) - ("" in one)  # each distinct line once: the items' count for free
    del one
    if "" not in stripped:
        lines = range(first_line, first_line + len(stripped))
        return WordList(name, stripped, lines, 0, counted=distinct)
    numbers = array("l", [i for i, item in enumerate(stripped, first_line) if item])
    items = list(filter(None, stripped))
    return WordList(name, items, numbers, len(stripped) - len(items), counted=distinct)


def require_items(name: str, items: int, blank: int) -> None:
    """DataError when a list has no items: 'only N blank line(s)' or 'the file is empty'."""
    if items:
        return
    if blank:
        raise DataError(f"{name}: no items, only {blank} blank line(s)")
    raise DataError(f"{name}: no items, the file is empty")


# -- the three readers ----------------------------------------------------


def read_items(
    path: str | Path, fmt: ListFormat | None = None, *, allow_empty: bool = False
) -> WordList:
    """Read a word list: read_items("names.txt").items[:2] == ['emma', 'olivia'].

    fmt: a tabular or weighted list's columns (tabular.py); None: one item a line.
    Memory: the bytes are dropped once decoded, and the text is cut a block
    at a time (no list of every raw line), so a list costs little beyond its items.
    """
    name = check_path(str(path))
    with _open(str(path), name) as f:
        raw = f.read()
    text = decode(name, raw)
    del raw
    if fmt is None:
        words = parse_text(name, text)
    else:
        words, _ = fmt.for_path(str(path)).rows(name, text)
    if not allow_empty:
        require_items(name, len(words.items), words.blank)
    return words


def bind_format(path: str, fmt: ListFormat | None) -> ListFormat | None:
    """`fmt` for `path` with its delimiter and header names settled (reads line 1 if needed)."""
    if fmt is None:
        return None
    fmt = fmt.for_path(path)
    if not fmt.header:
        return fmt
    name = check_path(path)
    with _open(path, name) as f:
        head = b""
        while b"\n" not in head and (block := f.read(PROBE)):
            head += block
    return fmt.bind(name, decode(name, head.split(b"\n", 1)[0]))


class ListStream:
    """One word list, read lazily; counters are final once blocks() is exhausted.

    items: non-blank lines read; blank: blank lines skipped; duplicates:
    items that repeat an earlier one (kept); weight: total weight (= items
    for a list without weights); bytes_read / size: progress (size None for
    stdin and for compressed files, whose decompressed size is not known).
    Memory is one block of bytes and its items, plus the set of distinct items
    (for the duplicate count), however long the list. A line longer than a
    block is carried over until its newline arrives.
    """

    def __init__(self, path: str, chunk: int, fmt: ListFormat | None = None) -> None:
        self.path = path
        self.source = check_path(path)
        self.chunk = chunk
        self.format = None if fmt is None else fmt.for_path(path)
        self.items = 0
        self.blank = 0
        self.duplicates = 0
        self.weight = 0
        self.bytes_read = 0
        whole = path == STDIN or compression(path) != ""
        self.size = None if whole else Path(path).stat().st_size
        self._seen: set[str] = set()

    def chunks(self) -> Iterator[tuple[list[str], list[int]]]:
        """(items, 1-based line numbers), at most `chunk` items each, in file order."""
        for words in self.blocks():
            yield words.items, list(words.lines)

    def blocks(self) -> Iterator[WordList]:
        """WordLists of at most `chunk` items (and their weights), in file order."""
        items: list[str] = []
        lines: list[int] = []
        weights: list[int] | None = None if self.format is None or not self.format.weighted else []
        n = self.chunk
        for words in self._blocks():
            items += words.items
            lines += words.lines
            if weights is not None:
                weights += words.weights or ()
            full = len(items) - len(items) % n
            for i in range(0, full, n):
                part = None if weights is None else weights[i : i + n]
                yield WordList(self.source, items[i : i + n], lines[i : i + n], 0, part)
            items, lines = items[full:], lines[full:]
            weights = None if weights is None else weights[full:]
        if items:
            yield WordList(self.source, items, lines, 0, weights)
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
        """The items of whole lines, numbered after `done`; updates the counters."""
        if self.format is None:
            words = parse_text(self.source, text, first_line=done + 1)
        else:  # the header (line 1) binds the format's column names for every later block
            words, self.format = self.format.rows(self.source, text, first_line=done + 1)
        before = len(self._seen)
        self._seen.update(words.items)
        self.items += len(words.items)
        self.blank += words.blank
        self.weight += words.weight
        self.duplicates += len(words.items) - (len(self._seen) - before)
        return words


def read_shard(shard: Shard) -> WordList:
    """The lines of `shard`, decoded and stripped as read_items does.

    Errors name the shard's first byte when it is not the file's start:
    "data.txt (from byte 4096):2: not valid UTF-8 ...". A compressed or
    UTF-16 file is one shard, from byte 0, read whole.
    """
    kind = compression(shard.path)
    if kind:
        if shard.start != 0:
            raise DataError(f"{shard.path}: a {kind} file cannot be read from byte {shard.start}")
        return read_items(shard.path, shard.format, allow_empty=True)
    with _raw(shard.path) as f:
        begin = _line_start(f, shard.start)
        stop = _line_start(f, shard.end)
        f.seek(begin)
        raw = f.read(max(stop - begin, 0))
    if b"\r" in raw:  # the line ends _LineEnds reads as LF (a shard ends at a line start)
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    name = shard.path if shard.start == 0 else f"{shard.path} (from byte {begin})"
    text = decode(name, raw, at_start=begin == 0)
    if shard.format is None:
        return parse_text(name, text)
    # line numbers restart in each shard (its name says where it begins): no header after byte 0
    fmt = shard.format if begin == 0 else replace(shard.format, header=False)
    return fmt.rows(name, text)[0]


def _line_start(f: BinaryIO, offset: int) -> int:
    """The first line start at or after `offset`: 0, or just after an LF, a CRLF or a lone CR."""
    if offset == 0:
        return 0
    f.seek(offset - 1)
    pos = offset - 1
    while True:
        block = f.read(PROBE)
        if not block:
            return pos
        end = LINE_END.search(block)
        if end is not None:
            if end.group() == b"\r" and end.end() == len(block) and f.read(1) == b"\n":
                return pos + end.end() + 1  # a CRLF cut between two probes
            return pos + end.end()
        pos += len(block)
