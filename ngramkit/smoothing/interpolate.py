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
from .discounts import estimate as estimate_discounts
from .levels import Level, Stage, build_level, context_count, context_slices, suffix_index
from .methods import Method


def weights(
    method: Method, level: Level, discounts: torch.Tensor | Sequence[float]
) -> tuple[torch.Tensor, torch.Tensor]:
    """(alpha (M,), gamma (C,)) of one level, float64.

    alpha = (a - d(a)) / Z(h) is the k-gram's own (discounted) probability,
    gamma = (sum d + t(h)) / Z(h) the weight of the lower order.
    """
    a = level.counts.double()  # (M,)
    D = torch.as_tensor(discounts, dtype=torch.float64)
    d = _discounted(method, a, D)
    Z, gamma = _normalizers(method, level.ctx_of, len(level.ctx_keys), a, d)
    if d.requires_grad:  # tuning: autograd needs every intermediate
        return (a - d) / Z[level.ctx_of], gamma
    alpha = a - d  # in place from here: each (M,) temporary is the size of the table
    del d
    return alpha.div_(Z[level.ctx_of]), gamma


def _discounted(method: Method, a: torch.Tensor, D: torch.Tensor) -> torch.Tensor:
    """d(a): the discount of each k-gram of (continuation) count a, (M,) float64 -> (M,)."""
    if method.n_discounts == 0:
        d = torch.zeros_like(a)
    elif method.n_discounts == 1:
        d = D[0].expand_as(a)
    else:
        d = D[(a.clamp(max=3) - 1).long()]  # D1, D2, D3+ by count
    return torch.minimum(d, a)  # a continuation count below D loses at most itself


def _normalizers(
    method: Method, ctx_of: torch.Tensor, C: int, a: torch.Tensor, d: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(Z (C,), gamma (C,)) of C contexts from their k-grams' counts `a` and discounts
    `d` (M,) float64, `ctx_of` (M,) being each k-gram's context. Each context's sums
    run over its k-grams in order (one index_add), whether `a` is a whole level or a
    run of whole contexts. Z and gamma are made in the sums' own arrays; autograd
    allows it: Z needs no gradient, and gamma's (taken's) needs only Z."""
    total = torch.zeros(C, dtype=torch.float64).index_add(0, ctx_of, a)
    taken = torch.zeros(C, dtype=torch.float64).index_add(0, ctx_of, d)
    if method.witten_bell:
        extra = torch.bincount(ctx_of, minlength=C).double()  # N1+(h .)
        total.add_(extra)
        taken.add_(extra)
    return total, taken.div_(total)


def _interpolated(
    method: Method,
    k: int,
    stage: Stage,
    D: torch.Tensor,
    lower: torch.Tensor,
    below: torch.Tensor,
    vocab_size: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(p (M,), gamma (C,), ctx_keys (C,)) of order k >= 2: alpha + gamma(h) p_lower(suffix)
    of each k-gram of `stage` (keys, counts to discount), float64, `lower` being the
    order below's p and `below` its stored keys (for k = 2, `lower` is dense: V).

    Worked a run of whole contexts at a time (levels.context_slices): each
    context's sums are over its own k-grams in key order, as `weights` adds
    them over the whole level, so the values are the same, element by element,
    and nothing but the outputs is the size of the level.
    """
    keys, a = stage
    V = vocab_size
    C = context_count(keys, V)
    p = torch.empty(len(keys), dtype=torch.float64)
    gamma = torch.empty(C, dtype=torch.float64)
    ctx_keys = torch.empty(C, dtype=torch.long)
    done = 0  # contexts written
    for part in context_slices(keys, V):
        ctx, ctx_of = torch.unique_consecutive(keys[part] // V, return_inverse=True)
        own = a[part].double()
        d = _discounted(method, own, D)
        Z, g = _normalizers(method, ctx_of, len(ctx), own, d)
        alpha = own.sub_(d).div_(Z[ctx_of])
        # alpha + gamma(h) * p_lower, in place (equal to the plain expression:
        # IEEE addition and multiplication commute).
        suffix = suffix_index(keys[part], below, V, k)
        p[part] = lower[suffix].mul_(g[ctx_of]).add_(alpha)
        gamma[done : done + len(ctx)] = g
        ctx_keys[done : done + len(ctx)] = ctx
        done += len(ctx)
    return p, gamma, ctx_keys


def estimate(
    method: Method,
    stages: list[Stage],
    discounts: Sequence[torch.Tensor | Sequence[float]] | None,
    vocab_size: int,
    mle_unigrams: bool = False,
) -> tuple[BackoffTables, list[tuple[float, ...]]]:
    """(backoff tables of the interpolated estimate, the discounts used) from the
    stages of orders 1..N (levels.level_counts: keys and counts to discount),
    which are consumed: each order's counts are let go once it is estimated.
    `discounts`: one row per order, or None to estimate each order's from its
    counts (discounts.estimate).

    The unigrams interpolate with the uniform distribution over V tokens. An
    unknown token (the last id, never counted) so gets the uniform share
    gamma / V, as lmplz gives `<unk>`. `mle_unigrams` instead leaves the
    unigrams undiscounted, a / sum(a), as nltk.lm does (the tests compare
    with it); a token never counted then has probability 0.
    """
    V = vocab_size
    keys, logp, ctx_keys, log_bow = [], [], [], []
    used: list[tuple[float, ...]] = []
    prev = torch.zeros(0)
    below = torch.zeros(0, dtype=torch.long)
    stages.reverse()  # pop() takes order 1 first; then each stage is held here alone
    for k in range(1, len(stages) + 1):
        stage = stages.pop()
        given = discounts[k - 1] if discounts is not None else estimate_discounts(method, stage[1])
        used.append(tuple(float(x) for x in given))
        D = torch.as_tensor(given, dtype=torch.float64)
        if k == 1:
            p = _unigrams(method, stage, D, V, mle_unigrams)
            keys.append(torch.arange(V))
        else:
            p, gamma, ctx = _interpolated(method, k, stage, D, prev, below, V)
            keys.append(stage[0])
            ctx_keys.append(ctx)
            log_bow.append(gamma.log_())
            logp.append(prev.log_())  # the order below is used up: its log in place
        below = stage[0]
        del stage  # this order's counts to discount go
        prev = p
    logp.append(prev.log_())
    tables = BackoffTables(V, tuple(keys), tuple(logp), tuple(ctx_keys), tuple(log_bow))
    return tables, used


def _unigrams(method: Method, stage: Stage, D: torch.Tensor, V: int, mle: bool) -> torch.Tensor:
    """(V,) dense p of the unigrams: interpolated with the uniform 1 / V, or the
    undiscounted a / sum(a) (`mle`)."""
    keys, a = stage
    if mle:
        p = torch.zeros(V, dtype=torch.float64)
        p[keys] = a.double() / a.double().sum()
        return p
    alpha, gamma = weights(method, build_level(1, keys, a, keys, V), D)
    g0 = float(gamma[0]) if len(gamma) else 1.0
    p = torch.full((V,), g0 * (1.0 / V), dtype=torch.float64)
    p[keys] += alpha
    return p


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
