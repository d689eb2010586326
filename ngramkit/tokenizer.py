"""Vocabulary and tokenizers: how items become token ids and back.

Two kinds of tokenizer share one `Vocabulary`:

- "char" (default): every code point is a symbol, as in the lecture;
- "word": items are split on whitespace, every word is a symbol.

Layout (the lecture's): id 0 is the boundary, which starts and ends every item;
the symbols seen in training, sorted by code point, take ids 1..V-1. The
boundary is shown as "." unless "." is itself a symbol, then as the first
free marker of `BOUNDARY_MARKERS`. On names.txt the char layout is exactly
the lecture's: ".abcdefghijklmnopqrstuvwxyz", V = 27.

Open vocabulary: a vocabulary built with `unk=True` holds one more token, the
unknown symbol, as its last id (V-1, shown as "<unk>" unless that is a word
of the vocabulary, then as the first free marker of `UNK_MARKERS`). Every
symbol outside the vocabulary encodes to it, so no item is OOV; the ids of
the symbols do not move. `min_count=N` (which needs `unk`) keeps only the
symbols seen at least N times: the rarer ones encode to the unknown token,
which so gets training data (NLTK's `unk_cutoff`).
Every item is first put under the vocabulary's `normalization` (normalize.py:
Unicode form, case, accents), chosen at fit and saved with the vocabulary, so
every method here that takes an item takes it as the user wrote it.

This module does not read files (see reader.py) and does not count anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .errors import ModelFileError
from .normalize import DEFAULT, NONE, Normalization

if TYPE_CHECKING:
    import torch

KINDS = ("char", "word")
BOUNDARY_MARKERS = (".", "·", "•", "¶", "⏎", "␃", "<.>", "<|>")
UNK_MARKERS = ("<unk>", "<UNK>", "<?>")


def split_symbols(item: str, kind: str) -> list[str]:
    """The symbols of one item: split_symbols("ab c", "char") == ['a', 'b', ' ', 'c']."""
    return list(item) if kind == "char" else item.split()


def _char_counts(text: str) -> dict[str, int]:
    """Occurrences of each character of `text` (a bincount of code points: faster than a
    Counter): _char_counts("abb") == {"a": 1, "b": 2}."""
    import torch

    if not text:
        return {}
    cps = torch.frombuffer(bytearray(text.encode("utf-32-le")), dtype=torch.int32)
    counts = torch.bincount(cps)
    present = counts.nonzero().squeeze(1)
    return {chr(c): n for c, n in zip(present.tolist(), counts[present].tolist())}


def pick_boundary(symbols: Iterable[str], markers: Sequence[str] = BOUNDARY_MARKERS) -> str:
    """The first of `markers` that is not a symbol (then <0>, <1>, ...)."""
    used = set(symbols)
    for marker in markers:
        if marker not in used:
            return marker
    i = 0
    while f"<{i}>" in used:
        i += 1
    return f"<{i}>"


def symbol_counts(items: Iterable[str], kind: str) -> Counter[str]:
    """How often each symbol occurs: symbol_counts(["ab", "b"], "char") == {a: 1, b: 2}."""
    seen: Counter[str] = Counter()
    if kind == "char":
        items = items if isinstance(items, Sequence) else list(items)
        step = 65_536  # items per pass: the UTF-32 copy stays small on big corpora
        for i in range(0, len(items), step):
            seen.update(_char_counts("".join(items[i : i + step])))
    else:
        for item in items:
            seen.update(item.split())
    return seen


@dataclass(frozen=True)
class Vocabulary:
    """The token layout of a model: boundary at id 0, symbols sorted from id 1.

    kind: "char" or "word".
    symbols: the real symbols, sorted by code point (ids 1..len(symbols)).
    boundary: how the boundary (id 0) is displayed; never a symbol.
    unk: whether the last id (V-1) is the unknown token (see the module docstring).
    normalization: the rule every item is put under first (resolved, no "auto").
    """

    kind: str
    symbols: tuple[str, ...]
    boundary: str = field(default=".")
    unk: bool = False
    normalization: Normalization = field(default=NONE)

    @classmethod
    def build(
        cls,
        items: Iterable[str],
        kind: str = "char",
        *,
        unk: bool = False,
        min_count: int = 1,
        normalization: Normalization = DEFAULT,
        normalized: bool = False,
    ) -> Vocabulary:
        """The vocabulary of `items` under `normalization`, its "auto" parts resolved
        from their symbols: build(["ab", "b"]).tokens == ('.', 'a', 'b');
        build(["ab", "b"], unk=True, min_count=2).tokens == ('.', 'b', '<unk>').
        normalized: the items are under the rule already (a Corpus's are)."""
        if kind not in KINDS:
            raise ValueError(f"unknown tokenizer {kind!r} (choose {', '.join(KINDS)})")
        if min_count > 1 and not unk:
            raise ValueError("min_count > 1 needs unk=True: rarer symbols become <unk>")
        items = items if isinstance(items, Sequence) else list(items)
        if not normalized:
            items = normalization.apply_all(items)[0]
        counts = symbol_counts(items, kind)
        symbols = tuple(sorted(s for s, n in counts.items() if n >= min_count))
        rule = normalization.resolve(counts)  # from every symbol seen, kept or not
        return cls(kind, symbols, pick_boundary(symbols), unk, rule)

    def __len__(self) -> int:
        return len(self.symbols) + 1 + self.unk

    @property
    def unk_id(self) -> int | None:
        """The unknown token's id (V-1), or None in a closed vocabulary."""
        return len(self.symbols) + 1 if self.unk else None

    @cached_property
    def unk_token(self) -> str:
        """How the unknown token is displayed: "<unk>", unless that is a symbol."""
        return pick_boundary(self.symbols, UNK_MARKERS)

    @cached_property
    def tokens(self) -> tuple[str, ...]:
        """Display form of every id: tokens[0] is the boundary marker, then the
        symbols, then the unknown token when there is one (built once: a word
        vocabulary's tuple is long, and one-item calls read it)."""
        return (self.boundary, *self.symbols, *([self.unk_token] if self.unk else []))

    @cached_property
    def stoi(self) -> dict[str, int]:
        return {s: i + 1 for i, s in enumerate(self.symbols)}

    @property
    def separator(self) -> str:
        return "" if self.kind == "char" else " "

    def normalize(self, item: str) -> str:
        """`item` under the vocabulary's rule: "Zoë" -> "zoe" under NFC, lower, strip."""
        return self.normalization.apply(item)

    def normalize_all(self, items: Sequence[str]) -> tuple[list[str], int]:
        """(items under the rule, how many it changed): one pass for a whole list."""
        return self.normalization.apply_all(items)

    def split(self, item: str) -> list[str]:
        """The symbols of `item` once normalized."""
        return split_symbols(self.normalize(item), self.kind)

    def join(self, symbols: Iterable[str]) -> str:
        return self.separator.join(symbols)

    def unknown(self, item: str) -> list[str]:
        """Symbols of `item` that are not in the vocabulary, in order of appearance
        (with `unk` they encode to the unknown token; without, the item is OOV)."""
        stoi = self.stoi
        out: list[str] = []
        for s in self.split(item):
            if s not in stoi and s not in out:
                out.append(s)
        return out

    def encode(self, item: str) -> list[int]:
        """Symbol ids of one item, without boundaries; an unknown symbol is the unknown
        token's id, or a KeyError in a closed vocabulary."""
        stoi, unk = self.stoi, self.unk_id
        if unk is not None:
            return [stoi.get(s, unk) for s in self.split(item)]
        return [stoi[s] for s in self.split(item)]

    def decode(self, ids: Iterable[int]) -> str:
        """The item spelled by `ids` (boundaries, id 0, are dropped; the unknown token
        is spelled by its marker)."""
        tokens = self.tokens
        return self.join(tokens[i] for i in ids if i > 0)

    def encode_stream(
        self, items: Sequence[str], *, normalized: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode many items as the lecture's bigram stream (see corpus.py).

        Returns (stream, oov): stream is a LongTensor holding a 0, then each
        in-vocabulary item's ids followed by a 0; oov [N] is True where an item
        has a symbol outside the vocabulary (it is left out of the stream).
        With `unk` no item is OOV.
        normalized: the items are under the rule already (Corpus's are).
        """
        import torch

        if not normalized:
            items = self.normalize_all(items)[0]
        if self.kind == "char" and "\n" not in self.stoi:
            fast = self._stream_from_text("\n".join(items), len(items))
            if fast is not None:
                return fast
        flat: list[int] = [0]
        oov: list[bool] = []
        for item in items:
            try:
                flat.extend(self.encode(item))
            except KeyError:
                oov.append(True)
                continue
            flat.append(0)
            oov.append(False)
        return torch.tensor(flat, dtype=torch.long), torch.tensor(oov, dtype=torch.bool)

    def _stream_from_text(self, text: str, count: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Char fast path: code points of the newline-joined items through a lookup table;
        None when an item holds a newline (the text has more than count - 1)."""
        import torch

        if count == 0:
            return torch.zeros(1, dtype=torch.long), torch.zeros(0, dtype=torch.bool)
        # A newline first too: the stream's opening 0 comes out of the lookup, no copy.
        raw = bytearray(("\n" + text + "\n").encode("utf-32-le"))
        lut = self._lookup_table
        cps = torch.frombuffer(raw, dtype=torch.int32).clamp_(max=len(lut) - 1)
        stream = lut.index_select(0, cps)  # (1+S+N,) 0 at newlines, -1 if unknown
        ids = stream[1:]  # every item's symbols, each item ending with a 0
        ends = ids == 0  # newlines only: no symbol is the newline, the boundary is id 0
        if int(ends.count_nonzero()) != count:
            return None
        bad = ids < 0
        oov = torch.zeros(count, dtype=torch.bool)
        if bool(bad.any()):
            item_of = torch.cumsum(ends, 0) - ends.long()  # a newline belongs to its item
            oov[item_of[bad]] = True
            stream = torch.cat([stream[:1], ids[~oov[item_of]]])
        return stream, oov

    @cached_property
    def _lookup_table(self) -> torch.Tensor:
        """code point -> id (0 for newline; unknown: the unknown token, or -1); the last
        cell catches larger ones."""
        import torch

        cps = [ord(s) for s in self.symbols]
        unknown = -1 if self.unk_id is None else self.unk_id
        lut = torch.full((max([10, *cps]) + 2,), unknown, dtype=torch.long)
        lut[torch.tensor(cps, dtype=torch.long)] = torch.arange(1, len(cps) + 1)
        lut[10] = 0
        return lut

    def to_json(self) -> dict[str, Any]:
        out = {"kind": self.kind, "boundary": self.boundary, "symbols": list(self.symbols)}
        out["normalization"] = self.normalization.to_json()
        return out | ({"unk": True} if self.unk else {})  # closed: the files of old

    @classmethod
    def from_json(cls, data: Any) -> Vocabulary:
        """Rebuild from `to_json`, checking everything a damaged file could break."""
        try:
            kind, boundary, symbols = data["kind"], data["boundary"], data["symbols"]
        except (KeyError, TypeError):
            raise ModelFileError("vocabulary is missing kind, boundary or symbols") from None
        unk = data.get("unk", False)  # files written before open vocabularies: closed
        ok = (
            isinstance(unk, bool)
            and kind in KINDS
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
        # Files from before the rule was stored change nothing (NONE): same numbers.
        # A rule present but null (or damaged) is refused by from_json.
        rule = (
            NONE if "normalization" not in data else Normalization.from_json(data["normalization"])
        )
        if rule.apply_all(symbols)[1]:  # a symbol its own rule changes: no item reaches it
            moved = next(s for s in symbols if rule.apply(s) != s)
            raise ModelFileError(
                f"vocabulary symbol {moved!r} is changed by the vocabulary's own "
                "normalization rule (no item could reach it)"
            )
        return cls(kind, tuple(symbols), boundary, unk, rule)
