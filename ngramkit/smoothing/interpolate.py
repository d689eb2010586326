"""Interpolated estimates from levels and discounts, in backoff form.

`weights` turns one level and its discounts into the discounted probability
of each k-gram and the interpolation weight gamma of each context (the
formulas are in methods.py). `estimate` chains the orders from the unigrams
up and returns `BackoffTables`: log p_k of every stored k-gram and log gamma
of every context. `query_probs` computes p(w | h) of arbitrary queries from
the same weights without building the tables; it is differentiable in the
discounts, which is how tune.py fits them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..keys import find, gram_keys, top_order
from .backoff import BackoffTables
from .levels import Level
from .methods import Method


def weights(
    method: Method, level: Level, discounts: torch.Tensor | Sequence[float]
) -> tuple[torch.Tensor, torch.Tensor]:
    """(alpha (M,), gamma (C,)) of one level, float64.

    alpha = (a - d(a)) / Z(h) is the k-gram's own (discounted) probability,
    gamma = (sum d + t(h)) / Z(h) the weight of the lower order.
    """
    a = level.counts  # (M,)
    D = torch.as_tensor(discounts, dtype=torch.float64)
    d = _discounted(method, a, D)
    Z, gamma = _normalizers(method, level, a, d)
    if d.requires_grad:  # tuning: autograd needs every intermediate
        return (a - d) / Z[level.ctx_of], gamma
    alpha = a - d  # in place from here: each (M,) temporary is the size of the table
    del d
    return alpha.div_(Z[level.ctx_of]), gamma


def _discounted(method: Method, a: torch.Tensor, D: torch.Tensor) -> torch.Tensor:
    """d(a): the discount of each k-gram of (continuation) count a, (M,) -> (M,)."""
    if method.n_discounts == 0:
        d = torch.zeros_like(a)
    elif method.n_discounts == 1:
        d = D[0].expand_as(a)
    else:
        d = D[(a.clamp(max=3) - 1).long()]  # D1, D2, D3+ by count
    return torch.minimum(d, a)  # a continuation count below D loses at most itself


def _normalizers(
    method: Method, level: Level, a: torch.Tensor, d: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(Z (C,), gamma (C,)) of each context from its k-grams' counts and discounts (M,)."""
    C = len(level.ctx_keys)
    total = torch.zeros(C, dtype=torch.float64).index_add(0, level.ctx_of, a)
    taken = torch.zeros(C, dtype=torch.float64).index_add(0, level.ctx_of, d)
    extra = torch.zeros(C, dtype=torch.float64)
    if method.witten_bell:
        extra = torch.bincount(level.ctx_of, minlength=C).double()  # N1+(h .)
    Z = total + extra  # (C,)
    return Z, (taken + extra) / Z


SLICE = 2**18  # k-grams of a level interpolated at once: bounds the (M,) temporaries


def _interpolated(
    method: Method, level: Level, D: torch.Tensor, lower: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(p (M,), gamma (C,)): alpha + gamma(h) p_lower(suffix) of each k-gram of a level,
    float64, `lower` being the order below's p. The same values as `weights` gives,
    element by element, computed SLICE k-grams at a time after the context sums."""
    a = level.counts
    Z, gamma = _normalizers(method, level, a, _discounted(method, a, D))
    p = torch.empty_like(a)
    for start in range(0, len(a), SLICE):
        part = slice(start, start + SLICE)
        ctx, own = level.ctx_of[part], a[part]
        alpha = (own - _discounted(method, own, D)).div_(Z[ctx])
        # alpha + gamma(h) * p_lower, in place (equal to the plain expression:
        # IEEE addition and multiplication commute).
        p[part] = lower[level.suffix_of[part]].mul_(gamma[ctx]).add_(alpha)
    return p, gamma


def estimate(
    method: Method,
    levels: Sequence[Level],
    discounts: Sequence[torch.Tensor | Sequence[float]],
    vocab_size: int,
    mle_unigrams: bool = False,
) -> BackoffTables:
    """Backoff tables of the interpolated estimate (all orders).

    The unigrams interpolate with the uniform distribution over V tokens. An
    unknown token (the last id, never counted) so gets the uniform share
    gamma / V, as lmplz gives `<unk>`. `mle_unigrams` instead leaves the
    unigrams undiscounted, a / sum(a), as nltk.lm does (the tests compare
    with it); a token never counted then has probability 0.
    """
    V = vocab_size
    base = 1.0 / V
    keys, logp, ctx_keys, log_bow = [], [], [], []
    prev = torch.zeros(0)
    for level, D in zip(levels, discounts):
        if level.k == 1:
            alpha, gamma = weights(method, level, D)
            g0 = float(gamma[0]) if len(gamma) else 1.0
            p = torch.full((V,), g0 * base, dtype=torch.float64)  # (V,) dense unigrams
            p[level.keys] += alpha
            if mle_unigrams:
                p = torch.zeros(V, dtype=torch.float64)
                p[level.keys] = level.counts / level.counts.sum()
            keys.append(torch.arange(V))
        else:
            p, gamma = _interpolated(method, level, torch.as_tensor(D, dtype=torch.float64), prev)
            keys.append(level.keys)
            ctx_keys.append(level.ctx_keys)
            log_bow.append(gamma.log())
            logp.append(prev.log_())  # the order below is used up: its log in place
        prev = p
    logp.append(prev.log_())
    return BackoffTables(V, tuple(keys), tuple(logp), tuple(ctx_keys), tuple(log_bow))


@dataclass(frozen=True)
class Queries:
    """Where each query (h, w) sits in each level, found once, reused per step.

    targets: (T,) token ids. For each level k >= 2 (list index k-2): gram (T,)
    index of the k-gram (h[-(k-1):], w) or -1; ctx (T,) index of its context
    or -1; live (T,) whether order k is used (see backoff.py on boundaries).
    """

    targets: torch.Tensor
    gram: list[torch.Tensor]
    ctx: list[torch.Tensor]
    live: list[torch.Tensor]


def locate(
    levels: Sequence[Level], vocab_size: int, contexts: torch.Tensor, targets: torch.Tensor
) -> Queries:
    """Queries for contexts [T, N-1] and targets [T]."""
    V, N = vocab_size, len(levels)
    top = top_order(gram_keys(contexts, V), V, N)  # (T,)
    key = targets.clone()
    gram, ctx, live = [], [], []
    scale = 1
    for level in levels[1:]:
        scale *= V
        key = contexts[:, N - level.k] * scale + key  # (T,)
        gram.append(_index(level.keys, key))
        ctx.append(_index(level.ctx_keys, key // V))
        live.append(top >= level.k)
    return Queries(targets, gram, ctx, live)


def query_probs(
    method: Method,
    levels: Sequence[Level],
    discounts: Sequence[torch.Tensor | Sequence[float]],
    queries: Queries,
    vocab_size: int,
) -> torch.Tensor:
    """p(w | h) of every query (T,), float64; differentiable in the discounts."""
    V = vocab_size
    base = 1.0 / V
    alpha, gamma = weights(method, levels[0], discounts[0])
    uni = torch.zeros(V, dtype=torch.float64).index_add(0, levels[0].keys, alpha)
    p = uni[queries.targets] + gamma[0] * base  # (T,)
    for i, level in enumerate(levels[1:]):
        alpha, gamma = weights(method, level, discounts[i + 1])
        g_idx, c_idx = queries.gram[i], queries.ctx[i]
        own = torch.where(g_idx >= 0, alpha[g_idx.clamp(min=0)], 0.0)
        lower = torch.where(c_idx >= 0, gamma[c_idx.clamp(min=0)], 1.0)
        p = torch.where(queries.live[i], own + lower * p, p)
    return p


def _index(keys: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """Index of each query key in sorted `keys`, -1 where absent."""
    pos, found = find(keys, query)
    return torch.where(found, pos, -1)
