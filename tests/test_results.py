"""results.py: the one aggregate, the perplexity overflow rule, and the JSON of each result."""

from __future__ import annotations

import math
from collections import Counter

import torch

from ngramkit.results import (
    MAX_NLL,
    Batch,
    Breakdown,
    ItemScore,
    Metrics,
    TokenScore,
    perplexity,
)


def test_perplexity_rule_is_the_same_for_one_value_and_for_a_batch() -> None:
    nll = [0.0, 2.5, MAX_NLL - 1e-9, MAX_NLL, 705.0, math.inf, math.nan]
    # logprob = -nll over 1 token (lengths 0); the last row is OOV (nan).
    batch = Batch(
        ["x"] * len(nll),
        torch.tensor([-x for x in nll], dtype=torch.float64),
        torch.zeros(len(nll), dtype=torch.long),
        torch.tensor([False] * (len(nll) - 1) + [True]),
    )
    assert batch.perplexity().tolist() == [perplexity(x) for x in nll]
    assert perplexity(2.5) == math.exp(2.5)
    assert perplexity(MAX_NLL) == perplexity(math.nan) == math.inf


def test_metrics_add_up_chunk_by_chunk() -> None:
    a = Metrics(10, -20.0, oov=1, items=4, in_train=2, source="a.txt", unknown=Counter("xy"))
    b = Metrics(6, -9.0, items=2, blank=3, duplicates=1, unknown=Counter("y"))
    total = a + b
    assert (total.tokens, total.logprob, total.oov, total.items, total.scored) == (
        16,
        -29.0,
        1,
        6,
        5,
    )
    assert (total.source, total.blank, total.duplicates, total.in_train) == ("a.txt", 3, 1, 2)
    assert total.unknown == Counter({"y": 2, "x": 1})
    assert total.nll == 29 / 16 and total.bits == total.nll / math.log(2)


def test_metrics_json_for_fit_and_for_eval() -> None:
    m = Metrics(4, -8.0, oov=1, items=3, in_train=1, blank=2, unknown=Counter({"é": 1}))
    assert m.to_json() == {
        "nll": 2.0,
        "perplexity": math.exp(2.0),
        "bits": 2 / math.log(2),
        "tokens": 4,
    }
    assert list(m.totals_json()) == [
        "items", "scored", "oov", "tokens", "nll", "perplexity", "bits",
        "in_train", "duplicates", "blank_lines", "unknown_symbols", "normalized", "oov_by_rule",
    ]  # fmt: skip
    assert m.totals_json()["unknown_symbols"] == {"é": 1}
    assert Metrics(0, 0.0).to_json()["reason"] == "no tokens were scored"
    zero = Metrics(3, -math.inf).totals_json()
    assert zero["nll"] is None and zero["reason"].startswith("a token has probability 0")


def test_item_score_json_null_with_a_reason() -> None:
    oov = ItemScore("aé", 3, math.nan, True, ("é",), False, 0, "l.txt", 7).to_json()
    assert oov["logprob"] is oov["nll"] is None and oov["unknown"] == ["é"]
    assert (oov["source"], oov["line"]) == ("l.txt", 7)
    zero = ItemScore("aa", 3, -math.inf).to_json()
    assert zero["nll"] is None and zero["reason"] == "a token has probability 0 under this model"
    assert "source" not in zero and "line" not in zero


def test_breakdown_json_scored_and_oov() -> None:
    tokens = (TokenScore(".", "a", math.log(0.5)), TokenScore("a", ".", -math.inf))
    out = Breakdown("a", tokens).to_json()
    assert out["tokens"][0] == {
        "context": ".",
        "token": "a",
        "prob": 0.5,
        "logprob": math.log(0.5),
        "surprisal_bits": 1.0,
    }
    assert out["tokens"][1]["logprob"] is None and out["tokens"][1]["prob"] == 0.0
    assert out["logprob"] is None and out["reason"].startswith("a token has probability 0")
    oov = Breakdown("é", (), ("é",)).to_json()
    assert oov == {
        "item": "é",
        "oov": True,
        "unknown": ["é"],
        "tokens": [],
        "logprob": None,
        "reason": "symbols outside the model's vocabulary: é",
    }


def test_a_scored_batch_is_the_one_init_makes() -> None:
    """Batch.scored (score_batch's few-item path) sets every field as __init__ does: a
    field added to Batch and not to scored fails here."""
    args = (
        ["emma", "zz"],
        torch.tensor([-3.5, math.nan], dtype=torch.float64),
        torch.tensor([4, 2]),
        torch.tensor([False, True]),
        {1: ("z",)},
        [True, False],
    )
    unk, remedies = torch.tensor([0, 0]), {1: ("case",)}
    want = Batch(*args, unk_tokens=unk, normalized=1, remedies=remedies)
    got = Batch.scored(*args, unk_tokens=unk, normalized=1, remedies=remedies)
    assert type(got) is Batch and vars(got).keys() == vars(want).keys()
    for name, value in vars(want).items():
        if isinstance(value, torch.Tensor):
            torch.testing.assert_close(getattr(got, name), value, rtol=0, atol=0, equal_nan=True)
        else:
            assert getattr(got, name) == value, name
    assert got.metrics() == want.metrics()
