"""What a generated item must satisfy: `Constraints`, checked once, shared by
sampling (generate.py) and enumeration (best.py).

Lengths count symbols of the whole item (characters, or words for a word
model), prefix and suffix included: Constraints(prefix="an", min_len=4)
admits "anna" but not "ana". A prefix and a suffix may overlap: "ana" has
prefix "an" and suffix "na".

This module decides what is admitted; it does not draw or enumerate.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .errors import OOVError, OptionError

if TYPE_CHECKING:
    import torch

    from .model import LanguageModel
    from .tokenizer import Vocabulary

DEFAULT_MAX_LEN = 256
"""Symbols after which an item is cut (sampling) or no longer grown (enumeration)."""


@dataclass(frozen=True)
class Constraints:
    """Conditions on an item. The defaults admit every item.

    prefix/suffix: text the item starts/ends with.
    min_len/max_len: bounds on its length in symbols (max_len None: no bound).
    new: only items not among the model's training items.
    unique: no item twice in one output (sampling; enumeration never repeats).
    """

    prefix: str = ""
    suffix: str = ""
    min_len: int = 0
    max_len: int | None = None
    new: bool = False
    unique: bool = False

    @property
    def restricts(self) -> bool:
        """Whether anything beyond the prefix restricts the items (rejection is needed)."""
        return (
            bool(self.suffix or self.min_len or self.max_len is not None) or self.new or self.unique
        )

    def check(self, vocab: Vocabulary) -> None:
        """OptionError (one line) for contradictory bounds or affixes outside `vocab`."""
        if self.min_len < 0:
            raise OptionError(f"--min-len must be >= 0, got {self.min_len}")
        hi = self.max_len
        if hi is not None and hi < 1:
            raise OptionError(f"--max-len must be >= 1, got {hi}")
        if hi is not None and self.min_len > hi:
            raise OptionError(f"--min-len {self.min_len} is above --max-len {hi}: no item fits")
        for name, text in (("prefix", self.prefix), ("suffix", self.suffix)):
            unknown = vocab.unknown(text)
            if unknown and not vocab.unk:  # with <unk>, unseen symbols map to it
                shown = " ".join(repr(s) for s in unknown)
                raise OOVError(f"--{name} {text!r} has symbols outside the vocabulary: {shown}")
            n = len(vocab.split(text))
            if hi is not None and n > hi:
                raise OptionError(f"--{name} {text!r} is longer than --max-len {hi}")

    def under(self, vocab: Vocabulary) -> Constraints:
        """The constraints with prefix and suffix under the vocabulary's text rule, as the
        items they are matched against are: a case-folding model's --suffix 'Son' is 'son'."""
        prefix, suffix = vocab.normalize(self.prefix), vocab.normalize(self.suffix)
        if (prefix, suffix) == (self.prefix, self.suffix):
            return self
        return replace(self, prefix=prefix, suffix=suffix)

    def changes(self, vocab: Vocabulary) -> list[str]:
        """One line per affix the text rule changes (what `under` does), for the user."""
        rule = vocab.normalization.describe()
        return [
            f"--{name} {text!r} reads {vocab.normalize(text)!r} under the model's text rule "
            f"({rule})"
            for name, text in (("prefix", self.prefix), ("suffix", self.suffix))
            if vocab.normalize(text) != text
        ]

    def seen(self, model: LanguageModel) -> frozenset[str]:
        """The training items `new` excludes (empty when `new` is off)."""
        if not self.new:
            return frozenset()
        training = model.training
        if training is None or training.seen is None:
            raise OptionError("--new needs the training items, and this model does not keep them")
        return training.seen

    def admits(self, item: str, vocab: Vocabulary, seen: frozenset[str]) -> bool:
        """Whether `item` (which starts with the prefix) meets every constraint but `unique`."""
        n = len(vocab.split(item))
        if n < self.min_len or (self.max_len is not None and n > self.max_len):
            return False
        if self.suffix and not _ends_with(item, self.suffix, vocab):
            return False
        return item not in seen

    def longest(self) -> int:
        """The most symbols an item may have: max_len, or the cut DEFAULT_MAX_LEN."""
        return DEFAULT_MAX_LEN if self.max_len is None else self.max_len

    def suffix_automaton(self, vocab: Vocabulary) -> torch.Tensor:
        """KMP transitions over token ids for the suffix: [S+1, V] long, S = suffix length.

        State s = how many suffix tokens the item's end matches; state S means the
        item so far ends with the suffix. Suffix "ab" (a=1, b=2, V=3): from state 1
        token b goes to 2, token a stays at 1, token 0 or c falls to 0.
        """
        import torch

        pat = vocab.encode(self.suffix)
        V, S = len(vocab), len(pat)
        delta = torch.zeros(S + 1, V, dtype=torch.long)
        if S == 0:
            return delta  # state 0 is the match: every item ends with ""
        delta[0, pat[0]] = 1
        restart = 0  # the state after reading pat[1:j]
        for j in range(1, S + 1):
            delta[j] = delta[restart]
            if j < S:
                delta[j, pat[j]] = j + 1
                restart = int(delta[restart, pat[j]])
        return delta


NO_CONSTRAINTS = Constraints()


def _ends_with(item: str, suffix: str, vocab: Vocabulary) -> bool:
    """Whether the item's symbols end with the suffix's (words, not characters, for words)."""
    if vocab.kind == "char":
        return item.endswith(suffix)
    tail = vocab.split(suffix)
    return vocab.split(item)[len(vocab.split(item)) - len(tail) :] == tail
