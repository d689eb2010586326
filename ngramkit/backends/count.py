"""The count n-gram backend ("count"): the lecture's count matrix, any order.

A count model is counts, then an estimator, then a scorer:

- counts: `NgramCounts` of the training items (counts.py), or merged from
  shards counted anywhere (`fit_counts`);
- the estimator `--smooth` names (smoothing.estimate): a number is add-k
  (smoothing/addk.py, the lecture's fake counts: add-1 is its N+1), `auto`
  is add-k with k tuned on held-out training items, a name is an
  interpolated method (kn, mkn, wb, abs) kept as backoff tables
  (smoothing/backoff.py); a model read from an ARPA file (`smooth` = "arpa")
  is the same tables;
- the scorer (scorer.py): the estimate's numbers, bit for bit, from a dense
  table, compact context rows or the estimate's own lookups, whichever pays.

Only the n-grams seen are stored, as sorted base-V keys (keys.py). Batches
are keyed straight off the corpus stream (no windows).

The unknown token (`--unk`) is the vocabulary's last id, counted like any
token; how each estimator gives it probability is in smoothing/__init__.py.
The `unk` hyperparameter (configs, `CountLM(unk=True)`) is the same thing:
`fit` adds the token to a corpus vocabulary that lacks it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import smoothing
from ..errors import ModelFileError, NgramkitError
from ..model import LanguageModel, Progress
from ..results import Metrics
from ..smoothing import ADDK_AUTO, IMPORTED, OPTIONS, is_addk

if TYPE_CHECKING:
    import torch

    from ..corpus import Corpus
    from ..counts import NgramCounts
    from ..smoothing.addk import AddK
    from ..smoothing.backoff import BackoffTables
    from ..tokenizer import Vocabulary
    from .context_rows import ContextRows
    from .scorer import Scorer


class CountLM(LanguageModel):
    """Counts of n-grams, smoothed with add-k or an interpolated method."""

    name = "count"
    description = "count n-gram model: add-k, Kneser-Ney, Witten-Bell, absolute discounting"
    weighted_fit = True  # estimated from NgramCounts, which count a weighted corpus's weights
    options = (*LanguageModel.options, *OPTIONS)

    def __init__(self, **hparams: Any) -> None:
        super().__init__(**hparams)
        self.estimate_: AddK | BackoffTables | None = None  # p(w | h), by its formula
        self.learned_: dict[str, Any] = {}  # k, or method and discounts (model file)
        self.scorer_: Scorer | None = None  # the estimate's fast paths and their caches
        self.train_metrics_: Metrics | None = None  # of the counted items, from fit

    def fit(self, data: Corpus | Sequence[str], *, progress: Progress | None = None) -> CountLM:
        """As LanguageModel.fit; with the `unk` hyperparameter the vocabulary gets the
        unknown token (the symbols' ids do not move)."""
        from dataclasses import replace

        from ..corpus import Corpus

        corpus = data if isinstance(data, Corpus) else Corpus.from_items(data)
        if self.hparams["unk"] and not corpus.vocab.unk:
            corpus = Corpus(replace(corpus.vocab, unk=True), corpus.items)
        return super().fit(corpus, progress=progress)

    def _fit(self, corpus: Corpus, progress: Progress | None) -> None:
        from ..counts import NgramCounts

        counts = NgramCounts.count(corpus, self.order)
        self._adopt(*smoothing.estimate(self.hparams, counts, corpus))
        self.train_metrics_ = self._metrics_of(counts)

    def fit_counts(self, counts: NgramCounts, vocab: Vocabulary) -> CountLM:
        """Estimate from a count table alone (count -> merge -> estimate); returns self.

        `counts` may be merged from shards counted anywhere. Tuning (--tune,
        --smooth auto) needs the items for its held-out folds: use `fit` for it.
        """
        if (counts.order, counts.vocab_size) != (self.order, len(vocab)):
            raise NgramkitError(
                f"counts of order {counts.order} over {counts.vocab_size} tokens do not fit "
                f"an order-{self.order} model over {len(vocab)} tokens"
            )
        if counts.tokens == 0:
            raise NgramkitError("cannot fit on an empty count table")
        if self.hparams["unk"] and not vocab.unk:
            raise NgramkitError(
                "--unk: these counts were made without the unknown token; count with --unk"
            )
        self.vocab, self.training, self.train_metrics_ = vocab, None, None
        self._adopt(*smoothing.estimate(self.hparams, counts, None))
        return self

    def _adopt(self, estimate: AddK | BackoffTables, learned: dict[str, Any]) -> None:
        from .scorer import Scorer

        self.estimate_, self.learned_, self.scorer_ = estimate, learned, Scorer(estimate)

    def _metrics_of(self, counts: NgramCounts) -> Metrics:
        """NLL of the counted data: each distinct n-gram scored once, times its count."""
        keys, cnt = counts.top()
        lp = self._scorer().estimate.counted_logprobs(keys)  # (M,) float64
        return Metrics(int(cnt.sum()), float(lp.mul_(cnt).sum()))  # in place: no (M,) copies

    def fit_metrics(self) -> Metrics | None:
        return self.train_metrics_

    @property
    def fake_count(self) -> float:
        """The add-k fake count in use (given, or tuned by `auto`)."""
        return float(self.learned_["k"])

    # -- the contract ------------------------------------------------------

    def _scorer(self) -> Scorer:
        self.require_fitted()
        assert self.scorer_ is not None, "a fitted count model has a scorer"
        return self.scorer_

    def next_logprobs(self, contexts: torch.Tensor) -> torch.Tensor:
        from ..keys import gram_keys

        scorer = self._scorer()
        return scorer.next_logprobs(gram_keys(contexts, len(self.require_fitted())))

    def token_logprobs(self, contexts: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        from ..keys import gram_keys

        scorer = self._scorer()
        return scorer.token_logprobs(gram_keys(contexts, len(self.require_fitted())), targets)

    def logprob(self, item: str) -> float:
        """As LanguageModel.logprob: the tokens' log p summed in order from 0.0, as the
        batch path (evaluate.item_logprobs) sums them, so both give the same float."""
        total = 0.0
        for x in self.token_scores(item):
            total += x
        return total

    def token_scores(self, item: str) -> list[float]:
        """As LanguageModel.token_scores, from the scorer's rows in plain Python.

        A subclass that overrides token_logprobs is read through its override: the rows
        hold CountLM's numbers, not the subclass's."""
        if self._overridden():
            return super().token_scores(item)
        return self._scorer().item_logprobs(self._ids(item))

    def plain_token_scores(self) -> bool:
        """Whether token_scores answers from plain Python rows now, with no tensor work:
        what evaluate.score_batch asks before scoring a small batch item by item. Asking
        counts as a one-item call toward the rows (scorer.py's payback rule); False for
        a subclass that overrides token_logprobs."""
        return not self._overridden() and self._scorer().scalar_rows() is not None

    def _overridden(self) -> bool:
        """A subclass overrides token_logprobs: its numbers, not the rows', are the model's."""
        return type(self).token_logprobs is not CountLM.token_logprobs

    def compact_rows(self) -> tuple[ContextRows, torch.Tensor] | None:
        """(rows, [R, V] float64 log p) of every distinct next-token distribution and the
        map from context keys to them (context_rows.py), or None when they would not fit:
        what a sampler walks instead of asking next_logprobs each step."""
        return self._scorer().compact_rows()

    def corpus_logprobs(self, corpus: Corpus) -> torch.Tensor:
        """As the base class's, with context keys read straight off the stream (a subclass
        that overrides token_logprobs is read through its override, as token_scores is)."""
        from ..keys import stream_context_keys

        if self._overridden():
            return super().corpus_logprobs(corpus)
        scorer = self._scorer()
        ctx = stream_context_keys(corpus.stream, self.order, len(self.require_fitted()))  # (T,)
        return scorer.token_logprobs(ctx, corpus.stream[1:])

    # -- what services read: show, ARPA ----------------------------------------

    def top_counts(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(sorted keys, counts) [M] of the top-order n-grams counted, or None when the
        model keeps probabilities only (kn, mkn, wb, abs, ARPA imports)."""
        from ..smoothing.addk import AddK

        est = self.estimate_
        return (est.keys, est.counts) if isinstance(est, AddK) else None

    def backoff_tables(self) -> BackoffTables:
        """The estimate as backoff tables, as an ARPA file holds it (add-k converted)."""
        return self._scorer().estimate.as_tables()

    @classmethod
    def from_tables(
        cls, tables: BackoffTables, vocab: Any, learned: dict[str, Any] | None = None
    ) -> CountLM:
        """A fitted model holding given backoff tables (an ARPA file, say)."""
        model = cls(order=tables.order, smooth=IMPORTED)
        model.vocab = vocab
        model._adopt(tables, learned or {})
        return model

    def summary(self) -> dict[str, Any]:
        out = self._scorer().estimate.summary()
        if is_addk(self.hparams["smooth"]):
            out["table"] = "dense" if self._scorer().dense is not None else "sparse"
            if self.hparams["smooth"] == ADDK_AUTO:
                out["tuned k"] = f"{self.fake_count:.4g}"
            return out
        out = {"smoothing": self.hparams["smooth"], **out}
        if self.learned_.get("discounts"):
            out["discounts"] = "; ".join(
                ",".join(f"{d:.4f}" for d in row) for row in self.learned_["discounts"]
            )
        if self.learned_.get("dev_nll") is not None:
            out["held-out NLL (tuning)"] = f"{self.learned_['dev_nll']:.4f}"
        return out

    # -- persistence -------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        from ..container import json_safe

        est = self._scorer().estimate
        config = {**self.base_config(), "learned": json_safe(self.learned_)}
        if not is_addk(self.hparams["smooth"]):
            config["unk_logp"] = json_safe(est.unk_logp)
        return config, est.state()

    @classmethod
    def from_state(cls, config: dict[str, Any], tensors: dict[str, torch.Tensor]) -> CountLM:
        from ..keys import check_order
        from ..smoothing.addk import K_RANGE, AddK
        from ..smoothing.backoff import BackoffTables

        model = cls.from_base_config(config)
        V, N = len(model.require_fitted()), model.order
        check_order(N, V)
        learned = config.get("learned", {})
        if not isinstance(learned, dict):
            raise ModelFileError("count model: learned state is not a mapping")
        smooth = model.hparams["smooth"]
        if is_addk(smooth):
            if model.hparams["discount"] is not None or model.hparams["tune"]:
                raise ModelFileError("count model: add-k takes no discount and is not tuned")
            k = learned.get("k", smooth)
            if smooth == ADDK_AUTO and not K_RANGE[0] <= k <= K_RANGE[1]:  # where it searches
                raise ModelFileError(f"count model: tuned k {k!r} is outside {K_RANGE}")
            if smooth != ADDK_AUTO and k != smooth:  # only --smooth auto learns its k
                raise ModelFileError(
                    f"count model: fake count k {k!r} disagrees with smooth={smooth}"
                )
            if "unk_logp" in config:
                raise ModelFileError("count model: add-k holds no unknown-symbol probability")
            estimate = AddK.from_state(V, N, k, tensors, learned.get("unk_mass", 0.0))
            model._adopt(estimate, {**learned, "k": estimate.k})
        else:
            _check_learned(learned, model.hparams, N)
            # An ARPA import holds p(<unk>); so does a file of before the unknown token
            # joined the vocabulary (hparams unk on a closed vocabulary), as it was saved.
            old = bool(model.hparams.get("unk")) and not model.require_fitted().unk
            unk_logp = _unk_logp(config.get("unk_logp"), smooth == IMPORTED or old)
            model._adopt(BackoffTables.from_state(V, N, tensors, unk_logp), learned)
        return model


def _check_learned(learned: dict[str, Any], hparams: dict[str, Any], order: int) -> None:
    """ModelFileError unless a backoff model's learned facts are as fit_tables (or an
    import) records them: the method named by smooth, one row of discounts per order
    (the given ones, where discount= gave them), the tuning's held-out NLL a number;
    an import's source a string."""
    from ..smoothing import IMPORTED, METHODS
    from ..smoothing.discounts import per_order

    def number(x: Any) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)

    smooth, given = hparams["smooth"], hparams["discount"]
    rows = learned.get("discounts", [[]] * order)
    ok = (
        learned.get("method", smooth) == smooth
        and isinstance(rows, list)
        and len(rows) == order
        and all(isinstance(r, list) and all(number(d) and d >= 0 for d in r) for r in rows)
        and (learned.get("dev_nll") is None or number(learned["dev_nll"]))
        and isinstance(learned.get("source", ""), str)
    )
    if ok and given is not None and smooth != IMPORTED:
        try:
            ok = [list(r) for r in per_order(METHODS[smooth], given, order)] == rows
        except NgramkitError:
            ok = False
    if not ok:
        raise ModelFileError(f"count model: learned facts do not describe smooth={smooth}")


def _unk_logp(unk: Any, imported: bool) -> float:
    """log p(<unk>) as a file holds it (None: not reserved), checked: a number <= 0, and
    only in a model read from an ARPA file or an old `unk` file (a fitted one keeps its
    unknown token in the vocabulary, tokenizer.py)."""
    if unk is not None and not imported:
        raise ModelFileError("count model: an unknown-symbol log-probability outside an import")
    if unk is not None and (isinstance(unk, bool) or not isinstance(unk, (int, float))):
        raise ModelFileError(f"count model: unknown-symbol log-probability {unk!r} is no number")
    if unk is not None and not unk <= 0:
        raise ModelFileError(f"count model: unknown-symbol log-probability {unk!r} is above 0")
    return -math.inf if unk is None else float(unk)
