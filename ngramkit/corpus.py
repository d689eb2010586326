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

Items are first put under the vocabulary's normalization rule (normalize.py),
and the corpus holds them so. Items with symbols outside the vocabulary are
then marked OOV and left out of the stream, unless the vocabulary has the
unknown token (tokenizer.py): then every unseen symbol is that token and no
item is OOV.

A weighted corpus (a list of `item<TAB>count`) gives each item a weight, a
whole number >= 1: it stands for the list with each item repeated `weight`
times, without repeating it. Counting (counts.py) adds each window `weight`
times, so every backend that learns from counts learns exactly the model of
the repeated list; `expanded()` repeats the items for what needs them one by one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import TYPE_CHECKING

from .errors import NgramkitError
from .normalize import DEFAULT, Normalization
from .tokenizer import Vocabulary

if TYPE_CHECKING:
    import torch

ENCODE_CHUNK = 2**20  # characters encoded at once: bounds the encoder's temporaries (~50 MiB)
LAZY_MIN_ITEMS = 2**16  # corpora of more items may be encoded a chunk at a time (see Corpus)
FOLD_SHARE = 0.8  # a large corpus whose distinct items are at most this share is counted folded


@dataclass(frozen=True)
class Corpus:
    """Encoded items.

    items: the items under the vocabulary's normalization rule.
    normalized: how many of the items as given the rule changed.
    changes: from a corpus that built its vocabulary, the items each part of
        the rule changed: {"form": n, "case": n, "accents": n}.
    stream: LongTensor [S + K + 1]: the K in-vocabulary items' S symbol ids,
        each item closed by a boundary 0, after one opening 0.
    oov: BoolTensor [N], True where an item has an unknown symbol.

    The stream is encoded on first use. A large corpus answers `oov` and
    `n_tokens` from a pass that encodes one chunk at a time, and
    `stream_chunks` (what counting reads) encodes chunk by chunk too, so
    counting never holds the whole stream (8 bytes a symbol).
    """

    vocab: Vocabulary
    items: Sequence[str]
    weights: Sequence[int] | None = None  # each item's weight (>= 1), or None: 1 each
    normalized: int = 0
    changes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_items(
        cls,
        items: Sequence[str],
        vocab: Vocabulary | None = None,
        kind: str = "char",
        weights: Sequence[int] | None = None,
        *,
        unk: bool = False,
        min_count: int = 1,
        normalization: Normalization = DEFAULT,
    ) -> Corpus:
        """Normalize and encode `items` (each weighing its weight) under `vocab`; with no
        vocabulary, build one from them (kind "char" or "word"; `unk` and `min_count`
        as Vocabulary.build takes them; normalization: the rule, "auto" parts
        resolved from these items, see normalize.py).

        A bare string is refused: list("emma") would silently be four items.
        """
        if isinstance(items, (str, bytes)):
            shown = repr(items if len(items) <= 20 else items[:20] + "...")
            raise NgramkitError(f"items must be a list of strings, not a string: pass [{shown}]")
        items = list(items)
        if weights is not None and len(weights) != len(items):
            raise NgramkitError(f"{len(weights)} weights for {len(items)} items")
        if vocab is not None:
            normed, changed = vocab.normalize_all(items)
            return cls(vocab, normed, weights, normalized=changed)
        given = items
        items, changes = normalization.counted(given)
        changed = sum(a != b for a, b in zip(given, items)) if any(changes.values()) else 0
        vocab = Vocabulary.build(
            items, kind, unk=unk, min_count=min_count, normalization=normalization, normalized=True
        )
        corpus = cls(vocab, items, weights, normalized=changed, changes=changes)
        if corpus._large:
            # The vocabulary holds every symbol of these items (or the unknown token
            # stands for the rare ones): no item is OOV, and the token count is
            # known without the encoding pass `_scan` makes.
            import torch

            symbols = _bound(items) - 1 if kind == "char" else _word_tokens(items)
            corpus.__dict__["_scan"] = (torch.zeros(len(items), dtype=torch.bool), symbols)
        return corpus

    @cached_property
    def stream(self) -> torch.Tensor:
        if self._large:
            stream, oov = encode(self.vocab, self.items)
        else:
            stream, oov = self.vocab.encode_stream(self.items, normalized=True)
        self.__dict__.setdefault("oov", oov)  # as cached_property stores (the class is frozen)
        return stream

    @cached_property
    def oov(self) -> torch.Tensor:
        if self._lazy:
            return self._scan[0]
        _ = self.stream  # encodes, storing oov alongside
        return self.__dict__["oov"]

    @cached_property
    def _large(self) -> bool:
        """Many items, and more symbols than two encoding chunks hold (bounded by the
        characters). The item count goes first: the evaluator's batches of up to
        2^16 items skip the sum over their lengths."""
        return len(self.items) > LAZY_MIN_ITEMS and _bound(self.items) > 2 * ENCODE_CHUNK

    @property
    def _lazy(self) -> bool:
        """Large and not encoded yet: answer from chunk passes."""
        return "stream" not in self.__dict__ and self._large

    @cached_property
    def _scan(self) -> tuple[torch.Tensor, int]:
        """(oov [N], n_tokens) from encoding one chunk at a time, keeping neither stream."""
        import torch

        oov, tokens = [], 0
        for part, bad in _encoded_chunks(self.vocab, self.items, ENCODE_CHUNK):
            oov.append(bad)
            tokens += len(part)
        return torch.cat(oov), tokens

    def stream_chunks(self, chunk_tokens: int) -> Iterator[torch.Tensor]:
        """The stream in pieces of about `chunk_tokens` tokens, each a bigram stream of
        whole items (a 0 first, a 0 after each item); at least one piece."""
        for piece in self.stream_pieces(chunk_tokens):
            yield piece()

    def stream_pieces(self, chunk_tokens: int) -> Iterator[Callable[[], torch.Tensor]]:
        """stream_chunks as calls, each giving its piece when made: a large corpus's
        pieces are encoded by the call, so counting may make them on other threads."""
        if not self._lazy:
            for piece in _cut(self.stream, chunk_tokens):
                yield partial(_same, piece)
            return
        for start, stop in item_runs(self.items, chunk_tokens):
            yield partial(_encode_run, self.vocab, self.items, start, stop)

    def weighted_pieces(
        self, chunk_tokens: int
    ) -> Iterator[Callable[[], tuple[torch.Tensor, torch.Tensor]]]:
        """stream_pieces with weights: calls giving (piece [P+1], weights [P]), the weight
        of the item each predicted token of the piece belongs to (LongTensor)."""
        if not self._lazy:
            kept = self.item_weights[self.kept]  # (K,) weights of the items in the stream
            done = 0  # items of the earlier pieces
            for piece in _cut(self.stream, chunk_tokens):
                closed = int((piece[1:] == 0).sum())  # items this piece holds
                yield partial(_spread, piece, kept[done : done + closed])
                done += closed
            return
        for start, stop in item_runs(self.items, chunk_tokens):
            yield partial(_encode_weighted, self.vocab, self.items, self.item_weights, start, stop)

    @cached_property
    def item_counts(self) -> dict[str, int]:
        """Each distinct item and how often it occurs (its weights summed in a weighted
        corpus), in the order each first came: {"ab": 2, "b": 1} for ["ab", "b", "ab"]."""
        if self.weights is None:
            return Counter(self.items)  # counted in C: 0.15 s for 10^6 items
        out: dict[str, int] = {}
        for item, w in zip(self.items, self.weights):
            out[item] = out.get(item, 0) + w
        return out

    def folded(self) -> Corpus | None:
        """This unweighted corpus as the weighted one of its distinct items, each weighing
        how often it occurs (first-seen order); None when it is weighted, not large, or
        its distinct items are more than FOLD_SHARE of its items.

        Counting it gives the same table, integer sum for integer sum, while each
        repeated item is encoded and counted once: a list with many repeats (a
        password dump, source lines) counts in the time of its distinct items.
        """
        if self.weights is not None or not self._large:
            return None
        counts = self.item_counts
        if len(counts) > FOLD_SHARE * len(self.items):
            return None
        return Corpus(self.vocab, list(counts), list(counts.values()))

    def __len__(self) -> int:
        return len(self.items)

    @cached_property
    def item_weights(self) -> torch.Tensor:
        """Each item's weight, LongTensor [N] (ones when the corpus is not weighted)."""
        import torch

        if self.weights is None:
            return torch.ones(len(self.items), dtype=torch.long)
        return torch.as_tensor(self.weights, dtype=torch.long)

    @property
    def weighted_tokens(self) -> int:
        """Predicted tokens of the in-vocabulary items, each item counted `weight` times."""
        if self.weights is None:
            return self.n_tokens
        return int(((self.lengths + 1) * self.item_weights)[self.kept].sum())

    def kept_weight(self) -> int:
        """Total weight of the in-vocabulary items (their number, unweighted)."""
        if self.weights is None:
            return len(self.kept)
        return int(self.item_weights[self.kept].sum())

    def expanded(self) -> Corpus:
        """The corpus with each item repeated `weight` times, in order, unweighted."""
        if self.weights is None:
            return self
        items = [item for item, w in zip(self.items, self.weights) for _ in range(w)]
        return Corpus(self.vocab, items)

    @property
    def n_tokens(self) -> int:
        """Predicted tokens of the in-vocabulary items: sum of (L + 1)."""
        return self._scan[1] if self._lazy else len(self.stream) - 1

    @cached_property
    def kept(self) -> torch.Tensor:
        """Indices of the in-vocabulary items (those in the stream), [K]."""
        return (~self.oov).nonzero().squeeze(1)

    @cached_property
    def lengths(self) -> torch.Tensor:
        """Symbols per item, LongTensor [N] (0 for OOV items)."""
        import torch

        out = torch.zeros(len(self.items), dtype=torch.long)
        out[self.kept] = self._spans - 1
        return out

    @cached_property
    def _spans(self) -> torch.Tensor:
        """Tokens each in-vocabulary item predicts (L + 1), LongTensor [K], stream order."""
        ends = (self.stream == 0).nonzero().squeeze(1)  # (K+1,)
        return ends[1:] - ends[:-1]

    def unk_tokens(self) -> torch.Tensor:
        """Tokens of each item encoded as the unknown token, LongTensor [N] (all 0 in a
        closed vocabulary)."""
        import torch

        unk = self.vocab.unk_id
        if unk is None or not self.n_tokens:
            return torch.zeros(len(self.items), dtype=torch.long)
        hit = (self.stream[1:] == unk).long()  # (T,) per predicted token
        return torch.zeros(len(self.items), dtype=torch.long).index_add_(
            0, self.target_items(), hit
        )

    @property
    def ids(self) -> torch.Tensor:
        """Flat symbol ids of the in-vocabulary items, in order."""
        return self.stream[self.stream != 0]

    def grams(self, order: int) -> torch.Tensor:
        """All n-gram windows, LongTensor [T, order]: (context..., next), T = n_tokens."""
        return stream_grams(self.stream, order)

    def target_items(self) -> torch.Tensor:
        """Index into `items` of the item each window belongs to, LongTensor [T]."""
        # Stream positions p >= 1 after a boundary, up to the next, are its item's tokens.
        return self.kept.repeat_interleave(self._spans)

    def windows(self, order: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(grams(order), target_items()): the windows and the item of each."""
        return self.grams(order), self.target_items()


def encode(
    vocab: Vocabulary, items: Sequence[str], chunk: int = ENCODE_CHUNK
) -> tuple[torch.Tensor, torch.Tensor]:
    """vocab.encode_stream of normalized items, about `chunk` characters at a time, as one stream.

    The encoder's temporaries (UTF-32 text, code points, lookups) are several
    times the stream's size; chunking keeps them small for a large corpus.
    The stream is written into one buffer of sum(len) + N + 1 ids (no item
    has more symbols than characters), trimmed when OOV items left room.
    """
    import torch

    bound = _bound(items)
    if bound <= 2 * chunk:
        return vocab.encode_stream(items, normalized=True)
    out = torch.empty(bound, dtype=torch.long)
    out[0] = 0
    used, oov = 1, []
    for part, bad in _encoded_chunks(vocab, items, chunk):
        out[used : used + len(part)] = part
        used += len(part)
        oov.append(bad)
    return (out if used == bound else out[:used].clone()), torch.cat(oov)


def _bound(items: Sequence[str]) -> int:
    """A bound on the stream's length: sum(len) + N + 1 (a symbol is at least a character)."""
    return sum(map(len, items)) + len(items) + 1


def _word_tokens(items: Sequence[str]) -> int:
    """Predicted tokens of word-tokenized items: words plus one boundary each."""
    return sum(len(item.split()) for item in items) + len(items)


def item_runs(items: Sequence[str], chunk: int) -> Iterator[tuple[int, int]]:
    """[start, stop) of consecutive runs of items holding about `chunk` symbols and
    boundaries (a run ends once it reaches `chunk`); at least one run."""
    import torch

    # (N,) running sizes, summed in C and kept as a tensor: a loop over a large corpus's
    # items costs more, and a list of them holds a Python int (36 bytes) an item
    ends = (torch.tensor(list(map(len, items)), dtype=torch.long) + 1).cumsum(0)
    start, before = 0, 0  # first item of the run, and the size of the items before it
    while start < len(items):
        # the first end reaching before + chunk (ends before `start` are <= before)
        stop = min(int(torch.searchsorted(ends, before + chunk)) + 1, len(items))
        yield start, stop
        start, before = stop, int(ends[stop - 1])
    if not items:
        yield 0, 0


def _encoded_chunks(
    vocab: Vocabulary, items: Sequence[str], chunk: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(stream without its opening 0, oov) of consecutive runs of about `chunk` characters."""
    for start, stop in item_runs(items, chunk):
        part, bad = vocab.encode_stream(items[start:stop], normalized=True)  # a 0 first
        yield part[1:], bad


def _encode_run(vocab: Vocabulary, items: Sequence[str], start: int, stop: int) -> torch.Tensor:
    """The bigram stream of items[start:stop] (a 0 first; OOV items left out)."""
    return vocab.encode_stream(items[start:stop], normalized=True)[0]


def _same(piece: torch.Tensor) -> torch.Tensor:
    return piece


def _spread(piece: torch.Tensor, item_weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(piece [P+1], weights [P]): each predicted token weighs its item's weight
    (item_weights [items the piece closes]); the item of a token is the number of
    item ends before it."""
    import torch

    ends = piece[1:] == 0  # (P,) tokens that close an item
    return piece, item_weights[torch.cumsum(ends, 0).sub_(ends.long())]


def _encode_weighted(
    vocab: Vocabulary,
    items: Sequence[str],
    weights: torch.Tensor,
    start: int,
    stop: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """_encode_run of items[start:stop] with the weight of each predicted token
    (weights [N]: every item's; OOV items are left out with their weights)."""
    stream, oov = vocab.encode_stream(items[start:stop], normalized=True)
    return _spread(stream, weights[start:stop][~oov])


def _cut(stream: torch.Tensor, chunk_tokens: int) -> Iterator[torch.Tensor]:
    """Pieces of a stream cut at boundaries, about `chunk_tokens` tokens each (views)."""
    import torch

    bounds = (stream == 0).nonzero().squeeze(1)  # (K+1,) boundary positions
    first = 0  # index into bounds of the piece's opening boundary
    while True:
        stop = int(torch.searchsorted(bounds, bounds[first] + chunk_tokens, right=True)) - 1
        stop = min(max(stop, first + 1), len(bounds) - 1)
        yield stream[int(bounds[first]) : int(bounds[stop]) + 1]
        first = stop
        if first >= len(bounds) - 1:
            return


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
