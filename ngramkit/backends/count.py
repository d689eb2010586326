"""The count n-gram backend ("count"): the lecture's count matrix, any order.

`--smooth` picks the estimator (see ngramkit/smoothing): a number is add-k,
a name is an interpolated method (kn, mkn, wb, abs) kept in backoff tables,
`auto` is add-k with k tuned on held-out training items. Add-k ("fake counts", the
lecture's N+1 at k=1):

    p(w | ctx) = (c(ctx, w) + k) / (c(ctx) + k * V)

A context never seen in training has c(ctx) = 0 and gets the uniform
distribution 1/V (the add-k formula's limit, and a defined answer at k = 0,
where MLE leaves it 0/0). At k = 0 a seen context gives probability 0 (log
-inf) to a next token it was never followed by.

Only the n-grams seen are stored (sorted base-V keys and counts, see
counts.py); small tables (V^order <= DENSE_LIMIT) also keep a dense
[V^(order-1), V] log-probability matrix for speed.

The interpolated methods keep, per order, the n-grams seen with their log p
and the contexts seen with their log backoff weight (smoothing/backoff.py);
a model read from an ARPA file (`smooth` = "arpa") is the same tables.

Scoring large batches: when V^(order-1) is small enough for a dense int32
index (27^4 for names at order 5), the first large batch builds compact rows
(context_rows.py): one log-p row per distinct next-token distribution, so a
token costs two gathers instead of a binary search per order. Otherwise
tokens are looked up by their base-V n-gram keys. Both give the same numbers,
bit for bit; batches are keyed straight off the corpus stream (no windows).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..counts import NgramCounts, check_order, key_digits
from ..errors import ModelFileError, NgramkitError, OptionError
from ..model import LanguageModel, Progress
from ..options import Option
from ..smoothing import ADDK_AUTO, IMPORTED, SMOOTH_NAMES, parse_discounts, parse_smooth

if TYPE_CHECKING:
    from collections.abc import Callable

    import torch

    from ..corpus import Corpus
    from ..evaluate import Metrics
    from ..smoothing.backoff import BackoffTables
    from ..tokenizer import Vocabulary
    from .context_rows import ContextRows

DENSE_LIMIT = 2**22  # cells of the dense table: 4M float64 = 32 MiB at most
TABLES_DENSE_LIMIT = 2**16  # the same for backoff tables, whose cells cost a lookup each
ROWS_INDEX_LIMIT = 2**22  # contexts V^(N-1) given a dense row index: int32, 16 MiB at most
ROWS_CELL_LIMIT = 2**23  # cells of the compact rows (context_rows.py): 64 MiB at most
ROWS_MIN_BATCH = 4096  # tokens in one call before the compact rows are worth building
ROWS_PAYBACK = 0.25  # ... and tokens scored so far, per cell of rows (a cell costs ~ a token)
DEDUP_BLOCK = 2**20  # tokens deduplicated at once before backoff-table lookups


class CountLM(LanguageModel):
    """Counts of n-grams, smoothed with add-k or an interpolated method."""

    name = "count"
    description = "count n-gram model: add-k, Kneser-Ney, Witten-Bell, absolute discounting"
    options = (
        *LanguageModel.options,
        Option(
            "smooth",
            str,
            1.0,
            "add-k fake counts (a number >= 0) or a method: kn, mkn, wb, abs, "
            "auto (add-k with k tuned on held-out training items)",
            parse=parse_smooth,
            metavar="K|" + "|".join(SMOOTH_NAMES),
        ),
        Option(
            "discount",
            str,
            None,
            "discounts of kn/abs (D, or one per order) or mkn (D1,D2,D3+, or three per "
            "order); estimated from count-of-counts when not given",
            parse=parse_discounts,
            metavar="D[,D...]",
        ),
        Option(
            "tune",
            bool,
            False,
            "tune the discounts on held-out training items (see --folds)",
        ),
        Option(
            "folds",
            int,
            5,
            "tuning (--tune, --smooth auto) cross-validates over this many folds of the "
            "training items; 1 tunes on one dev split of --dev-fraction instead",
            min=1,
            max=100,
        ),
        Option(
            "dev_fraction",
            float,
            0.1,
            "with --folds 1: share of training items held out to tune on",
            min=0,
            max=0.9,
            min_exclusive=True,
        ),
        Option("unk", bool, False, "reserve probability for an unknown symbol, as KenLM does"),
    )

    def __init__(self, **hparams: Any) -> None:
        super().__init__(**hparams)
        self.tables_: BackoffTables | None = None
        self.learned_: dict[str, Any] = {}
        self.dense_: torch.Tensor | None = None
        self._dense_done = False  # dense rows of backoff tables built (or not needed)
        self.rows_: ContextRows | None = None  # compact rows, once built (context_rows.py)
        self._forget_rows()

    def _fit(self, corpus: Corpus, progress: Progress | None) -> None:
        if self.hparams["smooth"] == IMPORTED:
            raise OptionError("--smooth arpa is for models read from ARPA files (ngramkit import)")
        counts = NgramCounts.count(corpus, self.order)
        self._estimate(counts, corpus)
        self._train_metrics = self._metrics_of(counts)

    def _metrics_of(self, counts: NgramCounts) -> Metrics:
        """NLL of the counted data: each distinct n-gram scored once, times its count."""
        import torch

        from ..evaluate import Metrics

        V = len(self.require_fitted())
        keys, cnt = counts.top()
        tables = self.tables_
        if tables is not None:  # the keys are distinct already: no dedup pass
            lp = tables.distinct_logprobs(keys)  # (M,) float64
        else:
            lp = self._logprobs(keys // V, keys % V)  # (M,) float64
        return Metrics(int(cnt.sum()), float((lp * cnt.to(torch.float64)).sum()))

    def fit_metrics(self) -> Metrics | None:
        return getattr(self, "_train_metrics", None)

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
        if counts.total == 0:
            raise NgramkitError("cannot fit on an empty count table")
        self.vocab, self.training = vocab, None
        self._train_metrics = None
        self._estimate(counts, None)
        return self

    def _estimate(self, counts: NgramCounts, corpus: Corpus | None) -> None:
        from .. import smoothing

        smooth = self.hparams["smooth"]
        self.tables_ = None
        self.learned_ = {}
        if smooth == IMPORTED:
            raise OptionError("--smooth arpa is for models read from ARPA files (ngramkit import)")
        tuning = self.hparams["tune"] or smooth == ADDK_AUTO
        if tuning and corpus is None:
            raise NgramkitError(
                "tuning (--tune, --smooth auto) needs the items, not only their counts: "
                "fit on the items in one process (no --workers, --shards, --dask or "
                "--from-counts; fit(), not fit_counts(), in Python)"
            )
        if isinstance(smooth, float) or smooth == ADDK_AUTO:
            if self.hparams["discount"] is not None or self.hparams["tune"]:
                raise OptionError(
                    "--discount and --tune apply to kn, mkn, abs (add-k: --smooth auto)"
                )
            k = smooth if isinstance(smooth, float) else self._tune_k(corpus, counts)
            self.learned_ = {"k": k}
            keys, cnt = counts.top()
            self._set_table(keys, cnt)
            return
        from ..smoothing.fit import fit_tables

        self.tables_, self.learned_ = fit_tables(
            smoothing.method(smooth),
            corpus,
            counts,
            discount=self.hparams["discount"],
            tune=self.hparams["tune"],
            folds=self.hparams["folds"],
            dev_fraction=self.hparams["dev_fraction"],
            unk=self.hparams["unk"],
        )
        self.dense_ = None
        self._dense_done = False
        self._forget_rows()

    def _tune_k(self, corpus: Corpus | None, counts: NgramCounts) -> float:
        from ..smoothing.fit import tune_k

        assert corpus is not None
        return tune_k(corpus, counts, self.hparams["folds"], self.hparams["dev_fraction"])

    @property
    def k(self) -> float:
        """The add-k fake count in use (given, or tuned by `auto`)."""
        return float(self.learned_["k"])

    # -- derived tables ----------------------------------------------------

    def _set_table(self, keys: torch.Tensor, counts: torch.Tensor) -> None:
        """Keep the top-order counts and derive context totals (and dense rows)."""
        import torch

        V = len(self.require_fitted())
        self.keys_ = keys  # (M,) sorted n-gram keys
        self.counts_ = counts  # (M,) their counts
        ctx = keys // V
        self.ctx_keys_, inverse = torch.unique_consecutive(ctx, return_inverse=True)
        self.ctx_totals_ = torch.zeros_like(self.ctx_keys_).index_add_(0, inverse, counts)
        self.dense_ = None
        self._forget_rows()
        if V**self.order <= DENSE_LIMIT:
            self.dense_ = self._dense_table()

    def _dense_table(self) -> torch.Tensor:
        """log p as a [V^(order-1), V] float64 matrix (the lecture's P, logged)."""
        import torch

        V = len(self.require_fitted())
        k = self.k
        N = torch.zeros(V**self.order, dtype=torch.float64)
        N[self.keys_] = self.counts_.double()
        N = N.view(-1, V) + k  # (contexts, V), counts plus fake counts
        totals = N.sum(1, keepdim=True)
        P = torch.where(totals > 0, N / totals.clamp(min=1e-300), 1.0 / V)
        return P.log()

    def _context_keys(self, contexts: torch.Tensor) -> torch.Tensor:
        import torch

        from ..counts import gram_keys

        if contexts.shape[1] == 0:
            return torch.zeros(len(contexts), dtype=torch.long)
        return gram_keys(contexts, len(self.require_fitted()))

    # -- the contract ------------------------------------------------------

    def next_logprobs(self, contexts: torch.Tensor) -> torch.Tensor:
        import torch

        V = len(self.require_fitted())
        ctx = self._context_keys(contexts)  # (B,)
        if self.tables_ is not None:
            return self._table_rows(contexts)
        if self.dense_ is not None:
            return self.dense_[ctx]
        k = self.k
        total = self._lookup(self.ctx_keys_, self.ctx_totals_, ctx).double()  # (B,)
        rows = (k / (total + k * V)).unsqueeze(1).expand(-1, V).clone()  # (B, V)
        # Scatter the seen continuations of each context into its row.
        lo = torch.searchsorted(self.keys_, ctx * V)
        hi = torch.searchsorted(self.keys_, ctx * V + V)
        lens = hi - lo
        row = torch.repeat_interleave(torch.arange(len(ctx)), lens)
        first = torch.cumsum(lens, 0) - lens
        idx = lo[row] + torch.arange(int(lens.sum())) - first[row]
        rows[row, self.keys_[idx] % V] = (self.counts_[idx].double() + k) / (total[row] + k * V)
        rows[total == 0] = 1.0 / V
        return rows.log()

    def token_logprobs(self, contexts: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self._logprobs(self._context_keys(contexts), targets)

    def corpus_logprobs(self, corpus: Corpus) -> torch.Tensor:
        """As the base class's, with context keys read straight off the stream."""
        from ..corpus import stream_context_keys

        V = len(self.require_fitted())
        ctx = stream_context_keys(corpus.stream, self.order, V)  # (T,)
        return self._logprobs(ctx, corpus.stream[1:])

    def _logprobs(self, ctx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """log p(target | context) of context keys [T] and targets [T] -> [T] float64."""
        import torch

        V = len(self.require_fitted())
        by_key = self._key_table(len(targets))
        if by_key is not None:
            return by_key(ctx, targets)
        grams = ctx * V + targets  # (T,) n-gram keys
        if self.tables_ is not None:
            # Deduplicated a block at a time (text is Zipfian: a large block repeats
            # most of its n-grams); each block's distinct keys are looked up in slices.
            blocks = grams.split(DEDUP_BLOCK)
            return torch.cat([self.tables_.key_logprobs(g) for g in blocks])
        k = self.k
        c = self._lookup(self.keys_, self.counts_, grams).double()
        total = self._lookup(self.ctx_keys_, self.ctx_totals_, ctx).double()
        p = torch.where(total > 0, (c + k) / (total + k * V).clamp(min=1e-300), 1.0 / V)
        return p.log()

    def _key_table(self, batch: int) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None:
        """A scorer of (context keys [T], targets [T]) from a dense table or the
        compact rows (built once the batch is large enough), or None."""
        dense = self._tables_dense() if self.tables_ is not None else self.dense_
        if dense is not None:
            return lambda ctx, targets: dense[ctx, targets]
        rows = self._context_rows(build=self._rows_pay(batch))
        return rows.token_logprobs if rows is not None else None

    def _rows_pay(self, batch: int) -> bool:
        """Whether building the rows now pays: a large batch, and enough tokens
        scored so far (this one included) against the rows' cells."""
        if self._rows_done or batch < ROWS_MIN_BATCH:
            return False
        self._scored += batch
        V = len(self.require_fitted())
        ctx = sum(map(len, self.tables_.ctx_keys)) if self.tables_ else len(self.ctx_keys_)
        return self._scored >= ROWS_PAYBACK * (ctx + 1) * V

    @staticmethod
    def _lookup(keys: torch.Tensor, values: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """values[keys == query], 0 where a query key is absent."""
        import torch

        if len(keys) == 0:
            return torch.zeros_like(query)
        pos = torch.searchsorted(keys, query).clamp_(max=len(keys) - 1)
        return torch.where(keys[pos] == query, values[pos], 0)

    # -- compact rows (context_rows.py) --------------------------------------

    def _forget_rows(self) -> None:
        self.rows_ = None
        self._rows_done = False
        self._scored = 0  # tokens scored in large batches before the rows were built

    def _context_rows(self, build: bool = True) -> ContextRows | None:
        """The compact rows, built on first need when they fit the limits; else None."""
        if self._rows_done or not build:
            return self.rows_
        from .context_rows import addk_rows, backoff_rows

        V, N = len(self.require_fitted()), self.order
        self._rows_done = True
        if V ** (N - 1) > ROWS_INDEX_LIMIT:
            return None
        tables = self.tables_
        if tables is None:
            if (len(self.ctx_keys_) + 1) * V <= ROWS_CELL_LIMIT:
                self.rows_ = addk_rows(
                    V, N, self.keys_, self.counts_, self.ctx_keys_, self.ctx_totals_, self.k
                )
        elif (1 + sum(map(len, tables.ctx_keys)) + sum(map(len, tables.keys[1:]))) * V <= (
            ROWS_CELL_LIMIT
        ):  # a bound on the active contexts, counted before building
            self.rows_ = backoff_rows(tables)
        return self.rows_

    # -- backoff tables (interpolated methods, ARPA imports) ------------------

    def _tables_dense(self) -> torch.Tensor | None:
        """All rows of a small backoff model as one [V^(order-1), V] table, built once."""
        import torch

        if getattr(self, "_dense_done", False):
            return self.dense_
        V, N = len(self.require_fitted()), self.order
        self.dense_ = None
        if V**N <= TABLES_DENSE_LIMIT and self.tables_ is not None:
            ctx = torch.arange(V ** (N - 1))  # every context, as a key
            rows = key_digits(ctx, V, N - 1).repeat_interleave(V, 0)  # (V^N, N-1)
            targets = torch.arange(V).repeat(len(ctx))
            lp = self.tables_.token_logprobs(rows, targets)
            self.dense_ = lp.view(-1, V)
        self._dense_done = True
        return self.dense_

    def _table_rows(self, contexts: torch.Tensor) -> torch.Tensor:
        """next_logprobs from backoff tables: every (context, token) pair scored."""
        import torch

        V = len(self.require_fitted())
        dense = self._tables_dense()
        if dense is not None:
            return dense[self._context_keys(contexts)]
        assert self.tables_ is not None
        B = len(contexts)
        rows = contexts.repeat_interleave(V, 0)  # (B*V, N-1)
        targets = torch.arange(V).repeat(B)
        return self.tables_.token_logprobs(rows, targets).view(B, V)

    @classmethod
    def from_tables(
        cls, tables: BackoffTables, vocab: Any, learned: dict[str, Any] | None = None
    ) -> CountLM:
        """A fitted model holding given backoff tables (an ARPA file, say)."""
        model = cls(order=tables.order, smooth=IMPORTED)
        model.vocab = vocab
        model._adopt(tables, learned or {})
        return model

    def _adopt(self, tables: BackoffTables, learned: dict[str, Any]) -> None:
        self.tables_ = tables
        self.learned_ = learned
        self.dense_ = None
        self._dense_done = False
        self._forget_rows()

    def summary(self) -> dict[str, Any]:
        V = len(self.require_fitted())
        if self.tables_ is not None:
            out = {"smoothing": self.hparams["smooth"], **self.tables_.summary()}
            if self.learned_.get("discounts"):
                out["discounts"] = "; ".join(
                    ",".join(f"{d:.4f}" for d in row) for row in self.learned_["discounts"]
                )
            if self.learned_.get("dev_nll") is not None:
                out["held-out NLL (tuning)"] = f"{self.learned_['dev_nll']:.4f}"
            return out
        out = {
            "distinct n-grams": len(self.keys_),
            "contexts seen": len(self.ctx_keys_),
            "possible contexts": V ** (self.order - 1),
            "table": "dense" if self.dense_ is not None else "sparse",
        }
        if self.hparams["smooth"] == ADDK_AUTO:
            out["tuned k"] = f"{self.k:.4g}"
        return out

    # -- persistence -------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        config = {**self.base_config(), "learned": _json_safe(self.learned_)}
        if self.tables_ is not None:
            unk = self.tables_.unk_logp
            config["unk_logp"] = unk if math.isfinite(unk) else None
            return config, self.tables_.state()
        return config, {"keys": self.keys_, "counts": self.counts_}

    @classmethod
    def from_state(cls, config: dict[str, Any], tensors: dict[str, torch.Tensor]) -> CountLM:
        import torch

        from ..smoothing.backoff import BackoffTables

        model = cls.from_base_config(config)
        V = len(model.require_fitted())
        check_order(model.order, V)
        learned = config.get("learned") or {}
        if not isinstance(learned, dict):
            raise ModelFileError("count model: learned state is not a mapping")
        smooth = model.hparams["smooth"]
        if isinstance(smooth, str) and smooth != ADDK_AUTO:
            unk = config.get("unk_logp")
            tables = BackoffTables.from_state(
                V, model.order, tensors, -math.inf if unk is None else float(unk)
            )
            model._adopt(tables, learned)
            return model
        model.tables_ = None
        k = learned.get("k", smooth)
        if not isinstance(k, (int, float)) or isinstance(k, bool) or not k >= 0:
            raise ModelFileError("count model: add-k fake count is missing or invalid")
        model.learned_ = {**learned, "k": float(k)}
        try:
            keys, counts = tensors["keys"], tensors["counts"]
        except KeyError:
            raise ModelFileError("count model lacks its keys or counts tensor") from None
        ok = (
            keys.dtype == torch.long
            and counts.dtype == torch.long
            and keys.dim() == 1
            and keys.shape == counts.shape
            and (len(keys) == 0 or (int(keys[0]) >= 0 and int(keys[-1]) < V**model.order))
            and bool((keys[1:] > keys[:-1]).all())
            and bool((counts > 0).all())
            # totals are summed in float64 when scoring: exact only up to 2^53
            and float(counts.double().sum()) <= 2**53
        )
        if not ok:
            raise ModelFileError("count model tensors are inconsistent (keys, counts)")
        model._set_table(keys, counts)
        return model


def _json_safe(x: Any) -> Any:
    """Learned state for the JSON header: tuples to lists, non-finite floats to None."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    return x
