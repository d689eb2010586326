"""The word-list reader: its rules, and its three readers (whole, streamed, by range) agreeing."""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ngramkit import reader
from ngramkit.errors import DataError
from ngramkit.reader import ListStream, Shard, parse_text, read_items, read_shard

LINE = st.text(alphabet=" \tab\ré日🙂", max_size=6)


def write(tmp_path: Path, data: bytes, name: str = "w.txt") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_strip_blank_crlf_bom(tmp_path: Path) -> None:
    p = write(tmp_path, b"\xef\xbb\xbf emma \r\n\r\n  \nolivia\r\nava")
    words = read_items(p)
    assert words.items == ["emma", "olivia", "ava"]
    assert list(words.lines) == [1, 4, 5]
    assert words.blank == 2


def test_duplicates_are_kept_and_counted(tmp_path: Path) -> None:
    words = read_items(write(tmp_path, b"a\nb\na\n"))
    assert words.items == ["a", "b", "a"]
    assert words.duplicates == 1 and words.blank == 0


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"x\ny\n")))
    assert read_items("-").items == ["x", "y"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no items, the file is empty"),
        (b"\n  \n\r\n", "no items, only 3 blank line(s)"),
        (b"ok\nfine\nbad\xff\n", "w.txt:3: not valid UTF-8 (byte 0xff at column 4)"),
        (b"ok\n\x00\x01\x02", "w.txt:2: contains a NUL byte"),
    ],
)
def test_bad_files(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_items(write(tmp_path, data))


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_items(tmp_path / "nope.txt")
    with pytest.raises(DataError, match="is a directory"):
        read_items(tmp_path)


@dataclass
class Parsed:
    items: list[str]
    lines: list[int]
    blank: int


def plain_parse(lines: list[str]) -> Parsed:
    """The rules as a plain loop: strip each line; skip and count the blank ones."""
    out = Parsed([], [], 0)
    for i, line in enumerate(lines, 1):
        item = line.strip()
        if item:
            out.items.append(item)
            out.lines.append(i)
        elif i < len(lines) or line:
            out.blank += 1  # the empty string after a final newline is not a line
    return out


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet="ab \t\r\n\x0b\u2028é", max_size=40),
    block=st.integers(1, 8),
)
def test_parse_text_is_a_plain_loop_over_split_lines(text: str, block: int) -> None:
    """Cutting the text into blocks changes nothing: same items, lines, blanks."""
    got = parse_text("t", text, block)
    want = plain_parse(text.split("\n"))
    assert (got.items, list(got.lines), got.blank) == (want.items, want.lines, want.blank)


def test_line_numbers_stay_compact(tmp_path: Path) -> None:
    """No blank line: the numbers are a range; with blanks, an array (not Python ints)."""
    assert read_items(write(tmp_path, b"a\nb\nc\n")).lines == range(1, 4)
    lines = read_items(write(tmp_path, b"a\n\nc\n", "b.txt")).lines
    assert list(lines) == [1, 3] and not isinstance(lines, list)


# -- streamed: ListStream reads in blocks exactly as read_items reads whole ------


def read_stream(path: Path, chunk: int) -> tuple[list[str], list[int], ListStream]:
    s = ListStream(str(path), chunk)
    items: list[str] = []
    lines: list[int] = []
    for part, numbers in s.chunks():
        assert 0 < len(part) <= chunk
        items += part
        lines += numbers
    return items, lines, s


@settings(max_examples=80, deadline=None)
@given(lines=st.lists(LINE, max_size=12), newline_at_end=st.booleans(), bom=st.booleans())
def test_same_as_read_items(tmp_path_factory, lines, newline_at_end, bom) -> None:
    path = tmp_path_factory.mktemp("s") / "w.txt"
    text = "\n".join(lines) + ("\n" if newline_at_end and lines else "")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    reader.READ_BLOCK = 5  # tiny blocks: lines and characters cut across reads
    try:
        try:
            want = read_items(path)
        except DataError as e:
            with pytest.raises(DataError) as got:
                read_stream(path, 3)
            assert str(got.value) == str(e)
            return
        items, numbers, s = read_stream(path, 3)
    finally:
        reader.READ_BLOCK = 4 * 2**20
    assert items == want.items and numbers == list(want.lines)
    assert (s.blank, s.duplicates) == (want.blank, want.duplicates)


def test_bad_bytes_named_by_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"emma\n" * 3 + "zoë\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"bad.txt:4: not valid UTF-8"):
        read_stream(bad, 2)
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"ab\n\x89PNG\r\n\x00\x00")
    with pytest.raises(DataError, match=r"bin.txt:3: contains a NUL byte"):
        read_stream(binary, 2)


# -- by byte range: read_shard ------------------------------------------------


def test_shards_cut_anywhere_read_the_whole_file(tmp_path: Path) -> None:
    """Every cut point: the two shards' items, in order, are the file's; blanks add up."""
    data = b"\xef\xbb\xbf emma \r\n\r\n  \nolivia\r\nava"
    path = write(tmp_path, data)
    whole = read_items(path)
    for cut in range(len(data) + 1):
        parts = [read_shard(Shard(str(path), a, b)) for a, b in ((0, cut), (cut, len(data)))]
        assert parts[0].items + parts[1].items == whole.items
        assert parts[0].blank + parts[1].blank == whole.blank


def test_a_bom_is_one_only_at_the_file_start(tmp_path: Path) -> None:
    path = write(tmp_path, b"a\n\xef\xbb\xbfb\n")
    assert read_shard(Shard(str(path), 1, 8)).items == ["\ufeffb"]
    assert read_items(path).items == ["a", "\ufeffb"]


def test_bad_bytes_in_a_shard_name_its_first_byte(tmp_path: Path) -> None:
    path = write(tmp_path, b"ab\ncd\xff\n")
    with pytest.raises(DataError, match=r"w.txt \(from byte 3\):1: not valid UTF-8"):
        read_shard(Shard(str(path), 2, 7))


# -- one set of messages --------------------------------------------------------


@pytest.mark.parametrize(
    "read",
    [read_items, lambda p: list(ListStream(str(p), 2).chunks())],
    ids=["whole", "stream"],
)
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "nope.txt: no such file"),
        (b"", "w.txt: no items, the file is empty"),
        (b"\n \n", "w.txt: no items, only 2 blank line(s)"),
        (b"ok\n\x00", "w.txt:2: contains a NUL byte; this looks like a binary file"),
    ],
)
def test_every_reader_says_the_same(tmp_path: Path, read, data: bytes | None, message: str):
    path = tmp_path / "nope.txt" if data is None else write(tmp_path, data)
    with pytest.raises(DataError) as e:
        read(path)
    assert str(e.value) == f"{tmp_path}/{message}"
    with pytest.raises(DataError, match="is a directory, not a word list"):
        read(tmp_path)
