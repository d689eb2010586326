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
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .corpus import Corpus
from .tokenizer import Vocabulary

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

    grams, item = corpus.windows(model.order)  # (T, order), (T,)
    out = torch.zeros(len(corpus), dtype=torch.float64)
    if len(grams):
        lp = model.token_logprobs(grams[:, :-1], grams[:, -1]).to(torch.float64)  # (T,)
        out.index_add_(0, item, lp)
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
    """Score items in one batch; char vocabularies take a fast path (same numbers).

    score_batch(m, ["ab"]).logprob[0] == log p(a|.) + log p(b|a) + log p(.|b).
    """
    import torch

    vocab = model.require_fitted()
    items = items if isinstance(items, list) else list(items)
    if vocab.kind == "char" and "\n" not in vocab.stoi:
        text = "\n".join(items) + "\n"
        if text.count("\n") == len(items):  # no item holds a newline itself
            return _char_stream_batch(model, items, text)
    corpus = Corpus.from_items(items, vocab)
    lengths = torch.tensor([len(vocab.split(s)) for s in items], dtype=torch.long)
    return Batch(items, item_logprobs(model, corpus), lengths, corpus.oov)


LUT_LIMIT = 2**21  # code points of a lookup table (all of Unicode fits: 0x10FFFF)


def _id_table(vocab: Vocabulary) -> torch.Tensor:
    """code point -> token id (-1 if unknown; the newline -> 0, the boundary)."""
    import torch

    cps = vocab._codepoints  # (V-1,) sorted
    size = max(int(cps[-1]) if len(cps) else 0, 10) + 2  # the last entry stays -1
    lut = torch.full((size,), -1, dtype=torch.long)
    lut[cps] = torch.arange(1, len(cps) + 1)
    lut[10] = 0
    return lut


def _char_stream_batch(model: LanguageModel, items: list[str], text: str) -> Batch:
    """Char items as one token stream "a b 0 c 0 ...": every position is a target.

    `text` is the items joined and ended by newlines; each newline becomes the
    end boundary (id 0) of the item before it, so the stream holds exactly the
    L+1 predicted tokens of every item, in order. A context token lying before
    its item's start is the start boundary (0): masked by position in item.
    This skips building per-item windows, the slow part of Corpus.windows.
    """
    import torch

    vocab = model.require_fitted()
    n, order = len(items), model.order
    lut = _lut_cache.get(vocab)
    if lut is None:
        lut = _lut_cache.setdefault(vocab, _id_table(vocab))
    cps = torch.frombuffer(bytearray(text.encode("utf-32-le")), dtype=torch.int32)  # (T,)
    ids = lut[cps.clamp_(max=len(lut) - 1)]  # (T,) -1 where unknown
    end = ids == 0  # (T,) the end boundary of each item
    ends = end.nonzero().squeeze(1)  # (N,) stream position of each end boundary
    lengths = torch.diff(ends, prepend=torch.tensor([-1])) - 1  # (N,) symbols per item
    item_of = torch.repeat_interleave(torch.arange(n), lengths + 1)  # (T,) item of each position
    oov = torch.zeros(n, dtype=torch.bool)
    unknown = ids < 0
    if bool(unknown.any()):  # score only the in-vocabulary items' positions
        oov[item_of[unknown]] = True
        keep = ~oov[item_of]
        ids, item_of = ids[keep], item_of[keep]
    logprob = torch.zeros(n, dtype=torch.float64)
    if len(ids):
        lp = model.token_logprobs(_stream_contexts(ids, order), ids).to(torch.float64)  # (T,)
        logprob.index_add_(0, item_of, lp)
    logprob[oov] = math.nan
    return Batch(items, logprob, lengths, oov)


def _stream_contexts(ids: torch.Tensor, order: int) -> torch.Tensor:
    """Contexts [T, order-1] of every position of a token stream [T].

    The token d steps back is ids[i-d], unless a boundary (0) lies closer:
    then the item started there and everything further back is the start
    boundary. stream ". a b . c ." at order 3: contexts of a, b, ., c, . are
    (. .) (. a) (a b) (. .) (. c).
    """
    import torch

    ctx = torch.zeros(len(ids), order - 1, dtype=torch.long)  # (T, order-1)
    prev = None
    for d in range(1, order):  # column order-1-d: the token d steps back
        back = ctx[:, order - 1 - d]
        back[d:] = ids[:-d]
        if prev is not None:
            back.masked_fill_(prev == 0, 0)  # a boundary lies closer: start of item
        prev = back
    return ctx


_lut_cache: weakref.WeakKeyDictionary[Vocabulary, torch.Tensor] = weakref.WeakKeyDictionary()


def corpus_metrics(model: LanguageModel, items: Sequence[str]) -> Metrics:
    """NLL of `items` (OOV items left out), scored in chunks."""
    summary = Summary()
    for row in score_items(model, items):
        summary.add(row)
    return summary.metrics


def score_items(
    model: LanguageModel,
    items: Iterable[str],
    *,
    source: str = "",
    start: int = 0,
    lines: Sequence[int] | None = None,
) -> Iterator[ItemScore]:
    """Score items lazily, CHUNK_ITEMS at a time (memory bounded by the chunk).

    lines: the items' line numbers in `source` (WordList.lines), copied to rows.
    """
    chunk: list[str] = []
    index = start
    for item in items:
        chunk.append(item)
        if len(chunk) == CHUNK_ITEMS:
            at = lines[index - start : index - start + len(chunk)] if lines is not None else None
            yield from _score_chunk(model, chunk, source, index, at)
            index += len(chunk)
            chunk = []
    if chunk:
        at = lines[index - start : index - start + len(chunk)] if lines is not None else None
        yield from _score_chunk(model, chunk, source, index, at)


def _score_chunk(
    model: LanguageModel,
    items: list[str],
    source: str,
    start: int,
    lines: Sequence[int] | None = None,
) -> Iterator[ItemScore]:
    """Rows of one chunk; lines (if given) are aligned with `items`."""
    vocab = model.require_fitted()
    batch = score_batch(model, items)
    totals = batch.logprob.tolist()
    lengths = batch.lengths.tolist()
    oov = batch.oov.tolist()
    seen = model.training.seen if model.training else None
    for i, item in enumerate(items):
        in_train = None if seen is None else item in seen
        line = lines[i] if lines is not None else 0
        if oov[i]:
            unknown = tuple(vocab.unknown(item))
            yield ItemScore(
                item, lengths[i] + 1, math.nan, True, unknown, in_train, start + i, source, line
            )
        else:
            yield ItemScore(
                item, lengths[i] + 1, totals[i], False, (), in_train, start + i, source, line
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
