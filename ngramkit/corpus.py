"""A tokenized corpus and its n-gram windows.

A `Corpus` is a list of items encoded with one `Vocabulary`, held as the
lecture's bigram stream: every in-vocabulary item's symbol ids, each item
preceded and followed by the boundary 0, with one shared 0 between items:

    ["emma", "ava"] -> . e m m a . a v a .   (ids 0 5 13 13 1 0 1 22 1 0)

Every position after the first is one predicted token, so the stream holds
exactly sum(L+1) targets. At order n each item needs n-1 boundaries of
context in front; `windows` repeats every 0 of the stream n-1 times and cuts
one window per target: (context..., next). At order 2, "ab" gives (.,a)
(a,b) (b,.).

Items with symbols outside the vocabulary are marked OOV and left out of the
stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from .tokenizer import Vocabulary

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Corpus:
    """Encoded items.

    items: the items as given.
    stream: LongTensor [S + K + 1]: the K in-vocabulary items' S symbol ids,
        each item closed by a boundary 0, after one opening 0.
    oov: BoolTensor [N], True where an item has an unknown symbol.
    """

    vocab: Vocabulary
    items: Sequence[str]
    stream: torch.Tensor
    oov: torch.Tensor

    @classmethod
    def from_items(
        cls, items: Sequence[str], vocab: Vocabulary | None = None, kind: str = "char"
    ) -> Corpus:
        """Encode `items`; with no vocabulary, build one from them (kind "char" or "word")."""
        items = list(items)
        vocab = vocab if vocab is not None else Vocabulary.build(items, kind)
        stream, oov = vocab.encode_stream(items)
        return cls(vocab, items, stream, oov)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def n_tokens(self) -> int:
        """Predicted tokens of the in-vocabulary items: sum of (L + 1)."""
        return len(self.stream) - 1

    @cached_property
    def kept(self) -> torch.Tensor:
        """Indices of the in-vocabulary items (those in the stream), [K]."""
        return (~self.oov).nonzero().squeeze(1)

    @cached_property
    def lengths(self) -> torch.Tensor:
        """Symbols per item, LongTensor [N] (0 for OOV items)."""
        import torch

        ends = (self.stream == 0).nonzero().squeeze(1)  # (K+1,)
        out = torch.zeros(len(self.items), dtype=torch.long)
        out[self.kept] = ends[1:] - ends[:-1] - 1
        return out

    @property
    def ids(self) -> torch.Tensor:
        """Flat symbol ids of the in-vocabulary items, in order."""
        return self.stream[self.stream != 0]

    def grams(self, order: int) -> torch.Tensor:
        """All n-gram windows, LongTensor [T, order]: (context..., next), T = n_tokens."""
        return stream_grams(self.stream, order)

    def target_items(self) -> torch.Tensor:
        """Index into `items` of the item each window belongs to, LongTensor [T]."""
        import torch

        # Stream position p >= 1 belongs to the item opened by the last boundary before it.
        return self.kept[torch.cumsum(self.stream == 0, 0)[:-1] - 1]

    def windows(self, order: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(grams(order), target_items()): the windows and the item of each."""
        return self.grams(order), self.target_items()


def stream_grams(stream: torch.Tensor, order: int) -> torch.Tensor:
    """The n-gram windows [T, order] of a bigram stream (see the module docstring).

    Every 0 of the stream is repeated order-1 times, so that each item starts
    after order-1 boundaries, and one window is cut per target position.
    """
    import torch

    if len(stream) < 2:  # no item: no windows
        return torch.zeros(0, order, dtype=torch.long)
    if order == 1:
        return stream[1:].unsqueeze(1)
    if order == 2:
        return stream.unfold(0, 2, 1)  # a view: the stream is the bigram list
    repeats = torch.where(stream == 0, order - 1, 1)
    padded = torch.repeat_interleave(stream, repeats)
    first = torch.cumsum(repeats, 0) - repeats  # where each stream position lands
    return padded.unfold(0, order, 1)[first[1:] - (order - 1)]


def stream_context_keys(stream: torch.Tensor, order: int, vocab_size: int) -> torch.Tensor:
    """Base-V keys of the contexts of `stream_grams(stream, order)`, [T] int64.

    The same as gram_keys(grams[:, :-1]), without building the windows: the
    context's key over the plain stream, cut to the digits after the item's
    opening boundary (its leading boundaries are zero digits of the key).
    """
    import torch

    if len(stream) < 2 or order == 1:
        return torch.zeros(max(len(stream) - 1, 0), dtype=torch.long)
    n, T = order - 1, len(stream) - 1
    padded = torch.cat([stream.new_zeros(n - 1), stream])  # lags past the start read 0
    key = padded[:T].clone()  # lag n (oldest) first
    for i in range(n - 1, 0, -1):
        key.mul_(vocab_size).add_(padded[n - i : n - i + T])  # Horner, down to lag 1
    place = vocab_size ** torch.arange(n + 1)  # (n+1,) V^0 .. V^n; keys are < V^n
    since = _since_boundary(stream).clamp_(max=n)  # (T,) digits of this item in the key
    return key.remainder_(place[since])  # a context reaching into the item before is cut


def _since_boundary(stream: torch.Tensor) -> torch.Tensor:
    """For each target position p >= 1, p minus the last boundary before it: [T] >= 1."""
    import torch

    pos = torch.arange(len(stream))
    last = torch.where(stream == 0, pos, 0).cummax(0).values  # (S,) last boundary at or before
    return pos[1:].sub_(last[:-1])
