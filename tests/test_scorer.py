"""The scorer's fast paths (dense, compact rows, dedup blocks) give the estimate's numbers."""

from __future__ import annotations

import pytest
import torch

from ngramkit import CountLM
from ngramkit.backends import context_rows
from ngramkit.backends import scorer as scorer_module
from ngramkit.backends.scorer import ROWS_MIN_BATCH, Scorer
from ngramkit.keys import gram_keys

TRAIN = ["ab", "abc", "ba", "c", "aab", "cab", "bbca", "acab", ""]


@pytest.mark.parametrize("smooth", [0.0, 0.3, 1.0, "kn", "mkn", "wb", "abs"])
@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_every_path_is_the_estimate_bit_for_bit(smooth: float | str, order: int) -> None:
    if smooth in ("kn", "mkn") and order == 1:
        pytest.skip("Kneser-Ney needs order >= 2")
    est = CountLM(order=order, smooth=smooth).fit(TRAIN).estimate_
    V = est.vocab_size
    g = torch.Generator().manual_seed(order)
    ctx = gram_keys(torch.randint(0, V, (ROWS_MIN_BATCH, order - 1), generator=g), V)
    targets = torch.randint(0, V, (ROWS_MIN_BATCH,), generator=g)
    want = est.key_logprobs(ctx * V + targets)  # the plain formula
    scorer = Scorer(est)
    assert scorer.dense is not None  # V^order is small here
    assert torch.equal(scorer.token_logprobs(ctx, targets), want)
    assert torch.equal(scorer.next_logprobs(ctx[:50]), est.next_logprobs(ctx[:50]))
    rows = context_rows.build(est)
    assert torch.equal(rows.token_logprobs(ctx, targets), want)
    scorer.dense = None  # the rows once they pay, else the estimate in blocks
    for _ in range(3):
        assert torch.equal(scorer.token_logprobs(ctx, targets), want)
    assert scorer.rows is not None


def test_a_small_batch_never_builds_rows() -> None:
    scorer = Scorer(CountLM(order=3, smooth="kn").fit(TRAIN).estimate_)
    scorer.dense = None
    ctx = torch.zeros(ROWS_MIN_BATCH - 1, dtype=torch.long)
    for _ in range(5):
        scorer.token_logprobs(ctx, ctx)
    assert scorer.rows is None and scorer.scored == 0


def test_rows_past_the_free_bound_are_counted(
    names: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model whose free bound on the rows passes the cell limit is counted exactly:
    built when the rows themselves fit (order 8 on names: 3.7M cells, bound 9.6M)."""
    est = CountLM(order=6, smooth="mkn").fit(names[:4000]).estimate_
    V, exact, bound = est.vocab_size, context_rows.row_count(est), context_rows.sizes(est)[1]
    assert exact < bound
    for limit, fits in ((exact * V, True), (exact * V - 1, False)):
        monkeypatch.setattr(scorer_module, "ROWS_CELL_LIMIT", limit)
        scorer = Scorer(est)
        assert scorer.can_build_rows is fits
        assert (scorer.compact_rows() is not None) is fits
