"""Vocabulary and tokenizers: how items become token ids and back.

Two kinds of tokenizer share one `Vocabulary`:

- "char" (default): every code point is a symbol, as in the lecture;
- "word": items are split on whitespace, every word is a symbol.

Layout (the lecture's): id 0 is the boundary, which starts and ends every item;
the symbols seen in training, sorted by code point, take ids 1..V-1. The
boundary is shown as "." unless "." is itself a symbol, then as the first
free marker of `BOUNDARY_MARKERS`. On names.txt the char layout is exactly
the lecture's: ".abcdefghijklmnopqrstuvwxyz", V = 27.

This module does not read files (see reader.py) and does not count anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .errors import ModelFileError

if TYPE_CHECKING:
    import torch

KINDS = ("char", "word")
BOUNDARY_MARKERS = (".", "·", "•", "¶", "⏎", "␃", "<.>", "<|>")


def split_symbols(item: str, kind: str) -> list[str]:
    """The symbols of one item: split_symbols("ab c", "char") == ['a', 'b', ' ', 'c']."""
    return list(item) if kind == "char" else item.split()


def _distinct_chars(text: str) -> list[str]:
    """The distinct characters of `text` (a bincount of code points: faster than set())."""
    import torch

    if not text:
        return []
    cps = torch.frombuffer(bytearray(text.encode("utf-32-le")), dtype=torch.int32)
    present = torch.bincount(cps).nonzero().squeeze(1).tolist()
    return [chr(c) for c in present]


def pick_boundary(symbols: Iterable[str]) -> str:
    """The first marker of BOUNDARY_MARKERS that is not a symbol."""
    used = set(symbols)
    for marker in BOUNDARY_MARKERS:
        if marker not in used:
            return marker
    i = 0
    while f"<{i}>" in used:
        i += 1
    return f"<{i}>"


@dataclass(frozen=True)
class Vocabulary:
    """The token layout of a model: boundary at id 0, symbols sorted from id 1.

    kind: "char" or "word".
    symbols: the real symbols, sorted by code point (ids 1..V-1).
    boundary: how the boundary (id 0) is displayed; never a symbol.
    """

    kind: str
    symbols: tuple[str, ...]
    boundary: str = field(default=".")

    @classmethod
    def build(cls, items: Iterable[str], kind: str = "char") -> Vocabulary:
        """The vocabulary of `items`: build(["ab", "b"]).tokens == ('.', 'a', 'b')."""
        if kind not in KINDS:
            raise ValueError(f"unknown tokenizer {kind!r} (choose {', '.join(KINDS)})")
        seen: set[str] = set()
        if kind == "char":
            items = items if isinstance(items, Sequence) else list(items)
            step = 65_536  # items per pass: the UTF-32 copy stays small on big corpora
            for i in range(0, len(items), step):
                seen.update(_distinct_chars("".join(items[i : i + step])))
        else:
            for item in items:
                seen.update(item.split())
        symbols = tuple(sorted(seen))
        return cls(kind, symbols, pick_boundary(symbols))

    def __len__(self) -> int:
        return len(self.symbols) + 1

    @property
    def tokens(self) -> tuple[str, ...]:
        """Display form of every id: tokens[0] is the boundary marker."""
        return (self.boundary, *self.symbols)

    @cached_property
    def stoi(self) -> dict[str, int]:
        return {s: i + 1 for i, s in enumerate(self.symbols)}

    @property
    def separator(self) -> str:
        return "" if self.kind == "char" else " "

    def split(self, item: str) -> list[str]:
        return split_symbols(item, self.kind)

    def join(self, symbols: Iterable[str]) -> str:
        return self.separator.join(symbols)

    def unknown(self, item: str) -> list[str]:
        """Symbols of `item` that are not in the vocabulary, in order of appearance."""
        stoi = self.stoi
        out: list[str] = []
        for s in self.split(item):
            if s not in stoi and s not in out:
                out.append(s)
        return out

    def encode(self, item: str) -> list[int]:
        """Symbol ids of one item, without boundaries; KeyError on an unknown symbol."""
        stoi = self.stoi
        return [stoi[s] for s in self.split(item)]

    def decode(self, ids: Iterable[int]) -> str:
        """The item spelled by `ids` (boundaries, id 0, are dropped)."""
        symbols = self.symbols
        return self.join(symbols[i - 1] for i in ids if i > 0)

    def encode_stream(self, items: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode many items as the lecture's bigram stream (see corpus.py).

        Returns (stream, oov): stream is a LongTensor holding a 0, then each
        in-vocabulary item's ids followed by a 0; oov [N] is True where an item
        has a symbol outside the vocabulary (it is left out of the stream).
        """
        import torch

        if self.kind == "char" and "\n" not in self.stoi:
            text = "\n".join(items)
            if text.count("\n") == max(len(items) - 1, 0):  # no item holds a newline
                return self._stream_from_text(text, len(items))
        flat: list[int] = [0]
        oov: list[bool] = []
        stoi = self.stoi
        for item in items:
            try:
                flat.extend([stoi[s] for s in self.split(item)])
            except KeyError:
                oov.append(True)
                continue
            flat.append(0)
            oov.append(False)
        return torch.tensor(flat, dtype=torch.long), torch.tensor(oov, dtype=torch.bool)

    def _stream_from_text(self, text: str, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Char fast path: code points of the newline-joined items through a lookup table."""
        import torch

        if count == 0:
            return torch.zeros(1, dtype=torch.long), torch.zeros(0, dtype=torch.bool)
        raw = bytearray((text + "\n").encode("utf-32-le"))
        cps = torch.frombuffer(raw, dtype=torch.int32).long()  # every item ends with "\n"
        lut = self._lookup_table
        ids = lut[cps.clamp(max=len(lut) - 1)]  # (S+N,), 0 at newlines, -1 if unknown
        bad = ids < 0
        oov = torch.zeros(count, dtype=torch.bool)
        if bool(bad.any()):
            ends = ids == 0
            item_of = torch.cumsum(ends, 0) - ends.long()  # a newline belongs to its item
            oov[item_of[bad]] = True
            ids = ids[~oov[item_of]]
        return torch.cat([torch.zeros(1, dtype=torch.long), ids]), oov

    @cached_property
    def _lookup_table(self) -> torch.Tensor:
        """code point -> id (0 for newline, -1 unknown); the last cell catches larger ones."""
        import torch

        cps = [ord(s) for s in self.symbols]
        lut = torch.full((max([10, *cps]) + 2,), -1, dtype=torch.long)
        lut[torch.tensor(cps, dtype=torch.long)] = torch.arange(1, len(cps) + 1)
        lut[10] = 0
        return lut

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "boundary": self.boundary, "symbols": list(self.symbols)}

    @classmethod
    def from_json(cls, data: Any) -> Vocabulary:
        """Rebuild from `to_json`, checking everything a damaged file could break."""
        try:
            kind, boundary, symbols = data["kind"], data["boundary"], data["symbols"]
        except (KeyError, TypeError):
            raise ModelFileError("vocabulary is missing kind, boundary or symbols") from None
        ok = (
            kind in KINDS
            and isinstance(boundary, str)
            and isinstance(symbols, list)
            and all(isinstance(s, str) and s for s in symbols)
            and len(symbols) > 0
        )
        if not ok:
            raise ModelFileError("vocabulary is malformed")
        if symbols != sorted(set(symbols)) or boundary in symbols:
            raise ModelFileError("vocabulary symbols are not sorted, unique and boundary-free")
        if kind == "char" and any(len(s) != 1 for s in symbols):
            raise ModelFileError("char vocabulary holds a symbol longer than one character")
        return cls(kind, tuple(symbols), boundary)
