"""stream.ListStream reads lists in blocks exactly as data.read_items reads them whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ngramkit import stream
from ngramkit.data import read_items
from ngramkit.errors import DataError
from ngramkit.stream import ListStream

LINE = st.text(alphabet=" \tab\ré日🙂", max_size=6)


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
    stream.BLOCK = 5  # tiny blocks: lines and characters cut across reads
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
        stream.BLOCK = 4 * 2**20
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
