"""Machine-readable row writers for `eval`: tsv, csv, jsonl. Streaming.

Each writer takes rows one at a time, so a million-item list is written
without holding the rows. Columns (tsv/csv, with a header line):

    source line item tokens logprob nll perplexity oov unknown in_train weight
    unk_tokens [flagged]

Numbers are nats (logprob per item, nll per token). An OOV item has empty
score fields and its unknown symbols space-separated; a probability-0 item
shows -inf / inf. in_train is true/false, or empty when the model file does
not know its training items. weight is the item's weight in a weighted list
(empty otherwise); unk_tokens the tokens scored as the unknown token (empty
for a model without one). jsonl writes one object per item (the keys of
`eval --format json`'s items, plus "line"), then one summary object. With
`eval --flag`, "flagged" is a last column (empty for OOV items) and a key.
With `eval --end-marker`, tsv and csv end in one line `#end<delimiter>N`, N
the rows written: a reader that finds no such last line (or another N) has a
stream cut short.
"""

from __future__ import annotations

import csv
import json
import math
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from ..results import Batch, ItemScore

COLUMNS = (
    "source",
    "line",
    "item",
    "tokens",
    "logprob",
    "nll",
    "perplexity",
    "oov",
    "unknown",
    "in_train",
    "weight",
    "unk_tokens",
)
END = "#end"
"""The first field of the end marker line (eval --end-marker)."""


def _numbers(x: torch.Tensor) -> list[str]:
    """repr of each float, "" for nan (OOV): column-wise, for speed."""
    return [r if r != "nan" else "" for r in map(repr, x.tolist())]


def _flag(x: bool | None) -> str:
    return "" if x is None else ("true" if x else "false")


def _ints(x: torch.Tensor | None, n: int) -> list[Any]:
    """The column of an optional int64 [N] tensor: its values, or n empty fields."""
    return [""] * n if x is None else x.tolist()


class DelimitedWriter:
    """tsv or csv rows (csv quoting rules, so tabs or commas in items survive)."""

    def __init__(
        self, out: IO[str], delimiter: str, flagged: bool = False, end_marker: bool = False
    ) -> None:
        self._out = out
        self._delimiter = delimiter
        self._flagged = flagged  # a last column "flagged" (eval --flag)
        self._end_marker = end_marker  # a last line "#end<delimiter>rows"
        self._rows = 0
        self._w = csv.writer(out, delimiter=delimiter, lineterminator="\n")
        self._w.writerow((*COLUMNS, "flagged") if flagged else COLUMNS)
        self._buffer: list[tuple[Any, ...]] = []

    def write(self, row: ItemScore, line: int) -> None:
        oov = row.oov
        self._rows += 1
        self._buffer.append(
            (
                row.source,
                line,
                row.item,
                row.tokens,
                "" if oov else repr(row.logprob),
                "" if oov else repr(row.nll),
                "" if oov else repr(row.perplexity),
                "true" if oov else "false",
                " ".join(row.unknown),
                _flag(row.in_train),
                "" if row.weight is None else row.weight,
                "" if row.unk_tokens is None else row.unk_tokens,
                *((_flag(row.flagged),) if self._flagged else ()),
            )
        )
        if len(self._buffer) >= 8192:
            self.flush()

    def write_chunk(self, chunk: Batch) -> None:
        """A whole chunk, column by column (the fast path of streaming).

        When nothing in the chunk needs csv quoting, rows are formatted by one
        str.format per row ({!r}: shortest round-trip floats, as repr) and
        written in one go, about 4x faster than csv.writer; OOV rows (nan
        scores) are then formatted apart.
        """
        self.flush()
        tokens, nll, ppl = chunk.lengths + 1, chunk.nll(), chunk.perplexity()  # (N,), nan/inf: OOV
        n = len(chunk.items)
        self._rows += n
        flags = [""] * n if chunk.in_train is None else [_flag(x) for x in chunk.in_train]
        flags = list(zip(flags, _ints(chunk.weights, n), _ints(chunk.unk_tokens, n)))
        cols = (chunk.lines, chunk.items, tokens.tolist())
        text = "\n".join(chunk.items) + chunk.source
        if any(c in text for c in (self._delimiter, '"', "\r")):
            self._w.writerows(
                zip(
                    [chunk.source] * n,
                    *cols,
                    _numbers(chunk.logprob),
                    _numbers(nll),
                    _numbers(ppl.masked_fill(chunk.oov, math.nan)),
                    ["true" if i in chunk.unknown else "false" for i in range(n)],
                    [" ".join(chunk.unknown.get(i, ())) for i in range(n)],
                    *zip(*flags),
                )
            )
        else:
            self._out.write(self._plain(chunk, cols, nll.tolist(), ppl.tolist(), flags))

    def _plain(self, chunk: Batch, cols: tuple, nll: list, ppl: list, flags: list) -> str:
        """The chunk's rows by str.format, when no field needs quoting.

        flags: (in_train, weight, unk_tokens) per row, as their fields."""
        d = self._delimiter
        row = d.join(["{}", "{}", "{}", "{!r}", "{!r}", "{!r}", "false", "", "{}", "{}", "{}"])
        head = chunk.source + d
        fmt = (head + row + "\n").format
        lines = list(map(fmt, *cols, chunk.logprob.tolist(), nll, ppl, *zip(*flags)))
        for i, symbols in chunk.unknown.items():
            oov = [chunk.source, chunk.lines[i], chunk.items[i], cols[2][i], "", "", ""]
            oov += ["true", " ".join(symbols), *flags[i]]
            lines[i] = d.join(map(str, oov)) + "\n"
        return "".join(lines)

    def flush(self) -> None:
        self._w.writerows(self._buffer)
        self._buffer.clear()

    def close(self, summary: dict[str, Any]) -> None:
        self.flush()
        if self._end_marker:
            self._w.writerow((END, self._rows))


class JsonlWriter:
    """One JSON object per item, then {"summary": ..., "files": [...]} last."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out

    def write_chunk(self, chunk: Batch) -> None:
        for row in chunk.rows():
            self.write(row, row.line)

    def write(self, row: ItemScore, line: int) -> None:
        obj = row.to_json()
        obj["line"] = line
        self._out.write(json.dumps(obj, ensure_ascii=False, allow_nan=False) + "\n")

    def close(self, summary: dict[str, Any]) -> None:
        self._out.write(json.dumps(summary, ensure_ascii=False, allow_nan=False) + "\n")


def writer(
    fmt: str, out: IO[str], flagged: bool = False, end_marker: bool = False
) -> DelimitedWriter | JsonlWriter:
    """The writer of `fmt`; flagged: tsv/csv get a last column "flagged" (true/false/empty);
    end_marker: tsv/csv end in "#end<delimiter>rows" (jsonl ends in its summary anyway)."""
    if fmt == "jsonl":
        return JsonlWriter(out)
    return DelimitedWriter(out, "\t" if fmt == "tsv" else ",", flagged, end_marker)
