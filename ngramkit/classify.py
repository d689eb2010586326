"""Classification among models: each item goes to the model with the highest posterior.

With models m = 1..M (one per label) and priors pi_m, the posterior of m for
an item x is Bayes' rule over the models that can score x:

    post_m(x) = p_m(x) pi_m / sum_k p_k(x) pi_k      (k over the models scoring x)

computed in the log domain (a softmax of log p + log prior, float64). A
closed-vocabulary model that cannot spell x (an OOV item for it, nan from
`evaluate.score_batch`) is *out* for x: its posterior is undefined (nan,
JSON null) and the others are renormalized among themselves; the item
lists which models are out. An open-vocabulary model scores every item.
When no model scores x (all out, or p = 0 under each), x gets no label.
The margin is the log posterior odds of the winner over the runner-up,
in nats: log p_1 + log pi_1 - log p_2 - log pi_2 (inf when the runner-up
gives p = 0; nan when fewer than two models score x). Exact ties go to the
first model in the order given (margin 0 shows the tie).

`Confusion` scores predictions against gold labels: accuracy, per-class
precision/recall/F1 and the confusion matrix (rows gold, columns predicted,
plus a last column "none" for items no model could label).

This module reads no files and formats nothing (cli/classify.py, report/decide.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from .errors import DataError, OptionError
from .evaluate import score_batch
from .registry import check_logprobs
from .results import finite_or_none

if TYPE_CHECKING:
    from .model import LanguageModel

NONE = "none"  # the column of the confusion matrix for items no model labels


@dataclass(frozen=True)
class Candidate:
    """One model competing for items: its label, the model, where it came from."""

    label: str
    model: LanguageModel
    path: str = ""


def check_candidates(candidates: Sequence[Candidate]) -> None:
    """OptionError for fewer than two models, a label or file given twice, mixed tokenizers."""
    if len(candidates) < 2:
        raise OptionError(f"classify needs at least two models, got {len(candidates)}")
    for what, keys in (
        ("label", [c.label for c in candidates]),
        ("model file", [c.path for c in candidates if c.path]),
    ):
        twice = next((k for i, k in enumerate(keys) if k in keys[:i]), None)
        if twice is not None:
            raise OptionError(f"{what} {twice!r} is given twice (each model once)")
    kinds = {c.label: c.model.require_fitted().kind for c in candidates}
    if len(set(kinds.values())) > 1:
        listed = ", ".join(f"{label}: {kind}" for label, kind in kinds.items())
        raise OptionError(f"models of different tokenizers cannot be compared ({listed})")


def resolve_priors(labels: Sequence[str], given: Mapping[str, float]) -> list[float]:
    """A prior per label: those given, the rest sharing what is left equally.

    resolve_priors(["en", "de", "fr"], {"en": 0.5}) == [0.5, 0.25, 0.25];
    no priors given: equal priors 1/M.
    """
    for label, p in given.items():
        if label not in labels:
            raise OptionError(f"--prior {label}: no model has that label ({', '.join(labels)})")
        if not 0 < p < 1 and not (p == 1 and len(labels) == 1):
            raise OptionError(f"--prior {label}={p}: a prior must lie in (0, 1)")
    rest = [label for label in labels if label not in given]
    left = 1.0 - sum(given.values())
    if (rest and left <= 1e-12) or (not rest and abs(left) > 1e-9):
        raise OptionError(
            f"the priors given sum to {sum(given.values()):.6g}; they must sum to 1 "
            "(models without --prior share what is left)"
        )
    return [given[label] if label in given else left / len(rest) for label in labels]


@dataclass(frozen=True)
class Classification:
    """Every item's posterior under M models, column-wise.

    logprob: float64 [N, M], log p_m(item) in nats, nan where model m is out (OOV).
    log_prior: float64 [M].
    """

    labels: tuple[str, ...]
    items: list[str]
    logprob: torch.Tensor
    log_prior: torch.Tensor

    @property
    def out(self) -> torch.Tensor:
        """bool [N, M]: model m cannot score item n (symbols outside its vocabulary)."""
        return self.logprob.isnan()

    def joint(self) -> torch.Tensor:
        """log p + log prior [N, M]; -inf where the model is out."""
        return (self.logprob + self.log_prior).masked_fill(self.out, -math.inf)

    def posterior(self) -> torch.Tensor:
        """float64 [N, M]: each row sums to 1 over the models scoring it; nan where out.

        A row no model scores (all out, or p = 0 under each) is all nan.
        """
        j = self.joint()
        lse = torch.logsumexp(j, dim=1, keepdim=True)  # (N, 1), -inf when nothing scores
        post = (j - lse).exp()
        return post.masked_fill(self.out | lse.isinf(), math.nan)

    def predicted(self) -> torch.Tensor:
        """int64 [N]: the winning model's index, -1 where no model scores the item."""
        j = self.joint()
        best = j.argmax(dim=1)  # first of exact ties
        return best.masked_fill(j.amax(dim=1).isinf(), -1)  # -inf only: nothing scores it

    def margin(self) -> torch.Tensor:
        """float64 [N]: log posterior odds of winner over runner-up (nats); nan if < 2 score."""
        top = self.joint().topk(2, dim=1).values  # (N, 2)
        m = top[:, 0] - top[:, 1]
        scored = (~self.out).sum(dim=1)
        return m.masked_fill((scored < 2) | top[:, 0].isinf(), math.nan)

    def summary_json(self) -> dict[str, Any]:
        """classify's "summary": items, labeled, none, per_label winners, out per model."""
        pred, out = self.predicted(), self.out
        return {
            "items": len(self.items),
            "labeled": int((pred >= 0).sum()),
            "none": int((pred < 0).sum()),
            "per_label": {label: int((pred == i).sum()) for i, label in enumerate(self.labels)},
            "out": {label: int(out[:, i].sum()) for i, label in enumerate(self.labels)},
        }

    def label_of(self, index: int) -> str | None:
        return None if index < 0 else self.labels[index]

    def rows_json(self, gold: Sequence[str | None] | None = None) -> list[dict[str, Any]]:
        """One object per item: item, label, margin, posterior, logprob, out (and gold)."""
        post, lp = self.posterior().tolist(), self.logprob.tolist()
        pred, margin, out = self.predicted().tolist(), self.margin().tolist(), self.out.tolist()
        rows = []
        for n, item in enumerate(self.items):
            row: dict[str, Any] = {
                "item": item,
                "label": self.label_of(pred[n]),
                "margin": _finite_or_none(margin[n]),
                "posterior": dict(zip(self.labels, map(_finite_or_none, post[n]))),
                "logprob": dict(zip(self.labels, map(_finite_or_none, lp[n]))),
                "out": [label for label, o in zip(self.labels, out[n]) if o],
            }
            if pred[n] < 0:
                row["reason"] = _no_label_reason(out[n])
            if gold is not None:
                row["gold"] = gold[n]
            rows.append(row)
        return rows


def _finite_or_none(x: float) -> float | None:
    return None if math.isnan(x) else finite_or_none(x)


def _no_label_reason(out: Sequence[bool]) -> str:
    if all(out):
        return "OOV for every model: symbols outside each vocabulary"
    return "probability 0 under every model that scores it"


def classify(
    candidates: Sequence[Candidate], items: Sequence[str], priors: Sequence[float] | None = None
) -> Classification:
    """Score `items` under every candidate (score_batch) and stack them [N, M]."""
    check_candidates(candidates)
    m = len(candidates)
    priors = list(priors) if priors is not None else [1.0 / m] * m
    columns = []
    for c in candidates:
        batch = score_batch(c.model, items)
        check_logprobs(type(c.model), [(f"the items (model {c.label})", batch.metrics())])
        columns.append(batch.logprob)  # (N,) float64, nan where OOV
    logprob = torch.stack(columns, dim=1)  # (N, M)
    log_prior = torch.tensor(priors, dtype=torch.float64).log()
    return Classification(tuple(c.label for c in candidates), list(items), logprob, log_prior)


@dataclass(frozen=True)
class Confusion:
    """Predictions against gold labels. matrix: int64 [M, M+1], rows gold, last column none."""

    labels: tuple[str, ...]
    matrix: torch.Tensor

    @classmethod
    def of(cls, result: Classification, gold: Sequence[str | None]) -> Confusion:
        """Count (gold, predicted) pairs over the items that have a gold label."""
        index = {label: i for i, label in enumerate(result.labels)}
        m = len(result.labels)
        matrix = torch.zeros(m, m + 1, dtype=torch.int64)
        for g, p in zip(gold, result.predicted().tolist()):
            if g is not None:
                matrix[index[g], p if p >= 0 else m] += 1
        return cls(result.labels, matrix)

    @property
    def total(self) -> int:
        return int(self.matrix.sum())

    @property
    def accuracy(self) -> float:
        """Correct / labeled items (an item no model labels counts as wrong); nan if none."""
        correct = int(self.matrix[:, : len(self.labels)].diagonal().sum())
        return correct / self.total if self.total else math.nan

    def per_class(self) -> dict[str, dict[str, float]]:
        """label -> precision, recall, f1 (nan where undefined: nothing predicted/gold), support."""
        m = len(self.labels)
        tp = self.matrix[:, :m].diagonal().double()
        predicted = self.matrix[:, :m].sum(dim=0).double()
        support = self.matrix.sum(dim=1).double()
        out = {}
        for i, label in enumerate(self.labels):
            p = float(tp[i] / predicted[i]) if predicted[i] else math.nan
            r = float(tp[i] / support[i]) if support[i] else math.nan
            f1 = _f1(p, r)
            out[label] = {"precision": p, "recall": r, "f1": f1, "support": int(support[i])}
        return out

    def macro_f1(self) -> float:
        """Mean F1 over classes with gold items (nan F1 counts as 0)."""
        f1s = [
            0.0 if math.isnan(c["f1"]) else c["f1"]
            for c in self.per_class().values()
            if c["support"]
        ]
        return sum(f1s) / len(f1s) if f1s else math.nan

    def to_json(self) -> dict[str, Any]:
        classes = {
            label: {k: _finite_or_none(v) if isinstance(v, float) else v for k, v in c.items()}
            for label, c in self.per_class().items()
        }
        return {
            "items": self.total,
            "accuracy": _finite_or_none(self.accuracy),
            "macro_f1": _finite_or_none(self.macro_f1()),
            "classes": classes,
            "confusion": {
                "gold": list(self.labels),
                "predicted": [*self.labels, NONE],
                "matrix": self.matrix.tolist(),
            },
        }


def _f1(p: float, r: float) -> float:
    """Harmonic mean of precision and recall; 0 when both are 0, nan when one is undefined."""
    if math.isnan(p) or math.isnan(r):
        return math.nan
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def check_gold(labels: Sequence[str], gold: Sequence[str | None], where: Sequence[str]) -> None:
    """DataError for a gold label no model has, naming where it was read (file:line)."""
    known = set(labels)
    for g, w in zip(gold, where):
        if g is not None and g not in known:
            raise DataError(f"{w}: label {g!r} has no model (models: {', '.join(labels)})")


def split_labels(
    source: str, items: Sequence[str], lines: Sequence[int], column: int
) -> tuple[list[str], list[str]]:
    """(items, gold labels) of a tab-separated list: the item in column 1, the label in `column`.

    split_labels("t", ["emma\\ten"], [1], 2) == (["emma"], ["en"]); DataError
    naming file and line when a line has no such column or an empty label.
    """
    out, gold = [], []
    for item, line in zip(items, lines):
        cells = item.split("\t")
        if len(cells) < column or not cells[column - 1].strip():
            have = f"{len(cells)} column(s)" if len(cells) < column else "an empty one"
            raise DataError(f"{source}:{line}: no label in column {column} (the line has {have})")
        out.append(cells[0].strip())
        gold.append(cells[column - 1].strip())
    return out, gold
