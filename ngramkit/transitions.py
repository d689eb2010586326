"""What a model's transition table looks like: the lecture's matrix, or its top cells.

For a bigram (order 2) the lecture's 27x27 picture is `transition_matrix`:
the count matrix N[i, j] = count of (token i, token j) when the backend keeps
counts (a `top_counts()` method, as CountLM's), else the probability matrix
P[i, j] = p(j | i) from next_logprobs over every context. Rows are
contexts, columns next tokens, both in vocabulary order (boundary first).

For higher orders, `strongest` lists the most frequent n-grams (counts) or
the most probable transitions over all contexts when there are few enough
contexts to ask about. Nothing here prints or plots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from .keys import key_digits

if TYPE_CHECKING:
    from .model import LanguageModel

CONTEXT_LIMIT = 4096  # most contexts asked of next_logprobs for a listing


@dataclass(frozen=True)
class Matrix:
    """A [V, V] transition matrix; kind is "count" (ints) or "prob" (p(j|i))."""

    values: torch.Tensor
    kind: str
    tokens: tuple[str, ...]
    separator: str = ""  # between the two tokens of a cell label ("" for chars)


@dataclass(frozen=True)
class Transition:
    """One n-gram: its context tokens, the next token, count (or None) and p."""

    context: tuple[str, ...]
    token: str
    count: int | None
    prob: float


def _counts(model: LanguageModel) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(keys, counts) of the top-order n-grams, when the backend keeps counts."""
    top_counts = getattr(model, "top_counts", None)  # an optional capability
    return top_counts() if top_counts is not None else None


def transition_matrix(model: LanguageModel) -> Matrix | None:
    """The lecture's matrix for a bigram model; None at other orders."""
    vocab = model.require_fitted()
    V = len(vocab)
    if model.order != 2:
        return None
    found = _counts(model)
    if found is not None:
        N = torch.zeros(V * V, dtype=torch.long)
        N[found[0]] = found[1]
        return Matrix(N.view(V, V), "count", vocab.tokens, vocab.separator)
    contexts = torch.arange(V).unsqueeze(1)  # (V, 1): every one-token context
    return Matrix(model.next_logprobs(contexts).exp(), "prob", vocab.tokens, vocab.separator)


def strongest(model: LanguageModel, k: int = 20) -> list[Transition]:
    """The k most frequent n-grams (count backends) or most probable transitions.

    Empty when the backend keeps no counts and has more than CONTEXT_LIMIT contexts.
    """
    vocab = model.require_fitted()
    V, n = len(vocab), model.order
    tokens = vocab.tokens
    found = _counts(model)
    if found is not None:
        keys, counts = found
        top = counts.topk(min(k, len(counts)))
        chosen = keys[top.indices]  # (k,)
        digits = key_digits(chosen, V, n)  # (k, n)
        lp = model.token_logprobs(digits[:, :-1], digits[:, -1]).tolist()
        return [
            Transition(tuple(tokens[t] for t in row[:-1]), tokens[row[-1]], c, math.exp(p))
            for row, c, p in zip(digits.tolist(), top.values.tolist(), lp)
        ]
    if V ** (n - 1) > CONTEXT_LIMIT:
        return []
    contexts = key_digits(torch.arange(V ** (n - 1)), V, n - 1)  # (C, n-1): every context
    P = model.next_logprobs(contexts).exp()  # (C, V)
    top = P.flatten().topk(min(k, P.numel()))
    out = []
    for flat, p in zip(top.indices.tolist(), top.values.tolist()):
        c, t = divmod(flat, V)
        out.append(Transition(tuple(tokens[x] for x in contexts[c].tolist()), tokens[t], None, p))
    return out
