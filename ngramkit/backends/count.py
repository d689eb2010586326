"""The count n-gram backend ("count"): the lecture's count matrix, any order.

Estimation is add-k ("fake counts", the lecture's N+1 at k=1):

    p(w | ctx) = (c(ctx, w) + k) / (c(ctx) + k * V)

A context never seen in training has c(ctx) = 0 and gets the uniform
distribution 1/V (the add-k formula's limit, and a defined answer at k = 0,
where MLE leaves it 0/0). At k = 0 a seen context gives probability 0 (log
-inf) to a next token it was never followed by.

Only the n-grams seen are stored (sorted base-V keys and counts, see
counts.py); small tables (V^order <= DENSE_LIMIT) also keep a dense
[V^(order-1), V] log-probability matrix for speed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..counts import NgramCounts, check_order
from ..errors import ModelFileError
from ..model import LanguageModel, Progress
from ..options import Option

if TYPE_CHECKING:
    import torch

    from ..corpus import Corpus

DENSE_LIMIT = 2**22  # cells of the dense table: 4M float64 = 32 MiB at most


class CountLM(LanguageModel):
    """Counts of n-grams, smoothed with add-k."""

    name = "count"
    description = "count n-gram model with add-k smoothing (the lecture's count matrix)"
    options = (
        *LanguageModel.options,
        Option("smooth", float, 1.0, "add-k smoothing: fake counts added to every n-gram", min=0),
    )

    def _fit(self, corpus: Corpus, progress: Progress | None) -> None:
        counts = NgramCounts.count(corpus, self.order)
        keys, cnt = counts.top()
        self._set_table(keys, cnt)

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
        self.dense_: torch.Tensor | None = None
        if V**self.order <= DENSE_LIMIT:
            self.dense_ = self._dense_table()

    def _dense_table(self) -> torch.Tensor:
        """log p as a [V^(order-1), V] float64 matrix (the lecture's P, logged)."""
        import torch

        V = len(self.require_fitted())
        k = self.hparams["smooth"]
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
        if self.dense_ is not None:
            return self.dense_[ctx]
        k = self.hparams["smooth"]
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
        import torch

        V = len(self.require_fitted())
        ctx = self._context_keys(contexts)
        if self.dense_ is not None:
            return self.dense_[ctx, targets]
        k = self.hparams["smooth"]
        c = self._lookup(self.keys_, self.counts_, ctx * V + targets).double()
        total = self._lookup(self.ctx_keys_, self.ctx_totals_, ctx).double()
        p = torch.where(total > 0, (c + k) / (total + k * V).clamp(min=1e-300), 1.0 / V)
        return p.log()

    @staticmethod
    def _lookup(keys: torch.Tensor, values: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """values[keys == query], 0 where a query key is absent."""
        import torch

        if len(keys) == 0:
            return torch.zeros_like(query)
        pos = torch.searchsorted(keys, query).clamp_(max=len(keys) - 1)
        return torch.where(keys[pos] == query, values[pos], 0)

    def summary(self) -> dict[str, Any]:
        V = len(self.require_fitted())
        return {
            "distinct n-grams": len(self.keys_),
            "contexts seen": len(self.ctx_keys_),
            "possible contexts": V ** (self.order - 1),
            "table": "dense" if self.dense_ is not None else "sparse",
        }

    # -- persistence -------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        return self.base_config(), {"keys": self.keys_, "counts": self.counts_}

    @classmethod
    def from_state(cls, config: dict[str, Any], tensors: dict[str, torch.Tensor]) -> CountLM:
        import torch

        model = cls.from_base_config(config)
        V = len(model.require_fitted())
        check_order(model.order, V)
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
        )
        if not ok:
            raise ModelFileError("count model tensors are inconsistent (keys, counts)")
        model._set_table(keys, counts)
        return model
