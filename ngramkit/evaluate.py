"""Scoring shared by every backend: one batch entry point, the corpus total, one item's tokens.

`score_batch` scores a batch of items column-wise; `corpus_metrics` totals a
list's tokens; `breakdown` shows one item token by token. All are built on
`LanguageModel.token_logprobs` / `corpus_logprobs`, so scoring never needs a
dense [B, V] row per token. Log-likelihoods are accumulated in float64.
Items enter as the user wrote them and are put under the model's
normalization rule (Corpus does it); results keep the text as given and count
the items the rule changed. Items with symbols outside the model's vocabulary
are OOV: never an error here, but counted, listed with their unknown symbols
(and the rule part, case or accents, that alone keeps them out), and left out
of the aggregate: `score_batch` gives them nan, `corpus_metrics` counts them
in `oov`, `breakdown` returns them with no tokens. `token_breakdown`, like
`LanguageModel.logprob`, raises OOVError. Under a model with the unknown token
they are scored through it instead, and its tokens are counted per item and
in total. The result types live in results.py.

A small batch (FEW_ITEMS, FEW_CHARS) of a model that scores one item in plain
Python (a count model's `plain_token_scores`) is scored item by item through
`token_scores`, with no tensor work but the result's columns: the same Batch,
bit for bit, in a tenth of the batch path's time.
"""

from __future__ import annotations

import array
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from .corpus import Corpus
from .errors import OOVError
from .model import marks
from .normalize import remedy
from .results import Batch, Breakdown, Metrics, TokenScore

if TYPE_CHECKING:
    from .model import LanguageModel

CHUNK_ITEMS = 65_536  # items scored per batch: bounds memory on long lists
# A batch of at most FEW_ITEMS items and FEW_CHARS characters is scored item by item by
# a model with plain-Python rows (a count model): ~5 us an item + 0.2 us a character
# against the batch path's ~150-300 us per call, names at orders 2-6 (bench_calls.py).
FEW_ITEMS = 32
FEW_CHARS = 384


def item_logprobs(model: LanguageModel, corpus: Corpus) -> torch.Tensor:
    """Total log-probability of each item of `corpus`: float64 [N], nan where OOV."""
    out = torch.zeros(len(corpus), dtype=torch.float64)
    if corpus.n_tokens:
        lp = model.corpus_logprobs(corpus).to(torch.float64)  # (T,)
        out.index_add_(0, corpus.target_items(), lp)
    out[corpus.oov] = math.nan
    return out


def score_batch(model: LanguageModel, items: Sequence[str]) -> Batch:
    """Score items in one batch, column-wise (no per-item objects).

    score_batch(m, ["ab"]).logprob[0] == log p(a|.) + log p(b|a) + log p(.|b).
    The batch keeps the items as given; lengths, in_train and the scores are
    of the items under the model's rule.
    """
    vocab = model.require_fitted()
    if _few(items) and _plain(model):
        return _score_few(model, items)
    corpus = Corpus.from_items(items, vocab)
    lengths = corpus.lengths.clone()  # (N,), 0 for OOV items: filled in below
    unknown, remedies = {}, {}
    for i in corpus.oov.nonzero().flatten().tolist():
        lengths[i] = len(vocab.split(corpus.items[i]))
        unknown[i] = tuple(vocab.unknown(corpus.items[i]))
        parts = remedy(vocab.normalization, items[i], lambda s: not vocab.unknown(s))
        if parts is not None:
            remedies[i] = parts
    if corpus.n_tokens == 0:  # nothing in vocabulary: Corpus.grams cannot cut a window
        logprob = torch.full((len(corpus),), math.nan, dtype=torch.float64)
    else:
        logprob = item_logprobs(model, corpus)
    unk = corpus.unk_tokens() if vocab.unk else None
    seen = model.training.seen if model.training else None
    in_train = None if seen is None else marks(seen, corpus.items)
    return Batch(
        list(items),
        logprob,
        lengths,
        corpus.oov,
        unknown,
        in_train,
        unk_tokens=unk,
        normalized=corpus.normalized,
        remedies=remedies,
    )


def _few(items: Sequence[str]) -> bool:
    """A list of 1..FEW_ITEMS strings of at most FEW_CHARS characters in all (a bare
    string is left to Corpus, which refuses it)."""
    if isinstance(items, (str, bytes)) or not 0 < len(items) <= FEW_ITEMS:
        return False
    return sum(len(s) for s in items if isinstance(s, str)) <= FEW_CHARS


def _plain(model: LanguageModel) -> bool:
    """Whether the model scores one item from plain Python rows now (a count model's
    `plain_token_scores`; a backend without the method: no)."""
    ask = getattr(model, "plain_token_scores", None)
    return ask is not None and bool(ask())


def _score_few(model: LanguageModel, items: Sequence[str]) -> Batch:
    """score_batch of a few items, one by one through model.token_scores: the same Batch,
    bit for bit (each item's log p summed in order from 0.0, as index_add_ sums them)."""
    vocab = model.require_fitted()
    normed, changed = vocab.normalize_all(items)
    logprob, lengths, unk = [], [], []
    unknown, remedies = {}, {}
    for i, item in enumerate(normed):
        try:
            scores = model.token_scores(item)  # (L+1,) OOVError for a closed vocabulary
        except OOVError:
            logprob.append(math.nan)
            lengths.append(len(vocab.split(item)))
            unk.append(0)
            unknown[i] = tuple(vocab.unknown(item))
            parts = remedy(vocab.normalization, items[i], lambda s: not vocab.unknown(s))
            if parts is not None:
                remedies[i] = parts
            continue
        total = 0.0
        for x in scores:
            total += x
        logprob.append(total)
        lengths.append(len(scores) - 1)
        unk.append(vocab.encode(item).count(vocab.unk_id) if vocab.unk else 0)
    seen = model.training.seen if model.training else None
    return Batch.scored(
        list(items),
        _column("d", logprob, torch.float64),
        _column("q", lengths, torch.int64),
        _column("b", [i in unknown for i in range(len(normed))], torch.bool),
        unknown,
        None if seen is None else marks(seen, normed),
        unk_tokens=_column("q", unk, torch.int64) if vocab.unk else None,
        normalized=changed,
        remedies=remedies,
    )


def _column(code: str, values: list[Any], dtype: torch.dtype) -> torch.Tensor:
    """A non-empty list of Python numbers as a tensor [N] over an array of type `code`
    (a quarter of torch.tensor's time on a few items)."""
    return torch.frombuffer(array.array(code, values), dtype=dtype)


def corpus_metrics(
    model: LanguageModel, items: Sequence[str], weights: Sequence[int] | None = None
) -> Metrics:
    """NLL of `items` (OOV items counted in `oov`, left out), CHUNK_ITEMS at a time.

    weights: each item counted that many times (tokens and log p), as if repeated.
    """
    vocab = model.require_fitted()
    tokens, total, oov, unk = 0, 0.0, 0, 0
    for start in range(0, len(items), CHUNK_ITEMS):
        part = None if weights is None else weights[start : start + CHUNK_ITEMS]
        corpus = Corpus.from_items(items[start : start + CHUNK_ITEMS], vocab, weights=part)
        if corpus.n_tokens:
            lp = model.corpus_logprobs(corpus).to(torch.float64)  # (T,)
            if part is not None:
                lp = lp * corpus.item_weights[corpus.target_items()].double()
            total += float(lp.sum())
            if vocab.unk:
                unk += int((corpus.stream == vocab.unk_id).sum())
        tokens += corpus.weighted_tokens
        oov += int(corpus.oov.sum())
    return Metrics(tokens, total, oov, unk_tokens=unk)


def token_breakdown(model: LanguageModel, item: str) -> list[TokenScore]:
    """Per-token scores of one item (normalized), as the lecture prints for "andrej".

    Raises OOVError for symbols outside a closed vocabulary.
    """
    vocab = model.require_fitted()
    lp = model.token_scores(item)  # (L+1,) raises OOVError first
    n, tokens = model.order, vocab.tokens
    edge = tokens[0]
    shown = [edge] * (n - 1) + [tokens[i] for i in vocab.encode(item)] + [edge]
    if n == 2:  # each context is one token: no join (a fifth of the call)
        return [TokenScore(shown[t - 1], shown[t], x) for t, x in enumerate(lp, 1)]
    sep = vocab.separator
    return [
        TokenScore(sep.join(shown[t - n + 1 : t]), shown[t], x) for t, x in enumerate(lp, n - 1)
    ]


def breakdown(model: LanguageModel, item: str) -> Breakdown:
    """`token_breakdown` as a result; an OOV item gets its unknown symbols, no error
    (under the unknown token it is scored, and its unknown symbols listed too)."""
    vocab = model.require_fitted()
    unknown = tuple(vocab.unknown(item))
    if unknown and not vocab.unk:
        return Breakdown(item, (), unknown)
    return Breakdown(item, tuple(token_breakdown(model, item)), unknown)
