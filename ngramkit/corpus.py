"""A tokenized corpus and its n-gram windows.

A `Corpus` is a list of items encoded with one `Vocabulary`. Every item of
length L yields L+1 windows of `order` tokens: the item is padded with
order-1 boundaries in front and one at the end, and each window is
(context..., next). At order 2, "ab" gives (.,a) (a,b) (b,.).

Items with symbols outside the vocabulary are marked OOV and yield no windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .tokenizer import Vocabulary

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Corpus:
    """Encoded items.

    items: the items as given.
    ids: flat LongTensor of symbol ids of the in-vocabulary items, in order.
    lengths: LongTensor [N], symbols per item (0 for OOV items).
    oov: BoolTensor [N], True where an item has an unknown symbol.
    """

    vocab: Vocabulary
    items: Sequence[str]
    ids: torch.Tensor
    lengths: torch.Tensor
    oov: torch.Tensor

    @classmethod
    def from_items(
        cls, items: Sequence[str], vocab: Vocabulary | None = None, kind: str = "char"
    ) -> Corpus:
        """Encode `items`; with no vocabulary, build one from them (kind "char" or "word")."""
        items = list(items)
        vocab = vocab if vocab is not None else Vocabulary.build(items, kind)
        ids, lengths, oov = vocab.encode_batch(items)
        return cls(vocab, items, ids, lengths, oov)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def n_tokens(self) -> int:
        """Predicted tokens of the in-vocabulary items: sum of (L + 1)."""
        return int(self.lengths.sum()) + int((~self.oov).sum())

    def windows(self, order: int) -> tuple[torch.Tensor, torch.Tensor]:
        """All n-gram windows: (grams [T, order] LongTensor, item index [T]).

        grams[:, :-1] are contexts, grams[:, -1] the predicted tokens.
        """
        keep = ~self.oov
        rows, item_of_row = ngram_windows(self.ids, self.lengths[keep], order)
        return rows, keep.nonzero().squeeze(1)[item_of_row]


def ngram_windows(
    ids: torch.Tensor, lengths: torch.Tensor, order: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows of `order` tokens over items padded with boundaries (id 0).

    ids: flat symbol ids [S]; lengths: [N] with sum == S. Returns
    (grams [T, order], item [T]) with T = S + N. Fully vectorized: each item
    becomes a block of (order-1) zeros, its ids and one zero, and the windows
    starting at each block's first L+1 positions are the item's n-grams.
    """
    import torch

    n = order
    count = len(lengths)
    span = lengths + n  # (n-1) pad + L symbols + 1 end boundary
    block = torch.cumsum(span, 0) - span  # start of each item's block
    padded = torch.zeros(int(span.sum()), dtype=torch.long)
    item_of_sym = torch.repeat_interleave(torch.arange(count), lengths)
    first_sym = torch.cumsum(lengths, 0) - lengths
    j = torch.arange(len(ids)) - first_sym[item_of_sym]
    padded[block[item_of_sym] + (n - 1) + j] = ids
    rows_per_item = lengths + 1
    item_of_row = torch.repeat_interleave(torch.arange(count), rows_per_item)
    first_row = torch.cumsum(rows_per_item, 0) - rows_per_item
    jr = torch.arange(int(rows_per_item.sum())) - first_row[item_of_row]
    if len(padded) < n:
        return torch.zeros(0, n, dtype=torch.long), item_of_row
    grams = padded.unfold(0, n, 1)[block[item_of_row] + jr]
    return grams, item_of_row
