from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ngramkit.data import read_items, split
from ngramkit.errors import DataError


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


def test_split_is_seeded_and_complete() -> None:
    items = [f"w{i}" for i in range(1000)]
    train, val = split(items, 0.1, seed=3)
    assert len(val) == 100 and len(train) == 900
    assert sorted(train + val) == sorted(items)
    assert split(items, 0.1, seed=3) == (train, val)
    assert split(items, 0.1, seed=4) != (train, val)
    assert split(items, 0.0, seed=3) == (items, [])
    with pytest.raises(DataError):
        split(items, 1.0, seed=3)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet="ab \t\r\n\x0b\u2028é", max_size=40),
    block=st.integers(1, 8),
)
def test_parse_text_is_parse_lines_of_split(text: str, block: int) -> None:
    """Cutting the text into blocks changes nothing: same items, lines, blanks."""
    from ngramkit.data import parse_lines, parse_text

    got = parse_text("t", text, block)
    want = parse_lines("t", text.split("\n"))
    assert (got.items, list(got.lines), got.blank) == (want.items, want.lines, want.blank)


def test_line_numbers_stay_compact(tmp_path: Path) -> None:
    """No blank line: the numbers are a range; with blanks, an array (not Python ints)."""
    assert read_items(write(tmp_path, b"a\nb\nc\n")).lines == range(1, 4)
    lines = read_items(write(tmp_path, b"a\n\nc\n", "b.txt")).lines
    assert list(lines) == [1, 3] and not isinstance(lines, list)
