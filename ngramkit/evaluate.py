"""Batched scoring shared by every backend: NLL, perplexity, bits, per-item rows.

Built on `LanguageModel.token_logprobs`, so scoring never needs a dense
[B, V] row per token. Log-likelihoods are accumulated in float64.

Units: nats. NLL = -(sum of log p over predicted tokens) / tokens, where an
item of length L predicts L+1 tokens; perplexity = exp(NLL); bits = NLL / ln 2.
Items with symbols outside the model's vocabulary are OOV: counted, listed
with their unknown symbols, and left out of the aggregate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .corpus import Corpus

if TYPE_CHECKING:
    import torch

    from .model import LanguageModel

CHUNK_ITEMS = 65_536  # items scored per batch: bounds memory on long lists
LN2 = math.log(2)


@dataclass(frozen=True)
class Metrics:
    """Aggregate of scored tokens: nll in nats/token (inf if any token has p=0)."""

    tokens: int
    logprob: float  # total, nats (may be -inf)
    oov: int = 0  # items left out: symbols outside the vocabulary

    @property
    def nll(self) -> float:
        return -self.logprob / self.tokens if self.tokens else math.nan

    @property
    def perplexity(self) -> float:
        return math.exp(self.nll) if math.isfinite(self.nll) and self.nll < 700 else math.inf

    @property
    def bits(self) -> float:
        return self.nll / LN2

    def to_json(self) -> dict[str, Any]:
        """DESIGN.md's keys; non-finite values become null with a reason."""
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


def finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class ItemScore:
    """One scored item. tokens = L+1; logprob in nats (nan when OOV)."""

    item: str
    tokens: int
    logprob: float
    oov: bool = False
    unknown: tuple[str, ...] = ()
    in_train: bool | None = None
    index: int = 0  # position in the input list
    source: str = ""
    line: int = 0  # 1-based line in the source file (0: not from a file)

    @property
    def nll(self) -> float:
        return -self.logprob / self.tokens if not self.oov else math.nan

    @property
    def perplexity(self) -> float:
        nll = self.nll
        return math.exp(nll) if math.isfinite(nll) and nll < 700 else math.inf

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
        if self.source:
            out["source"] = self.source
        if self.line:
            out["line"] = self.line
        return out


@dataclass
class Summary:
    """Running totals over scored items (OOV items counted, not scored)."""

    items: int = 0
    oov: int = 0
    tokens: int = 0
    logprob: float = 0.0
    infinite: int = 0  # scored items with probability 0
    in_train: int = 0
    sources: list[str] = field(default_factory=list)

    @property
    def scored(self) -> int:
        return self.items - self.oov

    @property
    def metrics(self) -> Metrics:
        return Metrics(self.tokens, self.logprob)

    def add(self, row: ItemScore) -> None:
        self.items += 1
        if row.oov:
            self.oov += 1
            return
        self.tokens += row.tokens
        self.logprob += row.logprob
        self.infinite += not math.isfinite(row.logprob)
        self.in_train += bool(row.in_train)

    def to_json(self) -> dict[str, Any]:
        m = self.metrics.to_json()
        return {
            "items": self.items,
            "scored": self.scored,
            "oov": self.oov,
            "tokens": self.tokens,
            "nll": m["nll"],
            "perplexity": m["perplexity"],
            "bits": m["bits"],
            **({"reason": m["reason"]} if "reason" in m else {}),
        }


def item_logprobs(model: LanguageModel, corpus: Corpus) -> torch.Tensor:
    """Total log-probability of each item of `corpus`: float64 [N], nan where OOV."""
    import torch

    out = torch.zeros(len(corpus), dtype=torch.float64)
    if corpus.n_tokens:
        lp = model.corpus_logprobs(corpus).to(torch.float64)  # (T,)
        out.index_add_(0, corpus.target_items(), lp)
    out[corpus.oov] = math.nan
    return out


@dataclass(frozen=True)
class Batch:
    """Scores of a batch of items, column-wise (cheap to make for millions).

    logprob: float64 [N] totals in nats, nan where OOV.
    lengths: int64 [N] symbols per item (OOV items included), so tokens = L+1.
    oov: bool [N].
    """

    items: list[str]
    logprob: torch.Tensor
    lengths: torch.Tensor
    oov: torch.Tensor


def score_batch(model: LanguageModel, items: Sequence[str]) -> Batch:
    """Score items in one batch, column-wise (no per-item objects).

    score_batch(m, ["ab"]).logprob[0] == log p(a|.) + log p(b|a) + log p(.|b).
    """
    import torch

    vocab = model.require_fitted()
    corpus = Corpus.from_items(items, vocab)
    lengths = corpus.lengths.clone()  # (N,), 0 for OOV items: filled in below
    for i in corpus.oov.nonzero().flatten().tolist():
        lengths[i] = len(vocab.split(corpus.items[i]))
    if corpus.n_tokens == 0:  # nothing in vocabulary: Corpus.grams cannot cut a window
        logprob = torch.full((len(corpus),), math.nan, dtype=torch.float64)
    else:
        logprob = item_logprobs(model, corpus)
    return Batch(list(corpus.items), logprob, lengths, corpus.oov)


def corpus_metrics(model: LanguageModel, items: Sequence[str]) -> Metrics:
    """NLL of `items` (OOV items left out), scored CHUNK_ITEMS at a time."""
    import torch

    vocab = model.require_fitted()
    tokens, total, oov = 0, 0.0, 0
    for start in range(0, len(items), CHUNK_ITEMS):
        corpus = Corpus.from_items(items[start : start + CHUNK_ITEMS], vocab)
        if corpus.n_tokens:
            total += float(model.corpus_logprobs(corpus).to(torch.float64).sum())
        tokens += corpus.n_tokens
        oov += int(corpus.oov.sum())
    return Metrics(tokens, total, oov)


def score_items(
    model: LanguageModel, items: Iterable[str], *, source: str = "", start: int = 0
) -> Iterator[ItemScore]:
    """Score items lazily, CHUNK_ITEMS at a time (memory bounded by the chunk)."""
    chunk: list[str] = []
    index = start
    for item in items:
        chunk.append(item)
        if len(chunk) == CHUNK_ITEMS:
            yield from _score_chunk(model, chunk, source, index)
            index += len(chunk)
            chunk = []
    if chunk:
        yield from _score_chunk(model, chunk, source, index)


def _score_chunk(
    model: LanguageModel, items: list[str], source: str, start: int
) -> Iterator[ItemScore]:
    vocab = model.require_fitted()
    corpus = Corpus.from_items(items, vocab)
    totals = item_logprobs(model, corpus).tolist()
    lengths = corpus.lengths.tolist()
    oov = corpus.oov.tolist()
    seen = model.training.seen if model.training else None
    for i, item in enumerate(items):
        in_train = None if seen is None else item in seen
        if oov[i]:
            n = len(vocab.split(item)) + 1
            yield ItemScore(
                item, n, math.nan, True, tuple(vocab.unknown(item)), in_train, start + i, source
            )
        else:
            yield ItemScore(item, lengths[i] + 1, totals[i], False, (), in_train, start + i, source)


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


def token_breakdown(model: LanguageModel, item: str) -> list[TokenScore]:
    """Per-token scores of one item, as the lecture prints for "andrej".

    Raises OOVError for symbols outside the vocabulary.
    """
    import torch

    vocab = model.require_fitted()
    grams = model.windows_of(item)  # (L+1, order)
    lp = model.token_logprobs(grams[:, :-1], grams[:, -1]).to(torch.float64).tolist()
    tokens = vocab.tokens
    sep = vocab.separator
    rows = []
    for g, x in zip(grams.tolist(), lp):
        context = sep.join(tokens[t] for t in g[:-1]) if len(g) > 1 else ""
        rows.append(TokenScore(context, tokens[g[-1]], x))
    return rows
