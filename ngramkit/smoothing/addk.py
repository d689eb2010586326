"""Add-k, the lecture's estimator ("fake counts"; add-1 is the lecture's N+1):

    p(w | h) = (c(h, w) + k) / (c(h) + k * V)

over the top-order counts only. A context never seen has c(h) = 0 and gets
the uniform 1/V (the formula's limit, and a defined answer at k = 0, where
MLE leaves it 0/0). At k = 0 a seen context gives probability 0 (log -inf)
to a token it was never followed by.

With the unknown token (`--unk`, the last id) add-k is mixed with the
singleton estimate m of an unseen symbol (smoothing.unk_mass):

    p(w | h) = (1 - m) * (c(h, w) + k) / (c(h) + k * V)  +  m * [w = unk]

so every row still sums to one and an unseen symbol scores log p >= log m in
every context, at k = 0 too. Without it, m = 0: the formula above, unchanged.

`AddK` is the estimate: the counts and their context totals, scored by the
formula above (`key_logprobs`, `next_logprobs`). `as_tables` writes the same
estimate as backoff tables for ARPA files; `tune_k` picks k for `--smooth
auto` on held-out training items. How batches are scored fast is not here
(backends/scorer.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import torch

from ..corpus import Corpus
from ..counts import NgramCounts, context_totals, counts_whole_items
from ..errors import ModelFileError
from ..keys import is_table, lookup, stored_at_own_order, top_order
from .backoff import BackoffTables
from .fit import held_out
from .tune import golden_min

K_RANGE = (1e-4, 10.0)  # --smooth auto searches k here, fake counts


def addk_probs(pair: torch.Tensor, total: torch.Tensor, k: float, V: int) -> torch.Tensor:
    """The formula: p of c(h, w) = pair [T] and c(h) = total [T] (float64) -> [T].

    The clamp only keeps 0/0 (k = 0, an unseen context) out of the branch not taken.
    """
    return torch.where(total > 0, (pair + k) / (total + k * V).clamp(min=1e-300), 1.0 / V)


@dataclass(frozen=True)
class AddK:
    """Add-k over the top-order counts.

    keys, counts: (M,) sorted n-gram keys of the order and their counts.
    ctx_keys, ctx_totals: (C,) sorted keys of the contexts seen and c(h).
    k: the fake count added to every (context, token) pair.
    unk_mass: m, the unknown token's (the last id's) mixed-in share; 0 without one.
    """

    vocab_size: int
    order: int
    k: float
    keys: torch.Tensor
    counts: torch.Tensor
    ctx_keys: torch.Tensor
    ctx_totals: torch.Tensor
    unk_mass: float = 0.0
    dense_cells: ClassVar[int] = 2**22  # a dense table is cheap to build: a cell is a formula

    @classmethod
    def fit(
        cls, keys: torch.Tensor, counts: torch.Tensor, V: int, N: int, k: float, m: float = 0.0
    ) -> AddK:
        """The estimate from the top-order (keys, counts) of an order-N table over V tokens
        (m: the unknown token's share, see the module docstring)."""
        return cls(V, N, k, keys, counts, *context_totals(keys, counts, V), m)

    def _mix(self, p: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """(1 - m) p + m [target = unk]: p [T] (or [B, V]) of targets [T] (or [V])."""
        m = self.unk_mass
        if not m:
            return p
        scaled = p * (1 - m)
        return torch.where(target == self.vocab_size - 1, scaled + m, scaled)

    def unseen_row(self) -> torch.Tensor:
        """log p after a context never seen: [V] float64, add-k's uniform 1/V (mixed)."""
        V = self.vocab_size
        return self._mix(torch.full((V,), 1.0 / V, dtype=torch.float64), torch.arange(V)).log()

    def key_logprobs(self, grams: torch.Tensor) -> torch.Tensor:
        """log p of n-gram keys (context, target) [T] -> [T] float64."""
        V = self.vocab_size
        pair, _ = lookup(self.keys, self.counts, grams)
        total, _ = lookup(self.ctx_keys, self.ctx_totals, grams // V)
        return self._mix(addk_probs(pair.double(), total.double(), self.k, V), grams % V).log()

    distinct_logprobs = key_logprobs  # no dedup pass to skip
    counted_logprobs = key_logprobs  # every key is one lookup already

    def next_logprobs(self, ctx: torch.Tensor) -> torch.Tensor:
        """Whole rows of context keys [B] -> [B, V] float64: the formula at every token.

        The n-grams of a context are a run of the sorted keys: each run is
        scattered into its row of pair counts, no lookup per token.
        """
        V = self.vocab_size
        lo = torch.searchsorted(self.keys, ctx * V)  # (B,) each context's run of n-grams
        lens = torch.searchsorted(self.keys, ctx * V + V) - lo
        row = torch.repeat_interleave(torch.arange(len(ctx)), lens)
        at = lo[row] + torch.arange(len(row)) - (torch.cumsum(lens, 0) - lens)[row]
        pair = torch.zeros(len(ctx), V, dtype=torch.float64)
        pair[row, self.keys[at] % V] = self.counts[at].double()
        total, _ = lookup(self.ctx_keys, self.ctx_totals, ctx)
        return self._row_logprobs(pair, total.double())

    def seen_logprobs(self) -> torch.Tensor:
        """next_logprobs(ctx_keys), the rows of every seen context [C, V] float64, with
        no search: the n-grams of the i-th context are the i-th run of the sorted keys."""
        V = self.vocab_size
        ctx, row = torch.unique_consecutive(self.keys // V, return_inverse=True)
        if not torch.equal(ctx, self.ctx_keys):  # not the keys' own contexts: search them
            return self.next_logprobs(self.ctx_keys)
        total = self.ctx_totals.double()
        if self.unk_mass or not bool((total > 0).all()):
            pair = torch.zeros(len(ctx), V, dtype=torch.float64)
            pair[row, self.keys % V] = self.counts.double()
            return self._row_logprobs(pair, total)
        # Most cells hold no count: each row's (0 + k) / (c(h) + kV) is one log, then
        # the M counted cells get theirs (C + M logs, not C * V; the same divisions).
        k = self.k
        denominator = (total + k * V).clamp(min=1e-300)  # as addk_probs's
        # a full tensor, not k / tensor: torch makes that k * (1 / tensor), another float
        out = torch.full_like(denominator, k).div_(denominator).log_().unsqueeze(1).repeat(1, V)
        out[row, self.keys % V] = (self.counts.double() + k).div_(denominator[row]).log_()
        return out

    def _row_logprobs(self, pair: torch.Tensor, total: torch.Tensor) -> torch.Tensor:
        """The formula's log p of rows of pair counts [B, V] (float64, overwritten) with
        context totals [B] -> [B, V]: in place where every total is positive and no
        unknown token is mixed in (the same divisions, one pass each)."""
        k, V = self.k, self.vocab_size
        if self.unk_mass or not bool((total > 0).all()):
            p = addk_probs(pair, total.unsqueeze(1), k, V)
            return self._mix(p, torch.arange(V)).log()
        denominator = (total + k * V).clamp(min=1e-300).unsqueeze(1)  # as addk_probs's
        return pair.add_(k).div_(denominator).log_()

    def as_tables(self) -> BackoffTables:
        """The same estimate as backoff tables (for ARPA): exact for every context
        a corpus can hold (boundaries only in front).

        Seen n-grams keep (c + k) / (c(h) + kV); a seen context h backs off with
        weight kV / (c(h) + kV) to 1/V; an unseen context backs off with weight 1,
        which is add-k's uniform row. An n-gram whose context starts with z > 1
        boundaries is stored at the order keys.top_order gives it (same key).
        With the unknown token mixed in (m > 0), the tables of the unmixed
        estimate are mixed in backoff form (BackoffTables.with_unk_mass).
        """
        V, N, k = self.vocab_size, self.order, self.k
        if N == 1:  # one context, seen: the unigram table is its row
            row = (self.next_logprobs(torch.zeros(1, dtype=torch.long))[0],)
            return BackoffTables(V, (torch.arange(V),), row, (), ())
        if self.unk_mass:
            return replace(self, unk_mass=0.0).as_tables().with_unk_mass(self.unk_mass)
        keys, counts, ctx_keys = self.keys, self.counts, self.ctx_keys
        _, inverse = torch.unique_consecutive(keys // V, return_inverse=True)
        totals = self.ctx_totals.double()  # exact: counts sum below 2^53
        logp = ((counts.double() + k) / (totals[inverse] + k * V)).log()
        bow = (k * V / (totals + k * V)).log()
        order_of = top_order(keys // V, V, N)  # (M,)
        ctx_order = top_order(ctx_keys, V, N)  # contexts, by their n-gram's order
        uniform = -math.log(V)
        out_keys, out_logp = [torch.arange(V)], [torch.full((V,), uniform, dtype=torch.float64)]
        out_ctx, out_bow = [], []
        for j in range(2, N + 1):
            sel = order_of == j
            # Every suffix of a stored n-gram is stored too (KenLM requires it):
            # lower orders hold 1/V, the value add-k backs off to, except the
            # n-grams starting at <s>, which carry add-k's own value.
            grams, lp = keys[sel], logp[sel]
            if j < N:
                grams = torch.unique(keys % V**j)
                grams = grams[stored_at_own_order(grams, V, j)]
                lp = torch.full((len(grams),), uniform, dtype=torch.float64)
                lp[torch.searchsorted(grams, keys[sel])] = logp[sel]
            out_keys.append(grams)
            out_logp.append(lp)
            out_ctx.append(ctx_keys[ctx_order == j])
            out_bow.append(bow[ctx_order == j])
        return BackoffTables(V, tuple(out_keys), tuple(out_logp), tuple(out_ctx), tuple(out_bow))

    def state(self) -> dict[str, torch.Tensor]:
        """Named tensors for a model file."""
        return {"keys": self.keys, "counts": self.counts}

    @classmethod
    def from_state(
        cls, V: int, N: int, k: Any, tensors: dict[str, torch.Tensor], m: Any = 0.0
    ) -> AddK:
        """Rebuild from `state()` and the recorded k (and m), checking what a damaged
        file could break."""
        if not isinstance(k, (int, float)) or isinstance(k, bool) or not k >= 0:
            raise ModelFileError("count model: add-k fake count is missing or invalid")
        if not isinstance(m, (int, float)) or isinstance(m, bool) or not 0 <= m < 1:
            raise ModelFileError("count model: the unknown token's share is invalid")
        try:
            keys, counts = tensors["keys"], tensors["counts"]
        except KeyError:
            raise ModelFileError("count model lacks its keys or counts tensor") from None
        ok = (
            is_table(keys, counts, torch.long)
            and (len(keys) == 0 or int(keys[-1]) < V**N)
            and bool((counts > 0).all())
            # totals are summed in float64 when scoring: exact only up to 2^53
            and float(counts.double().sum()) <= 2**53
        )
        if not ok:
            raise ModelFileError("count model tensors are inconsistent (keys, counts)")
        if not counts_whole_items(keys, counts, V, N):  # a table of another order, say
            raise ModelFileError(f"count model: its counts are not of order-{N} n-grams of items")
        return cls.fit(keys, counts, V, N, float(k), float(m))

    def summary(self) -> dict[str, Any]:
        return {
            "distinct n-grams": len(self.keys),
            "contexts seen": len(self.ctx_keys),
            "possible contexts": self.vocab_size ** (self.order - 1),
        }


def tune_k(corpus: Corpus, whole: NgramCounts, folds: int = 1, dev_fraction: float = 0.1) -> float:
    """add-k's k in K_RANGE minimizing the held-out NLL (held_out folds) of `corpus`,
    whose counts at the model's order are `whole`, by golden-section search on log k."""
    pairs, totals, weights = [], [], []
    for train, dev in held_out(corpus, whole, folds, dev_fraction):
        est = AddK.fit(*train.top(), train.vocab_size, train.order, 0.0)
        held, weight = dev.top()  # (U,) distinct held-out n-grams and their counts
        pairs.append(lookup(est.keys, est.counts, held)[0].double())
        totals.append(lookup(est.ctx_keys, est.ctx_totals, held // est.vocab_size)[0].double())
        weights.append(weight.double())
    pair, total, weight = torch.cat(pairs), torch.cat(totals), torch.cat(weights)  # (U,) each

    def nll(log_k: float) -> float:
        """Held-out NLL (nats/token) at k = exp(log_k): c(h, w) = pair, c(h) = total."""
        p = addk_probs(pair, total, math.exp(log_k), len(corpus.vocab))
        return float(-(p.log() * weight).sum() / weight.sum())

    return math.exp(golden_min(nll, math.log(K_RANGE[0]), math.log(K_RANGE[1]), 40))
