"""One sampler for every backend, seeded, drawing exactly the lecture's tokens.

The lecture's procedure (DESIGN.md): g = torch.Generator().manual_seed(seed);
for each item, starting from the boundary, draw one token with
torch.multinomial(p, 1, replacement=True, generator=g) until the boundary
comes back. p is the float32 probability row of the current context.

Why this is fast and still exact:

1. On the CPU, multinomial(p, 1) is argmax(p / E) with E a row of Exp(1)
   noise drawn from g, and a [R, V] block of noise holds the same numbers as
   R rows drawn one by one (tests/test_sampling.py checks both, so a torch
   upgrade that breaks them fails loudly). Draw number q of the whole run
   uses noise row q, whatever item it belongs to.
2. The draw at row q depends only on the walk's state there: the context
   key and the item's length so far (for the max_len cut). So the rows are
   cut into K segments that are walked in parallel, each speculatively
   started in the item-start state. A segment whose true start state (the
   end state of the segment before it) differs is repaired: walked again
   from the true state until its state coincides with the recorded one at
   the same row (from there on the record is the true continuation), in
   rounds until every segment joins the one before it. Walks of generated
   text meet quickly (both at an item start at the same row is enough), so
   repairs are short and the total work stays close to one draw per row.

A model with the unknown token (`--unk`) never draws it: its probability is
set to 0 before the draw, which renormalizes the row over the real symbols
(multinomial takes unnormalized weights). A sampled item is made of symbols
the model knows; the unknown token stands for "some symbol never seen" and has
no spelling to produce. With no unknown token the rows are untouched.

This module draws; it does not decide how items are shown.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from .errors import NgramkitError, OOVError, OptionError
from .keys import gram_keys, key_digits, max_order
from .tokenizer import Vocabulary

DEFAULT_MAX_LEN = 256
"""Symbols after which a sampled item is cut (a model may never end an item)."""

_SEGMENT = 128  # rows per speculative segment of a large block (segment_rows)
_SMALL_BLOCK = 8192  # rows of a block walked in segments of _SEGMENT // 2
_TABLE_CELLS = 2**20  # contexts * V of a precomputed probability table
_BLOCK_ROWS = 2**17  # noise rows walked at once (a multiple of _SEGMENT)


class NextTokenModel(Protocol):
    """What sampling asks of a model: model.LanguageModel has it (sampling does not import it)."""

    @property
    def order(self) -> int: ...

    def require_fitted(self) -> Vocabulary: ...

    def next_logprobs(self, contexts: torch.Tensor) -> torch.Tensor: ...


def _probs(
    logprobs: torch.Tensor,
    temperature: float,
    top_k: int | None = None,
    top_p: float | None = None,
    unk: int | None = None,
) -> torch.Tensor:
    """float32 probability rows, as the lecture feeds multinomial; top-k/top-p truncated;
    column `unk` (the unknown token) set to 0, so it is never drawn."""
    lp = logprobs.to(torch.float64)
    if temperature != 1.0:
        lp = torch.log_softmax(lp / temperature, dim=1)
    p = lp.exp()
    if top_k is not None or top_p is not None:
        p = truncate(p, top_k, top_p)
    p = p.to(torch.float32)
    if unk is not None:
        p[:, unk] = 0.0
    return p


def check_truncation(top_k: int | None, top_p: float | None) -> None:
    """OptionError (one line) for a top-k below 1 or a top-p outside (0, 1]."""
    if top_k is not None and top_k < 1:
        raise OptionError.named(f"<top_k> must be >= 1, got {top_k}")
    if top_p is not None and not 0 < top_p <= 1:
        raise OptionError.named(f"<top_p> must be in (0, 1], got {top_p:g}")


def truncate(p: torch.Tensor, top_k: int | None, top_p: float | None) -> torch.Tensor:
    """Rows [B, V] kept to their top_k most probable tokens (ties at the k-th kept), then
    to the fewest most probable tokens holding mass >= top_p; renormalized.

    [0.5, 0.3, 0.2] with top_p 0.7 keeps 0.5 and 0.3: [0.625, 0.375, 0].
    """
    if top_k is not None and top_k < p.shape[1]:
        kth = p.topk(top_k, dim=1).values[:, -1:]  # (B, 1)
        p = torch.where(p >= kth, p, 0.0)
    if top_p is not None and top_p < 1:
        q, order = p.sort(dim=1, descending=True, stable=True)
        before = q.cumsum(1) - q  # mass of the more probable tokens
        keep = before < top_p * q.sum(1, keepdim=True)
        p = torch.zeros_like(p).scatter_(1, order, torch.where(keep, q, 0.0))
    return p / p.sum(1, keepdim=True)


class _Rows:
    """Probability rows of walkers' contexts, float32 [A, V].

    A context is kept as one base-V key (t1*V^(k-1) + ... + tk, k = order-1).
    When V^order <= _TABLE_CELLS the rows of every context are computed once
    and looked up by key. Otherwise, a model that has `compact_rows()` (the
    count backend: every distinct next-token distribution once, and the map
    from context keys to them) has those rows made probabilities once and
    looked up through its map: the same float64 rows next_logprobs gives, so
    the same draws. Any other model is asked each step.
    """

    def __init__(
        self,
        model: NextTokenModel,
        temperature: float,
        top_k: int | None = None,
        top_p: float | None = None,
    ) -> None:
        self.model = model
        self.shape = (temperature, top_k, top_p, model.require_fitted().unk_id)
        self.V = len(model.require_fitted())
        self.k = model.order - 1
        self.space = self.V**self.k  # number of contexts
        self.table: torch.Tensor | None = None
        self.index: Any = None  # context keys -> rows of `table` (context_rows.ContextRows)
        if self.space * self.V <= _TABLE_CELLS:
            every = self.digits(torch.arange(self.space))
            self.table = _probs(model.next_logprobs(every), *self.shape)  # (V^k, V)
            return
        compact = getattr(model, "compact_rows", None)
        rows = compact() if compact is not None else None
        if rows is not None:
            self.index, logp = rows
            self.table = _probs(logp, *self.shape)  # (R, V): each distinct row once

    def digits(self, key: torch.Tensor) -> torch.Tensor:
        """Keys [A] -> contexts [A, k] of token ids."""
        return key_digits(key, self.V, self.k)

    def __call__(self, key: torch.Tensor) -> torch.Tensor:
        if self.index is not None and self.table is not None:
            return self.table.index_select(0, self.index.row_of(key))
        if self.table is not None:
            return self.table.index_select(0, key)
        return _probs(self.model.next_logprobs(self.digits(key)), *self.shape)


@dataclass
class _Walk:
    """The record of every row: state before the draw, and the draw.

    key/length: context key and symbols so far in the item, before row q.
    tok: the token drawn at row q (0 = the item ended).
    """

    noise: torch.Tensor  # (R, V) Exp(1) rows
    key: torch.Tensor  # (R,)
    length: torch.Tensor  # (R,)
    tok: torch.Tensor  # (R,)


class _Sampler:
    def __init__(self, rows: _Rows, start_key: int, max_len: int) -> None:
        self.rows = rows
        self.start_key = start_key
        self.max_len = max_len

    def step(
        self, noise: torch.Tensor, key: torch.Tensor, length: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw for walkers in state (key, length) with noise rows [A, V].

        Returns (tok, next key, next length); an ended or cut item restarts.
        """
        tok = (self.rows(key) / noise).argmax(1)  # (A,) multinomial's draw
        return tok, *self.advance(key, length, tok)

    def advance(
        self, key: torch.Tensor, length: torch.Tensor, tok: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The state after drawing `tok` in state (key, length); an ended or cut item restarts."""
        length = length + 1
        restart = (tok == 0) | (length >= self.max_len)
        rows = self.rows
        if rows.k == 1:  # order 2: the context is the token drawn ((key * V + tok) % V)
            key = tok
        elif rows.k:
            key = (key * rows.V + tok) % rows.space
        return torch.where(restart, self.start_key, key), torch.where(restart, 0, length)

    def walk(self, walk: _Walk, key0: int, len0: int, L: int = _SEGMENT) -> None:
        """Fill every row of `walk` (R a multiple of L, the rows per segment), row 0 in
        state (key0, len0). Any L gives the same record; fewer rows per segment mean
        fewer steps and more segments to repair (segment_rows)."""
        R, V = walk.noise.shape
        K = R // L
        # Row q = segment q // L, step q % L: column t of these views is step t.
        noise = walk.noise.view(K, L, V)
        key = torch.full((K,), self.start_key, dtype=torch.long)
        length = torch.zeros(K, dtype=torch.long)
        key[0], length[0] = key0, len0
        keys, lengths, toks = [], [], []  # (K,) per step, stacked once at the end
        # Speculation: every segment walked from the item-start state.
        for t in range(L):
            keys.append(key)
            lengths.append(length)
            tok, key, length = self.step(noise[:, t], key, length)
            toks.append(tok)
        torch.stack(keys, 1, out=walk.key.view(K, L))
        torch.stack(lengths, 1, out=walk.length.view(K, L))
        torch.stack(toks, 1, out=walk.tok.view(K, L))
        starts = torch.arange(0, R, L)
        self._repair(walk, starts, starts + L)

    def _repair(self, walk: _Walk, starts: torch.Tensor, ends: torch.Tensor) -> None:
        """Rewalk segments from their true start state until they join the record."""
        while True:
            # True state at each segment start: the transition out of the row before it.
            prev = starts[1:] - 1
            true_key, true_len = self.advance(walk.key[prev], walk.length[prev], walk.tok[prev])
            bad = (true_key != walk.key[starts[1:]]) | (true_len != walk.length[starts[1:]])
            seg = bad.nonzero().squeeze(1) + 1
            if len(seg) == 0:
                return
            key, length = true_key[seg - 1], true_len[seg - 1]
            row, stop = starts[seg], ends[seg]
            while len(row):
                walk.key[row], walk.length[row] = key, length
                tok, key, length = self.step(walk.noise[row], key, length)
                walk.tok[row] = tok
                row = row + 1
                # Joined: the record holds this very state at the next row.
                inside = row < stop
                nxt = torch.where(inside, row, 0)
                joined = inside & (walk.key[nxt] == key) & (walk.length[nxt] == length)
                go = (inside & ~joined).nonzero().squeeze(1)
                row, stop, key, length = row[go], stop[go], key[go], length[go]


def sample(
    model: NextTokenModel,
    n: int,
    *,
    seed: int,
    temperature: float = 1.0,
    prefix: str = "",
    max_len: int | None = None,
    top_k: int | None = None,
    top_p: float | None = None,
) -> list[str]:
    """Draw `n` items; the same seed gives the same items.

    prefix: the items start with it (its symbols are context, not draws), put
        under the model's normalization rule like any item; OOVError when it
        holds symbols outside the vocabulary.
    max_len: cut an item after this many drawn symbols (DEFAULT_MAX_LEN).
    top_k/top_p: draw each token among the k most probable / the nucleus of mass p.
    """
    if n < 0:
        raise NgramkitError(f"cannot draw {n} samples")
    stream = ItemStream(
        model,
        seed=seed,
        temperature=temperature,
        prefix=prefix,
        max_len=max_len,
        top_k=top_k,
        top_p=top_p,
    )
    return stream.take(n)


class ItemStream:
    """The items one seed draws, in order, block by block as they are asked for.

    take(a) then take(b) gives the same items as take(a + b): the noise rows
    are one sequence whatever the block sizes (see the module docstring).
    """

    def __init__(
        self,
        model: NextTokenModel,
        *,
        seed: int,
        temperature: float = 1.0,
        prefix: str = "",
        max_len: int | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
    ) -> None:
        vocab = model.require_fitted()
        if not 0 < temperature < math.inf:
            raise NgramkitError(f"temperature must be a finite number > 0, got {temperature:g}")
        max_len = DEFAULT_MAX_LEN if max_len is None else max_len
        if max_len < 1:
            raise OptionError.named(f"<max_len> must be >= 1, got {max_len}")
        check_truncation(top_k, top_p)
        unknown = vocab.unknown(prefix)
        if unknown and not vocab.unk:
            raise OOVError(f"prefix {prefix!r} has symbols outside the vocabulary: {unknown}")
        prefix = vocab.normalize(prefix)  # the samples start with what the model saw
        self.model, self.vocab, self.prefix, self.max_len = model, vocab, prefix, max_len
        self.shape = (temperature, top_k, top_p, vocab.unk_id)
        self.g = torch.Generator().manual_seed(seed)
        self.buffer: list[str] = []  # drawn, not yet taken
        self.found, self.drawn, self.mean_draws = 0, 0, 8.0
        self.tail = torch.zeros(0, dtype=torch.long)  # tokens of the unfinished item
        k = model.order - 1
        # Context keys would overflow int64: draw one token at a time instead.
        self.one_by_one = model.order > max_order(len(vocab))
        if self.one_by_one:
            return
        padded = [0] * k + vocab.encode(prefix)
        # base-V key of the item-start context (boundaries, then the prefix)
        start_key = int(gram_keys(torch.tensor([padded[len(padded) - k :]]).view(1, k), len(vocab)))
        self.sampler = _Sampler(_Rows(model, *self.shape[:3]), start_key, max_len)
        self.key0, self.len0 = start_key, 0

    def take(self, n: int) -> list[str]:
        """The next `n` items of the stream."""
        while len(self.buffer) < n:
            if self.one_by_one:
                self.buffer += _sample_one_by_one(self, n - len(self.buffer))
            else:
                self._block(n - len(self.buffer))
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def _block(self, want: int) -> None:
        """Walk one block of noise rows sized to end about `want` more items."""
        # A small first block measures the item length; the rest is sized from it,
        # so little noise is drawn beyond the last item asked for.
        want = min(want, 256) if self.found == 0 else want
        need = want * self.mean_draws * 1.03
        L = segment_rows(need)
        R = min(L * max(1, math.ceil(need / L)), _BLOCK_ROWS)  # bounded memory: the noise
        # is one sequence whatever the blocks
        empty = torch.zeros(R, dtype=torch.long)
        noise = torch.empty(R, len(self.vocab)).exponential_(1, generator=self.g)
        walk = _Walk(noise, empty.clone(), empty.clone(), empty.clone())
        sampler = self.sampler
        sampler.walk(walk, self.key0, self.len0, L)
        done = (walk.tok == 0) | (walk.length + 1 >= self.max_len)  # an item ends at this row
        tok = torch.cat([self.tail, walk.tok])
        ends = done.nonzero().squeeze(1) + 1 + len(self.tail)  # rows just past each item
        self.buffer += _decode(self.vocab, self.prefix, tok, ends)
        self.tail = tok[int(ends[-1]) :] if len(ends) else tok
        self.found += len(ends)
        self.drawn += R
        step = sampler.step(noise[-1:], walk.key[-1:], walk.length[-1:])
        self.key0, self.len0 = int(step[1]), int(step[2])
        self.mean_draws = self.drawn / max(self.found, 1)
        # Noise drawn beyond the last item taken is never used: the generator's
        # later state is not part of the contract.


def segment_rows(rows: float) -> int:
    """Rows per speculative segment of a block of about `rows` rows: _SEGMENT, half that
    for a small block. Fewer segments mean more steps, each over fewer rows; more mean
    more repairs. Measured on names (10,000 samples, 2 blocks): a [2304, 27] block
    walks in 4-5 ms at 32-64 rows a segment against 11 ms at 256; a [75264, 27] one
    in 14-15 ms at 64-128 against 22 ms (order 2), 39 against 49 ms (order 5, 128)."""
    return _SEGMENT // 2 if rows <= _SMALL_BLOCK else _SEGMENT


def _decode(vocab: Vocabulary, prefix: str, tok: torch.Tensor, ends: torch.Tensor) -> list[str]:
    """Items from the drawn tokens: item i is tok[ends[i-1]:ends[i]], zeros dropped."""
    if len(ends) == 0:
        return []
    tok = tok[: int(ends[-1])]
    lines = _char_lines(vocab, tok, ends)
    if lines is not None:
        return lines if not prefix else [prefix + s for s in lines]
    symbol_rows = tok != 0
    # Symbols before each item end: slices of the list of drawn symbols.
    bounds = [0, *torch.cumsum(symbol_rows, 0)[ends - 1].tolist()]
    names = vocab.symbols
    drawn = [names[t - 1] for t in tok[symbol_rows].tolist()]
    head = vocab.split(prefix)
    if vocab.kind == "char":
        text = "".join(drawn)
        return [prefix + text[a:b] for a, b in itertools.pairwise(bounds)]
    return [vocab.join([*head, *drawn[a:b]]) for a, b in itertools.pairwise(bounds)]


def _char_lines(vocab: Vocabulary, tok: torch.Tensor, ends: torch.Tensor) -> list[str] | None:
    """_decode's items without the prefix, for a char model whose symbols are single
    characters other than a newline and items that all end with the boundary (none cut):
    the tokens through a code-point table, boundary -> newline, decoded once and split.
    None otherwise (then _decode slices symbol by symbol)."""
    lut = _code_points(vocab)
    if lut is None or not bool((tok[ends - 1] == 0).all()):
        return None
    buf = bytearray(4 * len(tok))
    torch.index_select(lut, 0, tok, out=torch.frombuffer(buf, dtype=torch.int32))
    return buf.decode("utf-32-le")[:-1].split("\n")


def _code_points(vocab: Vocabulary) -> torch.Tensor | None:
    """int32 [V]: the code point of each token's symbol, the boundary's a newline; None
    unless the model is a char model whose symbols are single characters but "\n"."""
    symbols = vocab.symbols
    if vocab.kind != "char" or "\n" in symbols or any(len(s) != 1 for s in symbols):
        return None
    return torch.tensor([ord("\n"), *map(ord, symbols)], dtype=torch.int32)


def _sample_one_by_one(stream: ItemStream, n: int) -> list[str]:
    """DESIGN.md's procedure literally, one multinomial per token (any vocabulary size)."""
    model, vocab, g = stream.model, stream.vocab, stream.g
    head = vocab.encode(stream.prefix)
    k = model.order - 1
    out = []
    for _ in range(n):
        drawn: list[int] = []
        while len(drawn) < stream.max_len:
            ids = [0] * k + head + drawn
            ctx = torch.tensor([ids[len(ids) - k :] if k else []], dtype=torch.long)
            p = _probs(model.next_logprobs(ctx), *stream.shape)[0]  # (V,) float32
            ix = int(torch.multinomial(p, 1, replacement=True, generator=g))
            if ix == 0:
                break
            drawn.append(ix)
        out.append(vocab.decode(head + drawn))
    return out
