"""What scoring returns: totals, per-item rows, per-token rows, column-wise batches.

Plain result types with their JSON (DESIGN.md's stable keys). This module
scores nothing: evaluate.py, listeval.py and compare.py make these, model.py
names them, report/ and the CLI show them. `impossible_total` is the one rule
every total must keep (log p <= 0); registry.check_logprobs names the backend
that broke it. It imports nothing of ngramkit.

Units: nats. NLL = -(sum of log p over predicted tokens) / tokens, where an
item of length L predicts L+1 tokens; perplexity = exp(NLL); bits = NLL / ln 2.
Non-finite values go to JSON as null with a "reason" alongside.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    import torch

LN2 = math.log(2)
MAX_NLL = 700.0
"""NLL (nats/token) from which perplexity is inf: exp(700) ~ 1e304 is near float64's top."""
LOGPROB_SLACK = 1e-4
"""Nats per token a true distribution may total above 0 from float rounding (the kit's)."""


def finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def perplexity(nll: float) -> float:
    """exp(nll) per token; inf from MAX_NLL on and for nan (nothing scored)."""
    return math.exp(nll) if math.isfinite(nll) and nll < MAX_NLL else math.inf


@dataclass(frozen=True)
class Metrics:
    """Totals of scored tokens, and for word lists what reading them found.

    tokens/logprob: predicted tokens and their total log p (nats, -inf if one
    has p = 0); oov: items left out (symbols outside the vocabulary). Counted
    by eval only (0 elsewhere): items (scored + OOV), in_train (scored items
    that are training items), and per list its source, blank lines skipped,
    duplicates (scored and counted) and unknown symbol -> OOV items holding it.
    unk_tokens: under a model with the unknown token, scored tokens that were
    it (unseen symbols); None for a closed vocabulary. normalized: items the
    model's normalization rule changed; remedies: the rule parts that alone
    keep OOV items out, e.g. ("case",) -> items.
    """

    tokens: int
    logprob: float
    oov: int = 0
    items: int = 0
    in_train: int = 0
    source: str = ""
    blank: int = 0
    duplicates: int = 0
    unknown: Counter[str] = field(default_factory=Counter)
    unk_tokens: int | None = None
    weight: int = 0  # eval of a weighted list: total weight of its items (0: not weighted)
    normalized: int = 0
    remedies: Counter[tuple[str, ...]] = field(default_factory=Counter)

    @property
    def nll(self) -> float:
        return -self.logprob / self.tokens if self.tokens else math.nan

    @property
    def perplexity(self) -> float:
        return perplexity(self.nll)

    @property
    def bits(self) -> float:
        return self.nll / LN2

    @property
    def scored(self) -> int:
        return self.items - self.oov

    def __add__(self, other: Metrics) -> Metrics:
        """Both totals together (this one's source kept): a list's chunks, lists into "all"."""
        return Metrics(
            self.tokens + other.tokens,
            self.logprob + other.logprob,
            self.oov + other.oov,
            self.items + other.items,
            self.in_train + other.in_train,
            self.source,
            self.blank + other.blank,
            self.duplicates + other.duplicates,
            self.unknown + other.unknown,
            _add(self.unk_tokens, other.unk_tokens),
            self.weight + other.weight,
            self.normalized + other.normalized,
            self.remedies + other.remedies,
        )

    def to_json(self) -> dict[str, Any]:
        """fit's and compare's keys: nll, perplexity, bits, tokens (and a reason)."""
        out: dict[str, Any] = {
            "nll": finite_or_none(self.nll),
            "perplexity": finite_or_none(self.perplexity),
            "bits": finite_or_none(self.bits),
            "tokens": self.tokens,
        }
        if self.tokens == 0:
            out["reason"] = "no tokens were scored"
        elif not math.isfinite(self.nll):
            out["reason"] = "a token has probability 0 under this model (unsmoothed)"
        return out

    def totals_json(self) -> dict[str, Any]:
        """eval's summary keys: items, scored, oov, tokens, nll, ..., then what reading found."""
        m = self.to_json()
        return {
            "items": self.items,
            "scored": self.scored,
            "oov": self.oov,
            "tokens": self.tokens,
            "nll": m["nll"],
            "perplexity": m["perplexity"],
            "bits": m["bits"],
            **({"reason": m["reason"]} if "reason" in m else {}),
            "in_train": self.in_train,
            "duplicates": self.duplicates,
            "blank_lines": self.blank,
            "unknown_symbols": dict(self.unknown.most_common()),
            **({} if self.unk_tokens is None else {"unk_tokens": self.unk_tokens}),
            **({"weight": self.weight} if self.weight else {}),
            "normalized": self.normalized,
            "oov_by_rule": {"+".join(k): n for k, n in self.remedies.most_common()},
        }


def _add(a: int | None, b: int | None) -> int | None:
    """Counts of the unknown token added; None (closed vocabulary) when neither has one."""
    return None if a is None and b is None else (a or 0) + (b or 0)


@dataclass(frozen=True)
class ItemScore:
    """One scored item. tokens = L+1; logprob in nats (nan when OOV); unk_tokens: its
    tokens scored as the unknown token (None: the model has none)."""

    item: str
    tokens: int
    logprob: float
    oov: bool = False
    unknown: tuple[str, ...] = ()
    in_train: bool | None = None
    index: int = 0  # position in the input list
    source: str = ""
    line: int = 0  # 1-based line in the source file (0: not from a file)
    unk_tokens: int | None = None
    weight: int | None = None  # its weight, in a weighted list
    flagged: bool | None = None  # beyond a calibrated threshold (eval --flag); None: not asked

    @property
    def nll(self) -> float:
        return -self.logprob / self.tokens if not self.oov else math.nan

    @property
    def perplexity(self) -> float:
        return perplexity(self.nll)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "item": self.item,
            "tokens": self.tokens,
            "logprob": None if self.oov else finite_or_none(self.logprob),
            "nll": None if self.oov else finite_or_none(self.nll),
            "perplexity": None if self.oov else finite_or_none(self.perplexity),
            "oov": self.oov,
            "in_train": self.in_train,
        }
        if self.oov:
            out["unknown"] = list(self.unknown)
            out["reason"] = "symbols outside the model's vocabulary"
        elif not math.isfinite(self.logprob):
            out["reason"] = "a token has probability 0 under this model"
        if self.unk_tokens is not None:
            out["unk_tokens"] = self.unk_tokens
        if self.source:
            out["source"] = self.source
        if self.line:
            out["line"] = self.line
        if self.weight is not None:
            out["weight"] = self.weight
        if self.flagged is not None:
            out["flagged"] = self.flagged
        return out


@dataclass(frozen=True)
class Batch:
    """Scores of a batch of items, column-wise (cheap to make for millions).

    logprob: float64 [N] totals in nats, nan where OOV.
    lengths: int64 [N] symbols per item (OOV items included), so tokens = L+1.
    oov: bool [N]; unknown: position -> unknown symbols, for OOV items only.
    unk_tokens: int64 [N] tokens scored as the unknown token (None: the model
    has none; then no item has any).
    From a word list (eval) also: in_train per item (None when the model
    does not know its training items), the list's name, the index of
    items[0] in it and the items' line numbers. normalized: items the model's
    rule changed (items keep the text as given); remedies: position -> the
    rule parts that alone keep an OOV item out ("case", "accents").
    """

    items: list[str]
    logprob: torch.Tensor
    lengths: torch.Tensor
    oov: torch.Tensor
    unknown: dict[int, tuple[str, ...]] = field(default_factory=dict)
    in_train: list[bool] | None = None
    source: str = ""
    start: int = 0
    lines: Sequence[int] = ()
    unk_tokens: torch.Tensor | None = None
    weights: torch.Tensor | None = None  # int64 [N], a weighted list's: totals count them
    normalized: int = 0
    remedies: dict[int, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def scored(
        cls,
        items: list[str],
        logprob: torch.Tensor,
        lengths: torch.Tensor,
        oov: torch.Tensor,
        unknown: dict[int, tuple[str, ...]],
        in_train: list[bool] | None,
        unk_tokens: torch.Tensor | None,
        normalized: int,
        remedies: dict[int, tuple[str, ...]],
    ) -> Batch:
        """Batch(...) of score_batch's fields, the list's at their defaults, equal to the
        one __init__ makes: made without the frozen class's __init__, which sets each
        of the 13 fields through object.__setattr__ (1.3 us of a 10 us one-item call)."""
        batch = object.__new__(cls)
        batch.__dict__.update(
            items=items,
            logprob=logprob,
            lengths=lengths,
            oov=oov,
            unknown=unknown,
            in_train=in_train,
            source="",
            start=0,
            lines=(),
            unk_tokens=unk_tokens,
            weights=None,
            normalized=normalized,
            remedies=remedies,
        )
        return batch

    def nll(self) -> torch.Tensor:
        """Per-item NLL, nats/token, float64 [N] (nan where OOV)."""
        return -self.logprob / (self.lengths + 1)

    def perplexity(self) -> torch.Tensor:
        """Per-item perplexity [N], inf where perplexity() says so (OOV included)."""
        nll = self.nll()
        return nll.exp().masked_fill(~(nll < MAX_NLL), math.inf)

    def metrics(self) -> Metrics:
        """The batch's totals, column-wise (no per-row objects)."""
        ok = ~self.oov
        lp = self.logprob[ok]  # (scored,) float64
        unknown: Counter[str] = Counter()
        for symbols in self.unknown.values():
            unknown.update(symbols)
        w = self.weights
        tokens = self.lengths[ok] + 1  # (scored,)
        if w is not None:  # as if each item were repeated `weight` times
            tokens, lp = tokens * w[ok], lp * w[ok].double()
        return Metrics(
            tokens=int(tokens.sum()),
            logprob=float(lp.sum()),
            weight=0 if w is None else int(w.sum()),
            oov=len(self.items) - len(lp),
            items=len(self.items),
            in_train=sum(self.in_train) if self.in_train is not None else 0,
            unknown=unknown,
            unk_tokens=None if self.unk_tokens is None else int(self.unk_tokens.sum()),
            normalized=self.normalized,
            remedies=Counter(self.remedies.values()),
        )

    def rows(self) -> Iterator[ItemScore]:
        """One ItemScore per item, in order."""
        logprob, lengths = self.logprob.tolist(), self.lengths.tolist()
        flags, lines = self.in_train, self.lines
        unk = None if self.unk_tokens is None else self.unk_tokens.tolist()
        weights = None if self.weights is None else self.weights.tolist()
        for i, item in enumerate(self.items):
            unknown = self.unknown.get(i)
            yield ItemScore(
                item,
                lengths[i] + 1,
                logprob[i],
                unknown is not None,
                unknown or (),
                None if flags is None else flags[i],
                self.start + i,
                self.source,
                lines[i] if lines else 0,
                None if unk is None else unk[i],
                None if weights is None else weights[i],
            )


@dataclass(frozen=True)
class TokenScore:
    """One predicted token of an item: its context, the token and its log p."""

    context: str
    token: str
    logprob: float

    @property
    def prob(self) -> float:
        return math.exp(self.logprob)

    @property
    def surprisal_bits(self) -> float:
        return -self.logprob / LN2

    def to_json(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "token": self.token,
            "prob": self.prob,
            "logprob": finite_or_none(self.logprob),
            "surprisal_bits": finite_or_none(self.surprisal_bits),
        }


@dataclass(frozen=True)
class Breakdown:
    """One item token by token (`score`); no tokens and its unknown symbols when OOV
    (with tokens too when the model scored them as the unknown token)."""

    item: str
    tokens: tuple[TokenScore, ...]
    unknown: tuple[str, ...] = ()

    @property
    def logprob(self) -> float:
        return sum(t.logprob for t in self.tokens)

    @property
    def reason(self) -> str:
        return f"symbols outside the model's vocabulary: {' '.join(self.unknown)}"

    def to_json(self) -> dict[str, Any]:
        """DESIGN.md's score keys: item, tokens [{context, token, prob, logprob}], logprob."""
        if self.unknown and not self.tokens:
            return {
                "item": self.item,
                "oov": True,
                "unknown": list(self.unknown),
                "tokens": [],
                "logprob": None,
                "reason": self.reason,
            }
        total = self.logprob
        out: dict[str, Any] = {
            "item": self.item,
            "tokens": [t.to_json() for t in self.tokens],
            "logprob": finite_or_none(total),
            "nll": finite_or_none(-total / len(self.tokens)),
        }
        if self.unknown:  # scored through the unknown token
            out["unknown"] = list(self.unknown)
        if not math.isfinite(total):
            out["reason"] = "a token has probability 0 under this model"
        return out


def impossible_total(
    totals: Iterable[tuple[str, Metrics | None]],
) -> tuple[str, Metrics] | None:
    """The first (label, totals) whose log-probabilities are above 0, or None.

    Each (label, totals) is what the CLI is about to report ("train", a list's
    path, ...). Every log p of a distribution is <= 0, so a total above
    LOGPROB_SLACK per token (NLL < 0, perplexity < 1) means the backend gives
    something else: probabilities, say, where log p of 0.2 reads as 0.2 > 0.
    registry.check_logprobs turns it into one clear line naming the backend.
    """
    for label, m in totals:
        if m is not None and m.tokens and m.logprob > LOGPROB_SLACK * m.tokens:
            return label, m
    return None
