"""Vocabulary and tokenizers: how items become token ids and back.

Two kinds of tokenizer share one `Vocabulary`:

- "char" (default): every code point is a symbol, as in the lecture;
- "word": items are split on whitespace, every word is a symbol.

Layout (the lecture's): id 0 is the boundary, which starts and ends every item;
the symbols seen in training, sorted by code point, take ids 1..V-1. The
boundary is shown as "." unless "." is itself a symbol, then as the first
free marker of `BOUNDARY_MARKERS`. On names.txt the char layout is exactly
the lecture's: ".abcdefghijklmnopqrstuvwxyz", V = 27.

This module does not read files (see data.py) and does not count anything.
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
            for item in items:
                seen.update(item)
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

    def encode_batch(self, items: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encode many items at once.

        Returns (ids, lengths, oov): ids is a flat LongTensor of the symbol ids
        of every item that is fully in the vocabulary, in order; lengths [N] is
        each item's symbol count (0 for OOV items); oov [N] is True where an
        item has a symbol outside the vocabulary (its ids are left out).
        """
        if self.kind == "char":
            return self._encode_chars(items)
        return self._encode_words(items)

    def _encode_chars(
        self, items: Sequence[str]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        import torch

        lengths = torch.tensor([len(s) for s in items], dtype=torch.long)
        text = "".join(items)
        if not text:
            return torch.zeros(0, dtype=torch.long), lengths, torch.zeros(len(items), dtype=bool)
        # Code points through UTF-32, then a sorted lookup: symbols are sorted
        # by code point, so searchsorted position + 1 is the token id.
        cps = torch.frombuffer(bytearray(text.encode("utf-32-le")), dtype=torch.int32).long()
        table = self._codepoints
        pos = torch.searchsorted(table, cps).clamp_(max=max(len(table) - 1, 0))
        known = table[pos] == cps if len(table) else torch.zeros_like(cps, dtype=torch.bool)
        item_of = torch.repeat_interleave(torch.arange(len(items)), lengths)
        bad = torch.zeros(len(items), dtype=torch.long).index_add_(0, item_of, (~known).long())
        oov = bad > 0
        keep = ~oov[item_of]
        ids = (pos + 1)[keep]
        return ids, torch.where(oov, 0, lengths), oov

    def _encode_words(
        self, items: Sequence[str]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        import torch

        stoi = self.stoi
        flat: list[int] = []
        lengths: list[int] = []
        oov: list[bool] = []
        for item in items:
            words = item.split()
            try:
                ids = [stoi[w] for w in words]
            except KeyError:
                lengths.append(0)
                oov.append(True)
                continue
            flat.extend(ids)
            lengths.append(len(ids))
            oov.append(False)
        return (
            torch.tensor(flat, dtype=torch.long),
            torch.tensor(lengths, dtype=torch.long),
            torch.tensor(oov, dtype=torch.bool),
        )

    @cached_property
    def _codepoints(self) -> torch.Tensor:
        import torch

        return torch.tensor([ord(s) for s in self.symbols], dtype=torch.long)

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
        )
        if not ok:
            raise ModelFileError("vocabulary is malformed")
        if symbols != sorted(set(symbols)) or boundary in symbols:
            raise ModelFileError("vocabulary symbols are not sorted, unique and boundary-free")
        if kind == "char" and any(len(s) != 1 for s in symbols):
            raise ModelFileError("char vocabulary holds a symbol longer than one character")
        return cls(kind, tuple(symbols), boundary)
