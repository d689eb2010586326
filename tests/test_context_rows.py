"""Compact context rows give the sparse path's numbers, bit for bit."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from ngramkit import CountLM
from ngramkit.backends.context_rows import addk_rows, backoff_rows, row_count, sizes
from ngramkit.corpus import Corpus
from ngramkit.evaluate import item_logprobs
from ngramkit.keys import gram_keys
from ngramkit.model import LanguageModel
from ngramkit.smoothing.backoff import BackoffTables

TRAIN = ["ab", "abc", "ba", "c", "aab", "cab", "bbca", "acab"]


def random_contexts(V: int, order: int, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n contexts [n, order-1] with 0..order-1 leading boundaries (and stray inner 0s)."""
    g = torch.Generator().manual_seed(seed)
    ctx = torch.randint(0, V, (n, order - 1), generator=g)
    lead = torch.randint(0, order, (n,), generator=g)
    ctx[torch.arange(order - 1)[None, :] < lead[:, None]] = 0
    return ctx, torch.randint(0, V, (n,), generator=g)


@pytest.mark.parametrize("smooth", ["kn", "mkn", "wb", "abs"])
@pytest.mark.parametrize("order", [2, 3, 5])
def test_backoff_rows_equal_the_tables(smooth: str, order: int) -> None:
    model = CountLM(order=order, smooth=smooth).fit(TRAIN)
    tables = model.estimate_
    assert tables is not None
    rows = backoff_rows(tables)
    ctx, targets = random_contexts(len(model.vocab), order, 5000, seed=order)
    keys = gram_keys(ctx, len(model.vocab))
    assert torch.equal(rows.token_logprobs(keys, targets), tables.token_logprobs(ctx, targets))
    full = rows.next_logprobs(keys[:50])  # (50, V): every row a distribution
    assert torch.allclose(full.logsumexp(1), torch.zeros(50, dtype=torch.float64), atol=1e-12)


def without_some_weights(tables: BackoffTables) -> BackoffTables:
    """The tables with every third stored context's backoff weight dropped (as an ARPA
    file may leave out a weight of 0): the active contexts are then a union."""
    keep = [torch.arange(len(c)) % 3 != 1 for c in tables.ctx_keys]
    return replace(
        tables,
        ctx_keys=tuple(c[k] for c, k in zip(tables.ctx_keys, keep)),
        log_bow=tuple(b[k] for b, k in zip(tables.log_bow, keep)),
    )


def with_spare_weights(tables: BackoffTables) -> BackoffTables:
    """The tables with a weight stored for a context that no n-gram extends (as an ARPA
    file may hold): the last key of each order's context space, if not stored."""
    V = tables.vocab_size
    ctx, bow = [], []
    for j, (c, b) in enumerate(zip(tables.ctx_keys, tables.log_bow), 1):
        spare = V**j - 1
        if spare in set(c.tolist()):
            ctx.append(c)
            bow.append(b)
            continue
        ctx.append(torch.cat([c, torch.tensor([spare])]))
        bow.append(torch.cat([b, torch.tensor([-0.75], dtype=b.dtype)]))
    return replace(tables, ctx_keys=tuple(ctx), log_bow=tuple(bow))


@pytest.mark.parametrize("smooth", ["mkn", "wb"])
@pytest.mark.parametrize("order", [2, 4, 6, 8])
def test_row_count_is_the_rows_built(names: list[str], smooth: str, order: int) -> None:
    """row_count is exact, sizes' free count a bound; with stored contexts missing their
    weights (the union of active contexts) or with weights for contexts no n-gram
    extends, the rows still give the tables' floats."""
    tables = CountLM(order=order, smooth=smooth).fit(names[:3000]).estimate_
    for case in (tables, without_some_weights(tables), with_spare_weights(tables)):
        rows = backoff_rows(case)
        V = case.vocab_size
        assert row_count(case) == len(rows.logp) // V <= sizes(case)[1]
        ctx, targets = random_contexts(V, order, 3000, seed=order)
        keys = gram_keys(ctx, V)
        assert torch.equal(rows.token_logprobs(keys, targets), case.token_logprobs(ctx, targets))
    dropped = without_some_weights(tables)  # the union: more active contexts than stored
    assert 1 + sum(map(len, dropped.ctx_keys)) < row_count(dropped) == row_count(tables)


def plain_addk(train: list[str], context: tuple[int, ...], token: int, order: int, k: float):
    """log p(token | context) of add-k counted in a plain loop over ids (1 = a, ...)."""
    ids = {s: i + 1 for i, s in enumerate(sorted(set("".join(train))))}
    V = len(ids) + 1
    pair = total = 0
    for s in train:
        padded = [0] * (order - 1) + [ids[c] for c in s] + [0]
        for i in range(order - 1, len(padded)):
            if tuple(padded[i - order + 1 : i]) == context:
                total += 1
                pair += padded[i] == token
    if not total:
        return math.log(1 / V)  # an unseen context is uniform
    return math.log((pair + k) / (total + k * V)) if pair + k else -math.inf


@pytest.mark.parametrize("k", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("order", [2, 4])
def test_addk_rows_equal_the_sparse_formula(k: float, order: int) -> None:
    model = CountLM(order=order, smooth=k).fit(TRAIN)
    V = len(model.vocab)
    rows = addk_rows(model.estimate_)
    ctx, targets = random_contexts(V, order, 300, seed=7)
    got = rows.token_logprobs(gram_keys(ctx, V), targets)
    want = [
        plain_addk(TRAIN, tuple(c), t, order, k) for c, t in zip(ctx.tolist(), targets.tolist())
    ]
    assert got.tolist() == pytest.approx(want, rel=1e-13, abs=1e-13)
    model.scorer_.dense = None  # the sparse lookups (a batch too small to build rows)
    assert torch.equal(got, model.token_logprobs(ctx, targets))


@pytest.mark.parametrize("unk", [False, True])
@pytest.mark.parametrize("k", [0.0, 0.5, 1.0, 3e-5])
def test_seen_rows_equal_the_formula_per_key(names: list[str], k: float, unk: bool) -> None:
    """AddK's whole rows (seen_logprobs: in place, no search; next_logprobs) give the
    per-key formula's floats (key_logprobs, as a query is scored), bit for bit; as
    do weighted counts and contexts that are not the keys' own (the searched path)."""
    est = CountLM(order=4, smooth=k, unk=unk).fit(names[:3000]).estimate_
    for case in (
        est,
        replace(est, counts=est.counts * 0.37, ctx_totals=est.ctx_totals * 0.37),
        replace(est, ctx_keys=est.ctx_keys + 1),  # no longer the keys' own contexts
    ):
        V = case.vocab_size
        every = (case.ctx_keys[:, None] * V + torch.arange(V)).flatten()
        want = case.key_logprobs(every).view(-1, V)
        assert torch.equal(case.seen_logprobs(), want)
        assert torch.equal(case.next_logprobs(case.ctx_keys), want)


@pytest.mark.parametrize("smooth", [1.0, 0.0, "mkn"])
def test_eval_at_order_5_keeps_its_numbers(names: list[str], smooth: float | str) -> None:
    """Batches take the rows once they pay; the base path (windows, no rows) gives the same sums."""
    model = CountLM(order=5, smooth=smooth).fit(names[:5000])
    corpus = Corpus.from_items(names[5000:9000], model.vocab)
    first = item_logprobs(model, corpus)  # before the rows pay: searchsorted lookups
    for _ in range(20):  # rows are built once enough tokens were scored
        if model.scorer_.rows is not None:
            break
        item_logprobs(model, corpus)
    assert model.scorer_.rows is not None
    fast = item_logprobs(model, corpus)
    assert torch.equal(first.nan_to_num(), fast.nan_to_num())
    slow = CountLM(order=5, smooth=smooth).fit(names[:5000])
    slow.scorer_.can_build_rows = False  # never build rows: searchsorted lookups
    lp = LanguageModel.corpus_logprobs(slow, corpus)  # windows -> token_logprobs
    want = torch.zeros(len(corpus), dtype=torch.float64).index_add_(0, corpus.target_items(), lp)
    want[corpus.oov] = math.nan
    assert torch.equal(fast.nan_to_num(), want.nan_to_num())
