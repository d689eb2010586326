"""A smoothed n-gram model in backoff form, as an ARPA file holds it.

For every order k = 1..N the tables keep:

- the k-grams seen, as sorted base-V int64 keys, with log p(w | h) (nats);
- the contexts h of k - 1 tokens seen, with their log backoff weight.

Scoring backs off, as KenLM and SRILM do:

    p(w | h) = p_k(h, w)               if (h, w) is a stored k-gram
             = bow(h) * p(w | h[1:])   otherwise (bow = 1 for a context not stored)

An interpolated estimate (Kneser-Ney, Witten-Bell, ...) is exactly this form:
the stored probability is the interpolated one, and the backoff weight is the
interpolation weight gamma(h) (see interpolate.py).

Boundaries: a query whose context starts with z > 1 boundaries is answered
at order N - z + 1 (keys.top_order), and such n-grams are never stored above
it. As a context, id 0 is <s>; as the predicted token, it is </s>.

The unigram table is dense (all V tokens), so backing off always ends.
`unk_logp` is the log-probability of an unknown symbol (<unk>) at the unigram
level; it is -inf unless the model reserves mass for it (KenLM does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ..errors import ModelFileError
from ..keys import gram_keys, is_table, lookup, row_grams, top_order

DEDUP_MIN = 8192  # batches above this many tokens are scored per distinct n-gram
SCORE_SLICE = 2**18  # n-grams looked up at once: the lookups make ~12 temporaries this long
COUNTED_SLICE = 2**16  # the training NLL's slice: 6 MiB of temporaries, no slower (per order)


@dataclass(frozen=True)
class BackoffTables:
    """Per-order n-gram log-probabilities and context backoff weights.

    vocab_size: V (id 0 is the boundary).
    keys[k-1], logp[k-1]: sorted k-gram keys (M_k,) and log p (M_k,) float64;
        keys[0] is arange(V) (the unigram table is dense).
    ctx_keys[k-2], log_bow[k-2]: for k = 2..N, sorted keys of the contexts of
        k - 1 tokens and their log backoff weights (C_k,) float64.
    unk_logp: log p(<unk>) at the unigram level (nats; -inf when not reserved).
    """

    vocab_size: int
    keys: tuple[torch.Tensor, ...]
    logp: tuple[torch.Tensor, ...]
    ctx_keys: tuple[torch.Tensor, ...]
    log_bow: tuple[torch.Tensor, ...]
    unk_logp: float = -math.inf
    dense_cells: ClassVar[int] = 2**16  # a dense table worth building: a cell costs N lookups

    @property
    def order(self) -> int:
        return len(self.keys)

    @property
    def sizes(self) -> list[int]:
        """Stored n-grams per order, as an ARPA header counts them."""
        return [len(k) for k in self.keys]

    def token_logprobs(self, contexts: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """log p(target | context): contexts [T, N-1], targets [T] -> [T] float64."""
        V = self.vocab_size
        return self.key_logprobs(gram_keys(contexts, V).mul_(V).add_(targets))

    def next_logprobs(self, ctx: torch.Tensor) -> torch.Tensor:
        """Whole rows of context keys [B] -> [B, V] float64: every (context, token) scored."""
        return self.key_logprobs(row_grams(ctx, self.vocab_size)).view(-1, self.vocab_size)

    def key_logprobs(self, grams: torch.Tensor) -> torch.Tensor:
        """log p of n-grams given as base-V keys of N tokens (context, target): [T] -> [T].

        One searchsorted per order for the n-grams and one for the contexts;
        no Python loop over tokens. Large batches repeat n-grams (text is
        Zipfian), so they are scored once per distinct n-gram.
        """
        if len(grams) > DEDUP_MIN and self.order > 1:
            uniq, inverse = torch.unique(grams, sorted=True, return_inverse=True)
            return self.distinct_logprobs(uniq)[inverse]
        return self.distinct_logprobs(grams)

    def distinct_logprobs(self, grams: torch.Tensor) -> torch.Tensor:
        """key_logprobs without the dedup pass (for keys known to be distinct): [T] -> [T].

        Looked up SCORE_SLICE keys at a time, which bounds the temporaries.
        """
        V, N = self.vocab_size, self.order
        if len(grams) <= SCORE_SLICE:
            return self.score(grams, top_order(grams // V, V, N))
        return torch.cat([self.distinct_logprobs(g) for g in grams.split(SCORE_SLICE)])

    def counted_logprobs(self, grams: torch.Tensor) -> torch.Tensor:
        """distinct_logprobs of distinct order-N keys [T] the tables were estimated from
        (a count table's top order): [T] float64, the same values.

        Such a key is stored at the order that answers it (keys.top_order: the
        key itself, its leading boundaries being zero digits), so one lookup
        there gives its log p, with no backoff chain; a key that is not stored
        (another table's) is scored in full.
        """
        V, N = self.vocab_size, self.order
        if N == 1:
            return self.distinct_logprobs(grams)
        if len(grams) > COUNTED_SLICE:  # a slice at a time: the lookups' temporaries stay small
            whole = torch.empty(len(grams), dtype=torch.float64)
            for start in range(0, len(grams), COUNTED_SLICE):
                part = slice(start, start + COUNTED_SLICE)
                whole[part] = self.counted_logprobs(grams[part])
            return whole
        top = top_order(grams // V, V, N)  # (T,) the order answering each key
        out = torch.empty(len(grams), dtype=torch.float64)
        missing = torch.zeros(len(grams), dtype=torch.bool)
        for k in range(2, N + 1):
            at = (top == k).nonzero().squeeze(1)
            lp, found = lookup(self.keys[k - 1], self.logp[k - 1], grams[at])
            out[at] = lp
            missing[at] = ~found
        if bool(missing.any()):
            out[missing] = self.distinct_logprobs(grams[missing])
        return out

    def score(self, grams: torch.Tensor, top: torch.Tensor) -> torch.Tensor:
        """log p of n-gram keys [T] using orders up to `top` [T] only (no dedup).

        key_logprobs sets top from the leading boundaries of each context
        (keys.top_order).
        """
        V, N = self.vocab_size, self.order
        out = self.logp[0][grams % V]  # (T,) unigram
        for k in range(2, N + 1):
            key = grams % V**k  # (T,) the k-gram (h, w): the key's last k digits
            ctx_key = key // V  # (T,) its context h, k-1 tokens
            live = top >= k
            lp, found = lookup(self.keys[k - 1], self.logp[k - 1], key)
            bow, _ = lookup(self.ctx_keys[k - 2], self.log_bow[k - 2], ctx_key)
            step = torch.where(found, lp, bow + out)
            out = torch.where(live, step, out)
        return out

    def as_tables(self) -> BackoffTables:
        """These tables (an add-k estimate converts itself: addk.AddK.as_tables)."""
        return self

    def with_unk_mass(self, m: float) -> BackoffTables:
        """The tables of p'(w | h) = (1 - m) p(w | h) + m [w = unk] (unk: the last id).

        Every stored probability is scaled by 1 - m; the unknown token does
        not back off like the rest, so (h, unk) is stored for every stored
        context h (and, as KenLM requires, for the suffixes of those), with
        (1 - m) p(unk | h) + m. Backoff weights are unchanged: a known token
        backs off to the scaled lower order, which is (1 - m) times its old
        value. Rows still sum to one.
        """
        V, N, unk = self.vocab_size, self.order, self.vocab_size - 1
        scale = math.log1p(-m)
        extra = torch.zeros(0, dtype=torch.long)  # (h, unk) keys of the order above, cut
        keys, logp = [], []
        for k in range(N, 0, -1):
            own = self.ctx_keys[k - 2] * V + unk if k >= 2 else torch.tensor([unk])
            new = torch.unique(torch.cat([own, extra]))  # (U,) sorted
            old = self.score(new, torch.full_like(new, k))  # (U,) log p(unk | h) before
            mixed = torch.logaddexp(old + scale, torch.tensor(math.log(m), dtype=old.dtype))
            kk, lp = self.keys[k - 1], self.logp[k - 1] + scale
            merged, inverse = torch.unique(torch.cat([kk, new]), return_inverse=True)
            values = torch.empty(len(merged), dtype=torch.float64)
            values[inverse[: len(kk)]] = lp
            values[inverse[len(kk) :]] = mixed  # a stored (h, unk) takes its mixed value
            keys.insert(0, merged)
            logp.insert(0, values)
            extra = new % V ** (k - 1) if k >= 2 else extra
        return BackoffTables(V, tuple(keys), tuple(logp), self.ctx_keys, self.log_bow)

    def state(self) -> dict[str, torch.Tensor]:
        """Named tensors for a model file."""
        out: dict[str, torch.Tensor] = {}
        for k in range(1, self.order + 1):
            out[f"keys{k}"] = self.keys[k - 1]
            out[f"logp{k}"] = self.logp[k - 1]
            if k >= 2:
                out[f"ctx{k}"] = self.ctx_keys[k - 2]
                out[f"bow{k}"] = self.log_bow[k - 2]
        return out

    @classmethod
    def from_state(
        cls, vocab_size: int, order: int, tensors: dict[str, torch.Tensor], unk_logp: float
    ) -> BackoffTables:
        """Rebuild from `state()`, checking what a damaged file could break."""

        def get(name: str) -> torch.Tensor:
            if name not in tensors:
                raise ModelFileError(f"smoothed count model lacks tensor {name!r}")
            return tensors[name]

        keys, logp, ctx, bow = [], [], [], []
        for k in range(1, order + 1):
            keys.append(get(f"keys{k}"))
            logp.append(get(f"logp{k}"))
            if k >= 2:
                ctx.append(get(f"ctx{k}"))
                bow.append(get(f"bow{k}"))
        for k, (kk, vv) in enumerate([*zip(keys, logp), *zip(ctx, bow)]):
            if not is_table(kk, vv, torch.float64):
                raise ModelFileError(f"smoothed count model tables are inconsistent (table {k})")
        if len(keys[0]) != vocab_size:
            raise ModelFileError(
                "smoothed count model: unigram table does not cover the vocabulary"
            )
        return cls(vocab_size, tuple(keys), tuple(logp), tuple(ctx), tuple(bow), unk_logp)

    def summary(self) -> dict[str, Any]:
        return {
            "n-grams per order": ", ".join(str(n) for n in self.sizes),
            "contexts per order": ", ".join(str(len(c)) for c in self.ctx_keys) or "-",
        }
