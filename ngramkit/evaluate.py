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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from .corpus import Corpus
from .normalize import remedy
from .results import Batch, Breakdown, Metrics, TokenScore

if TYPE_CHECKING:
    from .model import LanguageModel

CHUNK_ITEMS = 65_536  # items scored per batch: bounds memory on long lists


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
    in_train = None if seen is None else [s in seen for s in corpus.items]
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
    n = model.order
    ids = [0] * (n - 1) + vocab.encode(item) + [0]  # the item's windows: context, then next
    tokens, sep = vocab.tokens, vocab.separator
    shown = [tokens[i] for i in ids]
    return [
        TokenScore(sep.join(shown[t - n + 1 : t]), shown[t], x)
        for t, x in zip(range(n - 1, len(ids)), lp)
    ]


def breakdown(model: LanguageModel, item: str) -> Breakdown:
    """`token_breakdown` as a result; an OOV item gets its unknown symbols, no error
    (under the unknown token it is scored, and its unknown symbols listed too)."""
    vocab = model.require_fitted()
    unknown = tuple(vocab.unknown(item))
    if unknown and not vocab.unk:
        return Breakdown(item, (), unknown)
    return Breakdown(item, tuple(token_breakdown(model, item)), unknown)
