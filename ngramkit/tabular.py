"""Tabular and weighted word lists: which column of a line is the item, which its weight.

A `ListFormat` says how a delimited line holds an item:

    "emma\\t1204"  with ListFormat(item=0, weight=1)        -> item 'emma', weight 1204
    'name,count\\n"Smith, J.",3' with ListFormat("name", "count", ",")
                                                         -> item 'Smith, J.', weight 3

Rules, the same for fit and eval, whole or streamed or by byte range:

- columns are given by number (0-based here; the command line counts from 1,
  as `cut` and `awk` do) or by header name; a name means the first line is a
  header, and `header=True` says so for numbered columns (it is skipped);
- the delimiter is given, or comes from the file name: "," for .csv (also
  .csv.gz ...), TAB otherwise. TAB-separated fields are split as they are
  (TSV has no quoting); any other delimiter follows the csv module (quoted
  fields, "" for a quote), one line per row (a quoted line end is refused);
- the item is its field stripped; a line that is blank, or whose item field is
  empty in a list without weights, is skipped and counted as blank;
- a weight is a count: a whole number >= 1 ("12", "+12", "12.0"), at most
  2^53 (sums stay exact in float64 too). Anything else (a
  fraction, 0, a negative number, text, a missing field, an empty item with a
  weight) is a `DataError` naming the file and line: counts are integers, so a
  weighted list is exactly the list with each item repeated `weight` times.

It knows nothing of files (reader.py reads them) or of models.
"""

from __future__ import annotations

import csv
import math
import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .errors import DataError, OptionError

WHOLE = re.compile(r"\s*\+?[0-9]+\s*")  # a count as written: digits, an optional plus sign
MAX_WEIGHT = 2**53  # weights and their sums stay exact in float64 too
DELIMITERS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


@dataclass(frozen=True)
class WordList:
    """Items read from one source, in file order.

    items: the stripped, non-blank lines.
    lines: 1-based line number of each item in the source.
    blank: how many blank (or whitespace-only) lines were skipped.
    weights: each item's weight, for a weighted list (tabular.py).
    counted: how many distinct items there are, where the reader knew (parse_text).
    """

    source: str
    items: list[str]
    lines: Sequence[int]
    blank: int = 0
    weights: Sequence[int] | None = None  # each item's weight (a weighted list), else None
    counted: int | None = None  # distinct items, when the reader counted them (else None)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def weight(self) -> int:
        """Total weight: the items' count once each is repeated `weight` times."""
        return len(self.items) if self.weights is None else sum(self.weights)

    @property
    def distinct(self) -> int:
        """Distinct items: the reader's count, or one set of the items (16 MiB and
        0.08 s for the 924,195 lines of the stdlib corpus)."""
        return len(set(self.items)) if self.counted is None else self.counted

    @property
    def duplicates(self) -> int:
        """Items that repeat an earlier item (kept, and counted here)."""
        return len(self.items) - self.distinct


@dataclass(frozen=True)
class ListFormat:
    """Where a delimited line holds its item and its weight (see the module docstring).

    item, weight: a 0-based column number or a header name; weight None: each
        item weighs 1.
    delimiter: one character, or None: from the file name (`for_path`).
    header: the first line names the columns (set when a column is a name).
    """

    item: int | str = 0
    weight: int | str | None = None
    delimiter: str | None = None
    header: bool = False

    @classmethod
    def of(
        cls,
        column: str | None = None,
        weight_column: str | None = None,
        *,
        weighted: bool = False,
        delimiter: str | None = None,
        header: bool = False,
    ) -> ListFormat | None:
        """The format the options --column, --weight-column, --weighted, --delimiter and
        --header ask for (columns from 1, or names); None for a plain list."""
        if weighted and weight_column is None:
            weight_column = "2"  # item<TAB>count
        if column is None and weight_column is None:
            if delimiter is not None or header:
                flag = "<delimiter>" if delimiter is not None else "<header>"
                raise OptionError.named(
                    f"{flag} applies to tabular lists: give <column> or <weighted>"
                )
            return None
        item = _column("column", column or "1")
        weight = None if weight_column is None else _column("weight_column", weight_column)
        if item == weight:
            raise OptionError.named(
                "<column> and <weight_column> name the same column ({c})", c=column
            )
        named = isinstance(item, str) or isinstance(weight, str)
        return cls(item, weight, _delimiter(delimiter), header or named)

    @property
    def weighted(self) -> bool:
        return self.weight is not None

    def for_path(self, path: str) -> ListFormat:
        """This format with its delimiter settled: given, or "," for a .csv file, else TAB."""
        if self.delimiter is not None:
            return self
        stem = re.sub(r"\.(gz|bz2|xz)$", "", path.lower())
        return replace(self, delimiter="," if stem.endswith(".csv") else "\t")

    def bind(self, name: str, header: str) -> ListFormat:
        """Column names replaced by their numbers in the first line `header` (line 1)."""
        fields = [f.strip() for f in self.split(name, 1, header)]
        item = _find(name, fields, self.item)
        assert item is not None
        return replace(self, item=item, weight=_find(name, fields, self.weight))

    def split(self, name: str, line: int, text: str) -> list[str]:
        """The fields of one line (csv quoting unless the delimiter is TAB)."""
        sep = self.delimiter or "\t"
        if sep == "\t" or '"' not in text:
            return text.split(sep)
        try:
            return next(csv.reader([text], delimiter=sep, strict=True))
        except csv.Error as e:
            raise DataError(f"{name}:{line}: bad CSV quoting ({e})") from None

    def rows(self, name: str, text: str, first_line: int = 1) -> tuple[WordList, ListFormat]:
        """The items (and weights) of whole lines of `text`, numbered from `first_line`;
        and this format bound to the header when `text` starts with it (line 1)."""
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()  # a final newline ends the last line
        fmt, skip = self, 0
        if self.header and first_line == 1 and lines:
            fmt, skip = self.bind(name, lines[0]), 1
        items: list[str] = []
        numbers = array("l")
        weights = array("q") if fmt.weighted else None
        blank = 0
        for i in range(skip, len(lines)):
            n = first_line + i
            item, weight = fmt.row(name, n, lines[i])
            if not item:
                blank += 1
                continue
            items.append(item)
            numbers.append(n)
            if weights is not None:
                weights.append(weight)
        return WordList(name, items, numbers, blank, weights), fmt

    def row(self, name: str, line: int, text: str) -> tuple[str, int]:
        """(item, weight) of one line; ("", 1) for a line to skip as blank."""
        if not text.strip():
            return "", 1
        fields = self.split(name, line, text)
        item = self._field(name, line, fields, self.item).strip()
        if self.weight is None:
            return item, 1
        weight = parse_weight(name, line, self._field(name, line, fields, self.weight))
        if not item:
            raise DataError(f"{name}:{line}: empty item with weight {weight}")
        return item, weight

    def _field(self, name: str, line: int, fields: list[str], column: int | str | None) -> str:
        assert isinstance(column, int), "columns are bound to numbers before rows are read"
        if column >= len(fields):
            what = "weight" if column == self.weight else "item"
            raise DataError(
                f"{name}:{line}: no column {column + 1} ({what}): the line has {len(fields)} "
                f"field(s) separated by {_show(self.delimiter or chr(9))}"
            )
        return fields[column]


def parse_weight(name: str, line: int, text: str) -> int:
    """A count as written ("12", "+12", also "12.0" or "1e3"), or DataError naming the line.

    parse_weight("w.tsv", 3, "2.5") -> DataError "w.tsv:3: weight '2.5' is fractional; ...".
    """
    if WHOLE.fullmatch(text) and 1 <= int(text) <= MAX_WEIGHT:
        return int(text)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if 1 <= value <= MAX_WEIGHT and value == int(value):
        return int(value)
    why = (
        "is not a number"
        if math.isnan(value)
        else "is negative"
        if value < 0
        else "is zero"
        if value == 0
        else "is too large (at most 2^53)"
        if value > MAX_WEIGHT
        else "is fractional"
    )
    raise DataError(
        f"{name}:{line}: weight {text.strip()!r} {why}; weights are counts (whole numbers >= 1)"
    )


def _column(flag: str, text: str) -> int | str:
    """'3' -> 2 (0-based), 'count' -> 'count'; OptionError for 0 or an empty name."""
    text = text.strip()
    if not text:
        raise OptionError.named(f"<{flag}>: give a column number (from 1) or a header name")
    if text.isdigit():
        if int(text) < 1:
            raise OptionError.named(f"<{flag}> {{t}}: columns are numbered from 1", t=text)
        return int(text) - 1
    return text


def _delimiter(text: str | None) -> str | None:
    """One character, or a name: tab, comma, semicolon, pipe (and '\\t')."""
    if text is None:
        return None
    sep = DELIMITERS.get(text.lower(), text)
    if len(sep) != 1 or sep in '\r\n"':
        raise OptionError.named(
            "<delimiter> {t!r}: give one character (or tab, comma, semicolon, pipe)", t=text
        )
    return sep


def _find(name: str, fields: list[str], column: int | str | None) -> int | None:
    """The number of a named column in the header fields (exact, else case-insensitive)."""
    if column is None or isinstance(column, int):
        if isinstance(column, int) and column >= len(fields):
            raise DataError(
                f"{name}:1: no column {column + 1} in the header ({len(fields)} columns: "
                f"{_names(fields)})"
            )
        return column
    if column in fields:
        return fields.index(column)
    folded = [f.casefold() for f in fields]
    if folded.count(column.casefold()) == 1:
        return folded.index(column.casefold())
    one = fields[0] if len(fields) == 1 else ""  # one field: split at the wrong character?
    hint = next((f"; split at {c!r}? give --delimiter {c!r}" for c in ",;|\t" if c in one), "")
    raise DataError(
        f"{name}:1: no column {column!r} in the header (columns: {_names(fields)}){hint}"
    )


def _names(fields: list[str]) -> str:
    shown = ", ".join(repr(f) for f in fields[:12])
    return shown + (", …" if len(fields) > 12 else "")


def _show(sep: str) -> str:
    return {"\t": "TAB", ",": "commas", ";": "semicolons"}.get(sep, repr(sep))
