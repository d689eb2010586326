"""Comparing models on one word list: paired per-item scores and a bootstrap.

Every model scores every item. An item is *shared* when every model gives it
a finite score (no OOV symbol, no probability 0); differences are taken on
shared items only, so two models are always judged on the same tokens.

The NLL of a set of items is sum(-log p) / sum(tokens), nats per token.
The difference of model k against the baseline (model 0) is
NLL_k - NLL_0 on the shared items: negative means model k is better.

The paired bootstrap resamples the shared items with replacement (the same
draw for both models, which is what makes it paired), recomputes the
difference per resample, and reports the 2.5% and 97.5% quantiles: "B is
better than A by 0.25 nats/token, 95% CI [0.24, 0.26]". It is seeded.
This module does not read files or print.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .errors import NgramkitError
from .evaluate import CHUNK_ITEMS, score_batch
from .model import LanguageModel
from .options import MAX_RESAMPLES
from .results import Metrics, finite_or_none


@dataclass(frozen=True)
class Difference:
    """Model k against the baseline on the shared items (nats/token).

    delta: NLL_k - NLL_0 (negative: k is better); low/high: the CI bounds;
    better: share of resamples where k was better (delta < 0).
    """

    delta: float
    low: float
    high: float
    better: float
    level: float
    resamples: int


@dataclass(frozen=True)
class Comparison:
    """Paired scores of M models on N items.

    logprob: float64 [M, N] totals in nats (nan where OOV);
    tokens: int64 [M, N] predicted tokens (L+1 under each model's tokenizer);
    shared: bool [N], items every model scores finitely.
    """

    names: list[str]
    items: list[str]
    logprob: torch.Tensor
    tokens: torch.Tensor
    oov: torch.Tensor
    shared: torch.Tensor

    def metrics(self, k: int, shared_only: bool = False) -> Metrics:
        """Model k's NLL over its scored items (or over the shared ones)."""
        keep = self.shared if shared_only else ~self.oov[k]
        return Metrics(int(self.tokens[k][keep].sum()), float(self.logprob[k][keep].sum()))

    def item_nll(self, k: int) -> torch.Tensor:
        """Per-item NLL of model k, nats/token [N] (nan where OOV)."""
        return -self.logprob[k] / self.tokens[k]

    def zero_probability(self, k: int) -> int:
        """Items model k gives probability 0 (log p = -inf)."""
        return int((self.logprob[k] == float("-inf")).sum())

    def disagreements(self, k: int, top: int = 10) -> list[int]:
        """Shared items where model k and the baseline differ most in NLL."""
        gap = (self.item_nll(k) - self.item_nll(0)).abs()
        gap = torch.where(self.shared, gap, -1.0)
        n = min(top, int(self.shared.sum()))
        return gap.topk(n).indices.tolist() if n else []


def score_models(models: Sequence[LanguageModel], names: list[str], items: list[str]) -> Comparison:
    """Score `items` under every model (chunked) and mark the shared ones."""
    if not items:
        raise NgramkitError("nothing to compare: the word list is empty")
    logprob, tokens, oov = [], [], []
    for model in models:
        parts = [
            score_batch(model, items[i : i + CHUNK_ITEMS])
            for i in range(0, len(items), CHUNK_ITEMS)
        ]
        logprob.append(torch.cat([p.logprob for p in parts]))
        tokens.append(torch.cat([p.lengths for p in parts]) + 1)
        oov.append(torch.cat([p.oov for p in parts]))
    lp = torch.stack(logprob)  # (M, N)
    shared = torch.isfinite(lp).all(0)  # (N,) nan (OOV) and -inf are not finite
    return Comparison(names, items, lp, torch.stack(tokens), torch.stack(oov), shared)


def paired_bootstrap(
    cmp: Comparison,
    k: int,
    *,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Difference:
    """Bootstrap CI of NLL_k - NLL_0 over the shared items (see module docstring)."""
    if not 1 <= resamples <= MAX_RESAMPLES:
        raise NgramkitError(f"resamples must be 1 to {MAX_RESAMPLES:,}, got {resamples:,}")
    keep = cmp.shared
    n = int(keep.sum())
    if n == 0:
        raise NgramkitError("no item is scored by every model: nothing to compare")
    # Per shared item: -log p and tokens under both models, as columns.
    cols = torch.stack(
        [
            -cmp.logprob[k][keep],
            cmp.tokens[k][keep].double(),
            -cmp.logprob[0][keep],
            cmp.tokens[0][keep].double(),
        ],
        1,
    )  # (n, 4)
    delta = _delta(cols.sum(0, keepdim=True))[0]
    g = torch.Generator().manual_seed(seed)
    deltas = []
    batch = min(resamples, max(1, 2**22 // n))  # resamples per batch: bounds [batch, n]
    ones = torch.ones(batch, n, dtype=torch.float64)  # allocated once, reused
    weights = torch.zeros(batch, n, dtype=torch.float64)
    for start in range(0, resamples, batch):
        b = min(batch, resamples - start)
        draw = torch.randint(n, (b, n), generator=g)  # (b, n) item indices
        w = weights[:b].zero_().scatter_add_(1, draw, ones[:b])  # (b, n): draws per item
        deltas.append(_delta(w @ cols))
    d = torch.cat(deltas)  # (resamples,)
    tail = (1 - level) / 2
    low, high = torch.quantile(d, torch.tensor([tail, 1 - tail], dtype=torch.float64)).tolist()
    return Difference(float(delta), low, high, float((d < 0).double().mean()), level, resamples)


def _delta(sums: torch.Tensor) -> torch.Tensor:
    """[B, 4] sums (-lp_k, tok_k, -lp_0, tok_0) -> [B] NLL_k - NLL_0."""
    return sums[:, 0] / sums[:, 1] - sums[:, 2] / sums[:, 3]


def verdict(names: Sequence[str], k: int, d: Difference) -> str:
    """One sentence: which model is better, by how much, with the interval."""
    pct = f"{d.level:.0%}"
    ci = f"{pct} CI [{d.low:+.4f}, {d.high:+.4f}]"
    if d.low > 0 or d.high < 0:
        better, worse = (names[k], names[0]) if d.delta < 0 else (names[0], names[k])
        return (
            f"{better} is better than {worse} by {abs(d.delta):.4f} nats/token "
            f"(NLL {names[k]} - {names[0]} = {d.delta:+.4f}, {ci})"
        )
    return (
        f"no clear difference between {names[k]} and {names[0]}: "
        f"{d.delta:+.4f} nats/token, {ci} includes 0"
    )


@dataclass(frozen=True)
class CompareResult:
    """`compare`'s result: the paired scores, then each model k >= 1 against model 0.

    differences and verdicts: one per k, empty without a bootstrap;
    disagreements: per k, the shared items where it differs most from model 0.
    """

    scores: Comparison
    models: Sequence[LanguageModel]
    source: str
    differences: list[Difference]
    verdicts: list[str]
    disagreements: list[list[int]]

    def notes(self) -> list[str]:
        """Lines for stderr: why there is no difference to show (no item every model
        scores), as eval says why every item is OOV; empty when there is one."""
        cmp = self.scores
        if len(self.models) < 2 or bool(cmp.shared.any()):
            return []
        oov = max(int(cmp.oov[k].sum()) for k in range(len(self.models)))
        why = f"{oov:,} OOV under a model" if oov else "each has probability 0 under a model"
        return [
            f"no item of {len(cmp.items):,} is scored by every model ({why}): nothing to "
            "compare; fit the models with --unk to score unseen symbols"
        ]

    def to_json(self) -> dict[str, Any]:
        cmp = self.scores
        return {
            "on": self.source,
            "items": len(cmp.items),
            "shared": int(cmp.shared.sum()),
            "models": [self._model_json(k) for k in range(len(self.models))],
            "differences": [self._difference_json(k) for k in range(1, len(self.models))],
        }

    def _model_json(self, k: int) -> dict[str, Any]:
        cmp, model = self.scores, self.models[k]
        return {
            "name": cmp.names[k],
            "backend": model.name,
            "order": model.order,
            "oov": int(cmp.oov[k].sum()),
            "zero_probability": cmp.zero_probability(k),
            **cmp.metrics(k).to_json(),
            "shared": cmp.metrics(k, shared_only=True).to_json(),
        }

    def _difference_json(self, k: int) -> dict[str, Any]:
        cmp = self.scores
        a, b = cmp.item_nll(0), cmp.item_nll(k)
        out: dict[str, Any] = {"model": cmp.names[k], "baseline": cmp.names[0]}
        if self.differences:
            d = self.differences[k - 1]
            out["delta_nll"], out["ci"], out["level"] = d.delta, [d.low, d.high], d.level
            out["resamples"], out["share_better"] = d.resamples, d.better
            out["verdict"] = self.verdicts[k - 1]
        out["disagreements"] = [
            {
                "item": cmp.items[i],
                "nll_baseline": finite_or_none(float(a[i])),
                "nll": finite_or_none(float(b[i])),
            }
            for i in self.disagreements[k - 1]
        ]
        return out


def compare(
    models: Sequence[LanguageModel],
    names: list[str],
    items: list[str],
    source: str,
    *,
    resamples: int = 1000,
    seed: int = 0,
    top: int = 10,
) -> CompareResult:
    """Score `items` under every model; bootstrap each against the first (resamples=0: none;
    none either when no item is scored by every model: `CompareResult.notes` says so)."""
    cmp = score_models(models, names, items)
    ks = range(1, len(models))
    resamples = resamples if bool(cmp.shared.any()) else 0
    diffs = [paired_bootstrap(cmp, k, resamples=resamples, seed=seed) for k in ks if resamples]
    verdicts = [verdict(names, k, d) for k, d in zip(ks, diffs)]
    disagreements = [cmp.disagreements(k, top) for k in ks]
    return CompareResult(cmp, models, source, diffs, verdicts, disagreements)
