"""One sampler for every backend, seeded, drawing exactly the lecture's tokens.

The lecture's procedure (DESIGN.md): g = torch.Generator().manual_seed(seed);
for each item, starting from the boundary, draw one token with
torch.multinomial(p, 1, replacement=True, generator=g) until the boundary
comes back. p is the float32 probability row of the current context.

Why this is fast and still exact: on the CPU, multinomial(p, 1) is
argmax(p / E) with E a row of Exp(1) noise drawn from g, and drawing a
[R, V] block of noise gives the same numbers as R rows drawn one by one
(tests/test_sampling.py checks both, so a torch upgrade that breaks them
fails loudly). Draw r of the whole run uses noise row r. The item that starts
at row r depends only on rows r, r+1, ..., so we walk many candidate starts
in parallel (one batched `next_logprobs` per step) and then chain them:
the first item starts at row 0, the next at the row after the first ends.

This module draws; it does not decide how items are shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import NgramkitError

if TYPE_CHECKING:
    import torch

    from .model import LanguageModel

DEFAULT_MAX_LEN = 256
"""Symbols after which a sampled item is cut (a model may never end an item)."""

_BLOCK_CELLS = 2**21  # walkers * V per step, bounds the memory of one step
_TABLE_CELLS = 2**20  # contexts * V of a precomputed probability table


class _Noise:
    """Rows of Exp(1) noise drawn lazily, in order, from one generator."""

    def __init__(self, generator: torch.Generator, width: int) -> None:
        import torch

        self.g = generator
        self.width = width
        self.base = 0  # global index of buf[0]
        self.buf = torch.empty(0, width)

    def rows(self, index: torch.Tensor) -> torch.Tensor:
        import torch

        need = int(index.max()) + 1 - self.base - len(self.buf)
        if need > 0:
            more = torch.empty(max(need, 1024), self.width).exponential_(1, generator=self.g)
            self.buf = torch.cat([self.buf, more])
        return self.buf[index - self.base]

    def forget_before(self, row: int) -> None:
        drop = row - self.base
        if drop > len(self.buf) // 2 and drop > 4096:
            self.buf = self.buf[drop:]
            self.base = row


def _probs(logprobs: torch.Tensor, temperature: float) -> torch.Tensor:
    """float32 probability rows, as the lecture feeds multinomial."""
    import torch

    lp = logprobs.to(torch.float64)
    if temperature != 1.0:
        lp = torch.log_softmax(lp / temperature, dim=1)
    return lp.exp().to(torch.float32)


def _prob_rows(model: LanguageModel, temperature: float) -> Callable[[torch.Tensor], torch.Tensor]:
    """contexts [A, order-1] -> float32 probability rows [A, V].

    When every context fits in a small table (V^order <= _TABLE_CELLS), the
    rows of all contexts are computed once and looked up by base-V key.
    """
    import torch

    V = len(model.require_fitted())
    k = model.order - 1
    if V ** (k + 1) > _TABLE_CELLS:
        return lambda ctx: _probs(model.next_logprobs(ctx), temperature)
    key = torch.arange(V**k)
    digits = [(key // V ** (k - 1 - j)) % V for j in range(k)]
    all_ctx = torch.stack(digits, 1) if k else torch.zeros(1, 0, dtype=torch.long)
    table = _probs(model.next_logprobs(all_ctx), temperature)  # (V^k, V)
    weights = [V ** (k - 1 - j) for j in range(k)]

    def lookup(ctx: torch.Tensor) -> torch.Tensor:
        key = torch.zeros(len(ctx), dtype=torch.long)
        for j, w in enumerate(weights):
            key += ctx[:, j] * w
        return table[key]

    return lookup


def _walk(
    rows: Callable[[torch.Tensor], torch.Tensor],
    noise: _Noise,
    starts: torch.Tensor,
    context: list[int],
    max_len: int,
) -> tuple[torch.Tensor, list[int]]:
    """Walk one candidate item from each noise row in `starts`.

    Returns (tokens [W, T], lengths): walker w drew tokens[w, :lengths[w]]
    and then the boundary, or was cut at max_len.
    """
    import torch

    W = len(starts)
    V = noise.width
    small = torch.int16 if V < 2**15 else torch.long
    ctx = torch.tensor(context, dtype=torch.long).repeat(W, 1)  # (A, order-1), alive only
    who = torch.arange(W)  # (A,) walker index of each alive row
    row = starts.clone()  # (A,) noise row of the next draw
    length = torch.full((W,), max_len, dtype=torch.long)
    columns: list[torch.Tensor] = []
    for t in range(max_len):
        if len(who) == 0:
            break
        tok = (rows(ctx) / noise.rows(row)).argmax(1)  # (A,) multinomial's draw
        col = torch.zeros(W, dtype=small)
        col[who] = tok.to(small)
        columns.append(col)
        going = tok != 0
        length[who[~going]] = t
        who, row, tok = who[going], row[going] + 1, tok[going]
        if ctx.shape[1] > 0:
            ctx = torch.cat([ctx[going, 1:], tok.unsqueeze(1)], 1)
        else:
            ctx = ctx[going]
    return torch.stack(columns, 1), length.tolist()


def sample(
    model: LanguageModel,
    n: int,
    *,
    seed: int,
    temperature: float = 1.0,
    prefix: str = "",
    max_len: int | None = None,
) -> list[str]:
    """Draw `n` items; the same seed gives the same items.

    prefix: the items start with it (its symbols are context, not draws).
    max_len: cut an item after this many drawn symbols (DEFAULT_MAX_LEN).
    """
    import torch

    vocab = model.require_fitted()
    if n < 0:
        raise NgramkitError(f"cannot draw {n} samples")
    if not temperature > 0:
        raise NgramkitError(f"--temperature must be > 0, got {temperature:g}")
    max_len = DEFAULT_MAX_LEN if max_len is None else max_len
    if max_len < 1:
        raise NgramkitError(f"--max-len must be >= 1, got {max_len}")
    unknown = vocab.unknown(prefix)
    if unknown:
        raise NgramkitError(f"prefix {prefix!r} has symbols outside the vocabulary: {unknown}")
    head = vocab.encode(prefix)
    padded = [0] * (model.order - 1) + head
    context = padded[len(padded) - (model.order - 1) :] if model.order > 1 else []

    noise = _Noise(torch.Generator().manual_seed(seed), len(vocab))
    rows = _prob_rows(model, temperature)
    head_symbols = vocab.split(prefix)
    symbols = vocab.symbols
    out: list[str] = []
    row, mean_draws = 0, 8.0
    while len(out) < n:
        want = int((n - len(out)) * mean_draws * 1.2) + 16
        block = max(1, min(want, _BLOCK_CELLS // len(vocab)))
        tokens, lengths = _walk(rows, noise, torch.arange(row, row + block), context, max_len)
        # Chain the walkers: the next item starts at the row after this one ends.
        chosen: list[int] = []
        w = 0
        while w < block and len(out) + len(chosen) < n:
            chosen.append(w)
            w += lengths[w] + (1 if lengths[w] < max_len else 0)
        drawn = tokens[chosen].tolist()
        for i, toks in zip(chosen, drawn):
            out.append(vocab.join([*head_symbols, *(symbols[t - 1] for t in toks[: lengths[i]])]))
        mean_draws = w / max(len(chosen), 1)
        row += w
        noise.forget_before(row)
    return out
