"""Text normalization: the rule a model applies to every item before it sees it.

A `Normalization` has three parts, applied in this order:

- form: Unicode normalization, "NFC" (default: the NFD and NFC spellings of
  "zoë" are one item), "NFKC" (also folds compatibility forms: "ﬁ" -> "fi",
  full-width letters), or "none";
- case: "keep", or "lower" (Unicode-aware `str.lower`: "Émile" -> "émile",
  "ΣΑΣ" -> "σας"; lower, not casefold, so "ß" stays "ß");
- accents: "keep", or "strip": canonical decomposition (NFD), every combining
  mark dropped, then `LETTERS`, our own small table for Latin letters that do
  not decompose ("ł" -> "l", "ø" -> "o", "æ" -> "ae", "ß" -> "ss", ...), then
  NFC again: "Łukasz" -> "Lukasz", "Zoë" -> "Zoe", "Øystein" -> "Oystein".

Fit resolves "auto" from the training symbols (`resolve`): case "lower" when
no training symbol changes under lower-casing, else "keep"; accents "strip"
when none changes under stripping, else "keep". So lower-case ASCII data
(names.txt) gets NFC + lower + strip, which changes none of its items, and the
model then scores "Zoë" and "Łukasz" as "zoe" and "lukasz"; data with capitals
keeps case. The rule is stored resolved in the model's vocabulary (tokenizer.py)
and applied by the shared code wherever text enters.

`apply` is the hot path: an ASCII item needs only the case rule, and text
already in the normal form is not normalized again. This module knows no
vocabulary, model or file.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .errors import ModelFileError, OptionError

FORMS = ("NFC", "NFKC", "none")
CASES = ("auto", "keep", "lower")
ACCENTS = ("auto", "keep", "strip")

LETTERS = {
    "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ħ": "h", "Ħ": "H",
    "ı": "i", "ŀ": "l", "Ŀ": "L", "ŧ": "t", "Ŧ": "T", "ƀ": "b", "ɨ": "i", "ƶ": "z",
    "Ƶ": "Z", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ẞ": "SS",
    "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D", "ĳ": "ij", "Ĳ": "IJ",
}  # fmt: skip
"""Letters accent stripping replaces: Latin letters with a stroke, bar or ligature,
which NFD leaves whole. Our own table (no third-party data, no licence terms)."""


@dataclass(frozen=True)
class Normalization:
    """The text rule of a model: Unicode form, case, accents (see the module docstring).

    Construct with names from FORMS (any letter case: "nfc" is "NFC"), CASES
    and ACCENTS; "auto" parts are resolved at fit (`resolve`) and act as
    "keep" until then.
    """

    form: str = "NFC"
    case: str = "auto"
    accents: str = "auto"

    def __post_init__(self) -> None:
        if isinstance(self.form, str) and self.form.upper() in ("NFC", "NFKC"):
            object.__setattr__(self, "form", self.form.upper())  # frozen: set once, here
        for value, allowed, what in (
            (self.form, FORMS, "normalization"),
            (self.case, CASES, "case rule"),
            (self.accents, ACCENTS, "accents rule"),
        ):
            if value not in allowed:
                raise OptionError(f"unknown {what} {value!r} (choose {', '.join(allowed)})")

    @property
    def changes_nothing(self) -> bool:
        return self.form == "none" and self.case != "lower" and self.accents != "strip"

    def apply(self, item: str) -> str:
        """`item` under the rule: Normalization("NFC", "lower", "strip").apply("Zoë") == "zoe"."""
        if item.isascii():  # no form or accent to change: only the case rule
            return item.lower() if self.case == "lower" else item
        s = _form(self.form, item)
        if self.case == "lower":
            s = s.lower()
        if self.accents == "strip":
            return strip_accents(s)  # ends in NFC
        return _form(self.form, s) if self.case == "lower" else s  # lower may denormalize

    def apply_all(self, items: Sequence[str]) -> tuple[list[str], int]:
        """(items under the rule, how many of them it changed); the input list when none.

        One pass over the newline-joined text when no item holds a newline (C
        speed: an unchanged list costs a join, a check and a compare).
        """
        if self.changes_nothing or not items:
            return list(items), 0
        text = "\n".join(items)
        if text.count("\n") != len(items) - 1:  # an item holds a newline: one by one
            out = [self.apply(s) for s in items]
        else:
            done = self.apply(text)
            if done == text:
                return list(items), 0
            out = done.split("\n")
        return out, sum(map(operator.ne, items, out))

    def resolve(self, symbols: Iterable[str]) -> Normalization:
        """The rule with "auto" decided by the training symbols (after the form).

        case -> "lower" when no symbol changes under lower-casing, else "keep";
        accents -> "strip" when no symbol changes under stripping, else "keep".
        Per symbol is per item here: both rules change a text exactly where
        they change one of its characters (or words).
        """
        symbols = list(symbols)
        case, accents = self.case, self.accents
        if case == "auto":
            case = "lower" if all(s.lower() == s for s in symbols) else "keep"
        if accents == "auto":
            accents = "strip" if all(strip_accents(s) == s for s in symbols) else "keep"
        return replace(self, case=case, accents=accents)

    def counted(self, items: Sequence[str]) -> tuple[list[str], dict[str, int]]:
        """(items under the rule, items each part changed): {"form": n, "case": n, "accents": n}.

        Parts apply in order, each counted on the output of the one before;
        "auto" parts count 0 (they change nothing until resolved). A list the
        rule leaves as it is comes back itself.
        """
        steps = (
            ("form", Normalization(self.form, "keep", "keep")),
            ("case", Normalization(self.form, self.case, "keep")),
            ("accents", self),
        )
        changed: dict[str, int] = {}
        if self.changes_nothing or (self.case != "lower" and all(map(str.isascii, items))):
            # form and accents change no ASCII: the given list itself, not a copy
            return items if isinstance(items, list) else list(items), {p: 0 for p, _ in steps}
        out = list(items)
        for part, rule in steps:
            out, changed[part] = rule.apply_all(out)
        return out, changed

    def describe(self) -> str:
        """'NFC, lower-case, accents stripped': the rule in words for reports."""
        form = "no Unicode normalization" if self.form == "none" else self.form
        case = {"lower": "lower-case", "keep": "case kept", "auto": "case auto"}[self.case]
        accents = {"strip": "accents stripped", "keep": "accents kept", "auto": "accents auto"}
        return f"{form}, {case}, {accents[self.accents]}"

    def to_json(self) -> dict[str, str]:
        return {"form": self.form, "case": self.case, "accents": self.accents}

    @classmethod
    def from_json(cls, data: Any) -> Normalization:
        """Rebuild from `to_json`; ModelFileError (one line) for a damaged value."""
        if not isinstance(data, dict) or set(data) != {"form", "case", "accents"}:
            raise ModelFileError("vocabulary normalization is not {form, case, accents}")
        if "auto" in (data["case"], data["accents"]):
            raise ModelFileError("vocabulary normalization is not resolved (auto)")
        try:
            return cls(data["form"], data["case"], data["accents"])
        except (OptionError, TypeError) as e:
            raise ModelFileError(f"vocabulary normalization is damaged: {e}") from None


DEFAULT = Normalization()
"""fit's default: NFC, case and accents resolved from the training data."""
NONE = Normalization("none", "keep", "keep")
"""The rule of model files written before normalization was stored: changes nothing."""


def default_for(symbols: Sequence[str]) -> Normalization:
    """fit's default rule resolved for a vocabulary of `symbols` that comes without one
    (an ARPA file): NFC unless a symbol is not in NFC (then "none", so it stays reachable)."""
    form = "NFC" if all(unicodedata.is_normalized("NFC", s) for s in symbols) else "none"
    return Normalization(form).resolve(symbols)


def _form(form: str, text: str) -> str:
    if form == "none" or unicodedata.is_normalized(form, text):
        return text
    return unicodedata.normalize(form, text)


def strip_accents(text: str) -> str:
    """Diacritics removed: NFD, combining marks dropped, LETTERS, NFC. "Łódź" -> "Lodz"."""
    if text.isascii():
        return text
    nfd = unicodedata.normalize("NFD", text)
    # Translate only the non-ASCII runs: str.translate costs a lookup per character,
    # and in a list of names most characters are ASCII.
    bare = _NON_ASCII.sub(lambda m: m.group().translate(_TABLE), nfd)
    return unicodedata.normalize("NFC", bare)


class _StripTable(dict):  # type: ignore[type-arg]
    """str.translate table: code point -> None (a combining mark), LETTERS, or itself.

    Filled in as characters are met (`__missing__`), so no scan of all of Unicode.
    """

    def __missing__(self, cp: int) -> str | int | None:
        c = chr(cp)
        value = LETTERS.get(c) or (None if unicodedata.combining(c) else cp)
        self[cp] = value
        return value


_TABLE = _StripTable()
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def remedy(rule: Normalization, item: str, known: Callable[[str], bool]) -> tuple[str, ...] | None:
    """The parts of `rule` that keep `item` out of the vocabulary, or None.

    ("case",) when the item under the rule with case "lower" is `known`,
    ("accents",) likewise for accents "strip", ("case", "accents") when it
    takes both; None when neither helps (another script, a new symbol).
    """
    tries: list[tuple[str, ...]] = []
    if rule.case != "lower":
        tries.append(("case",))
    if rule.accents != "strip":
        tries.append(("accents",))
    if len(tries) == 2:
        tries.append(("case", "accents"))
    for parts in tries:
        looser = replace(
            rule,
            case="lower" if "case" in parts else rule.case,
            accents="strip" if "accents" in parts else rule.accents,
        )
        if known(looser.apply(item)):
            return parts
    return None


FIX_FLAGS = {"case": "--case lower", "accents": "--accents strip"}


def remedy_line(counts: dict[tuple[str, ...], int]) -> str | None:
    """One line for items OOV only because of the rule: what they need, and the fix."""
    if not counts:
        return None
    total = sum(counts.values())
    parts = sorted({p for key in counts for p in key}, key=list(FIX_FLAGS).index)
    why = " and ".join(parts)
    flags = " ".join(FIX_FLAGS[p] for p in parts)
    return (
        f"{total:,} OOV item{'s are' if total != 1 else ' is'} out of the vocabulary only "
        f"because the model keeps {why}: fit it again with {flags}"
    )
