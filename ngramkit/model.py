"""The contract every backend implements: `LanguageModel`.

A backend subclasses `LanguageModel`, declares its hyperparameters in
`options`, and implements four things:

- `_fit(corpus, progress)`: learn from a tokenized `Corpus` (the public `fit`
  wraps it: it accepts plain strings, records the vocabulary and returns self);
- `next_logprobs(contexts)`: LongTensor [B, order-1] in, FloatTensor [B, V]
  of natural-log next-token probabilities out, every row a distribution;
- `state()` and `from_state(config, tensors)`: a JSON-able config plus named
  tensors, enough to rebuild the model with no data and no code from a file.

Everything derived (per-token scores, `logprob`, sampling) is written once
here, on top of `next_logprobs`, so backends cannot disagree. A backend may
override `token_logprobs` for speed, but must give the same numbers.

Optional hooks, public and looked up by name (a backend without them works
everywhere else; docs/plugins.md section 5 has their contract and an example):

- `fit_counts(counts, vocab) -> self`: learn from an `NgramCounts` table alone
  (several files, --workers, --shards, --dask, --from-counts);
- `top_counts() -> (keys [M], counts [M]) | None`: the top-order n-grams
  counted, sorted base-V keys (`show`: the lecture's count matrix);
- `backoff_tables() -> BackoffTables`: the model as an ARPA file holds it
  (`export`).

Units: natural logs (nats). An item of length L predicts L+1 tokens (each
symbol, then the end boundary); the start boundary is context only.

Open vocabulary: a corpus whose vocabulary has the unknown token (`--unk`,
tokenizer.py) gives the backend one more token, the last id, like any other:
its rows cover it and still sum to one, and at scoring time every unseen
symbol is that token, so every item gets a finite score. A backend that
cannot model it sets `supports_unk = False` (fit then refuses `--unk`).
Text enters through the vocabulary, which puts it under the model's
normalization rule first (normalize.py). OOV, one rule per kind of call:
calls that return numbers for one item (`logprob`, `token_scores`, `windows_of`,
`next_tokens`, `sample`'s prefix) raise OOVError naming the unknown symbols;
calls that return result objects for lists (evaluate.py's `score_batch`,
`corpus_metrics`, `breakdown`) mark OOV items and never raise.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from .corpus import Corpus
from .errors import ModelFileError, NgramkitError, NotFittedError, OOVError
from .options import LECTURE_SEED, ORDER, Option, check_stored, resolve
from .tokenizer import Vocabulary

if TYPE_CHECKING:
    import torch
    from typing_extensions import Self

    from .constraints import Constraints
    from .results import Metrics

Progress = Callable[..., None]
"""progress(done, total, **info): called by long fits (info may hold `loss`)."""

SEEN_LIMIT = 2_000_000
"""Most distinct training items remembered for the "seen in training" marks."""


class FirstSeen(AbstractSet[str]):
    """Distinct items in the order each first came: a read-only set that model files
    store in that order, so saving one needs no sort (a plain set is sorted)."""

    ordered: ClassVar[bool] = True

    def __init__(self, items: Iterable[str] = ()) -> None:
        # a dict's keys are distinct and in first-seen order already: shared, not copied
        self._items: dict[str, object] = items if isinstance(items, dict) else dict.fromkeys(items)

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"FirstSeen({len(self._items):,} items)"

    def contains(self) -> Callable[[object], bool]:
        """The membership test of the dict underneath: `in` at C speed (see `marks`)."""
        return self._items.__contains__


def marks(seen: AbstractSet[str], items: Iterable[str]) -> list[bool]:
    """[item in seen for item in items], the set's own lookup mapped in C: a Python
    __contains__ an item (FirstSeen, persist.SeenItems) cost 0.3 us, a fifth of
    scoring a name at order 6."""
    contains = getattr(seen, "contains", None)
    test = contains() if contains is not None else seen.__contains__
    return list(map(test, items))


@dataclass(frozen=True)
class TrainingInfo:
    """What a model knows of its training data (kept in the model file).

    items/tokens: training items and predicted tokens (sum of L+1), each item
        counted `weight` times in a weighted list.
    fingerprint: sha256 of the items (data.fingerprint), and of their weights.
    seen: the distinct training items, or None past SEEN_LIMIT.
    """

    items: int
    tokens: int
    fingerprint: str | None  # None: not known (counted in shards, in any order)
    seen: AbstractSet[str] | None  # FirstSeen, a frozenset, or persist.SeenItems (decoded on use)


class LanguageModel(abc.ABC):
    """Base class of every backend. Constructor arguments are hyperparameters."""

    name: ClassVar[str] = ""
    """Registry name (the entry-point name), e.g. "count"."""
    description: ClassVar[str] = ""
    """One line for `ngramkit backends`."""
    options: ClassVar[tuple[Option, ...]] = (ORDER,)
    """Declared hyperparameters; extend with `LanguageModel.options + (...)`."""
    supports_unk: ClassVar[bool] = True
    """Whether the backend can be fitted with the unknown token (`--unk`): it is one
    more vocabulary entry, so most can; one that cannot says False here."""
    unk_min_count: ClassVar[int] = 1
    """`--min-count` under `--unk` when none is given: 2 for a backend that learns the
    unknown token only from data (the symbols seen once become it); 1 for one that
    estimates its probability (the count backend)."""
    weighted_fit: ClassVar[bool] = False
    """True when `_fit` honours a weighted corpus's weights (by learning from its
    counts, counts.py); otherwise `fit` gives it the corpus with each item repeated."""

    def __init__(self, **hparams: Any) -> None:
        self.hparams: dict[str, Any] = resolve(
            self.options, hparams, self.name or type(self).__name__
        )
        self.vocab: Vocabulary | None = None
        self.training: TrainingInfo | None = None

    @property
    def order(self) -> int:
        return int(self.hparams["order"])

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hparams.items())
        return f"{type(self).__name__}({args})"

    # -- learning ----------------------------------------------------------

    def fit(self, data: Corpus | Sequence[str], *, progress: Progress | None = None) -> Self:
        """Learn from a `Corpus` (or plain items, char-tokenized); returns self.

        Starts from scratch every time, as scikit-learn's estimators do.
        """
        from .data import fingerprint

        corpus = data if isinstance(data, Corpus) else Corpus.from_items(data)
        if len(corpus) == 0 or bool(corpus.oov.all()):
            raise NgramkitError("cannot fit on an empty corpus")
        if len(corpus.vocab) < 2:
            raise NgramkitError("cannot fit: the items hold no symbols (every item is empty)")
        self.vocab = corpus.vocab
        items, weights = corpus.items, corpus.weights
        if bool(corpus.oov.any()):
            keep = (~corpus.oov).tolist()
            items = [s for s, ok in zip(items, keep) if ok]
            weights = None if weights is None else [w for w, ok in zip(weights, keep) if ok]
        # every item kept, unweighted: the distinct items counting folds by (Corpus.folded)
        whole = items is corpus.items and weights is None
        distinct = FirstSeen(corpus.item_counts if whole else items)
        self.training = TrainingInfo(
            items=corpus.kept_weight(),
            tokens=corpus.weighted_tokens,
            fingerprint=fingerprint(items, weights),
            seen=distinct if len(distinct) <= SEEN_LIMIT else None,
        )
        if corpus.weights is not None and not self.weighted_fit:
            corpus = corpus.expanded()  # a backend that learns item by item sees the copies
        self._fit(corpus, progress)
        return self

    @abc.abstractmethod
    def _fit(self, corpus: Corpus, progress: Progress | None) -> None:
        """Learn the backend's state from `corpus` (vocab is already set)."""

    # -- the one method scores derive from ----------------------------------

    @abc.abstractmethod
    def next_logprobs(self, contexts: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of the next token.

        contexts: LongTensor [B, order-1] of token ids (0 = boundary).
        returns: FloatTensor [B, V], natural logs, each row logsumexp == 0.
        """

    def token_logprobs(self, contexts: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Log-probability of each given next token: [B, order-1], [B] -> [B]."""
        rows = self.next_logprobs(contexts)  # (B, V)
        return rows.gather(1, targets.unsqueeze(1)).squeeze(1)

    def corpus_logprobs(self, corpus: Corpus) -> torch.Tensor:
        """log p of every predicted token of `corpus`, in stream order: [n_tokens].

        The evaluator's batch path: token_logprobs over corpus.grams(order). A
        backend may override it for speed but must give the same numbers.
        """
        grams = corpus.grams(self.order)  # (T, order)
        return self.token_logprobs(grams[:, :-1], grams[:, -1])

    def logprob(self, item: str) -> float:
        """Total log-probability (nats) of one item, boundaries included.

        logprob("ab") = log p(a|.) + log p(b|a) + log p(.|b) at order 2.
        Raises OOVError if the item holds symbols outside a closed vocabulary.
        """
        import torch

        grams = self.windows_of(item)
        lp = self.token_logprobs(grams[:, :-1], grams[:, -1])
        return float(lp.to(torch.float64).sum())

    def token_scores(self, item: str) -> list[float]:
        """log p (nats) of each predicted token of one item: its L symbols, then the end
        boundary, [L+1] floats, as token_logprobs gives them. OOVError as `logprob`.

        A backend may answer one item faster (the count backend reads its rows in
        plain Python) but must give the same floats."""
        import torch

        grams = self.windows_of(item)
        return self.token_logprobs(grams[:, :-1], grams[:, -1]).to(torch.float64).tolist()

    def windows_of(self, item: str) -> torch.Tensor:
        """The item's n-gram windows [L+1, order] (context..., next); OOVError if unknown."""
        self._ids(item)
        return Corpus.from_items([item], self.require_fitted()).grams(self.order)

    def _ids(self, item: str) -> list[int]:
        """The symbol ids of `item` once normalized; OOVError naming any unknown symbols."""
        vocab = self.require_fitted()
        try:
            return vocab.encode(item)  # a closed vocabulary's KeyError: an unknown symbol
        except KeyError:
            unknown = vocab.unknown(item)
            raise OOVError(
                f"{item!r} has symbols outside the vocabulary: {' '.join(unknown)}"
            ) from None

    def next_tokens(self, prefix: str = "", k: int | None = None) -> list[tuple[str, float]]:
        """The distribution of the token after an item's beginning `prefix`.

        Returns (token, probability) pairs, most probable first (ties by id),
        every token of the vocabulary or the `k` most probable; the end
        boundary appears as the vocabulary's marker ("."). The prefix is
        normalized like any item; OOVError if it holds unknown symbols.
        next_tokens("") under the names bigram starts [("a", 0.138), ("k", 0.093), ...].
        """
        import torch

        ids = [0] * (self.order - 1) + self._ids(prefix)
        context = ids[len(ids) - (self.order - 1) :]  # the last order-1 ids
        probs = self.next_logprobs(torch.tensor([context], dtype=torch.long))[0].double().exp()
        p, order = torch.sort(probs, descending=True, stable=True)  # (V,), (V,)
        tokens = self.require_fitted().tokens
        return [(tokens[i], x) for i, x in zip(order[:k].tolist(), p[:k].tolist())]

    def sample(
        self,
        n: int = 10,
        *,
        seed: int = LECTURE_SEED,
        temperature: float = 1.0,
        prefix: str = "",
        cut: int | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        constraints: Constraints | None = None,
        tries: int | None = None,
        max_len: int | None = None,
    ) -> list[str]:
        """Draw `n` items with the lecture's procedure (see sampling.py).

        cut: stop drawing an item after that many symbols (the item is truncated;
        `sample --cut`). A bound on the item's length is a constraint instead:
        constraints=Constraints(max_len=...), which rejects longer items. `constraints`
        (prefix, suffix, min/max length, new, unique) condition the draws by
        rejection (see generate.py); SamplingError, holding the items found,
        when `tries` candidates were not enough.

        max_len: the old name of `cut`, deprecated (a DeprecationWarning says which
        of the two was meant); giving both is an OptionError.
        """
        from . import generate
        from .constraints import Constraints

        cut = _old_cut(cut, max_len)
        c = constraints or Constraints()
        if prefix:
            c = replace(c, prefix=prefix)
        return generate.sample(
            self,
            n,
            c,
            seed=seed,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            cut=cut,
            tries=tries,
        )

    def fit_metrics(self) -> Metrics | None:
        """The training data's metrics as measured during `fit`, or None.

        A backend that can measure them more cheaply than re-scoring every token
        (the count backend: once per distinct n-gram, weighted by its count)
        returns them; the fit report then uses them. Same numbers up to float
        rounding.
        """
        return None

    def summary(self) -> dict[str, Any]:
        """Backend facts for reports, e.g. {"distinct n-grams": 627}. Optional."""
        return {}

    def require_fitted(self) -> Vocabulary:
        if self.vocab is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit() first")
        return self.vocab

    # -- persistence -------------------------------------------------------

    @abc.abstractmethod
    def state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """(config, tensors): start from `self.base_config()` and add learned state."""

    @classmethod
    @abc.abstractmethod
    def from_state(cls, config: dict[str, Any], tensors: dict[str, torch.Tensor]) -> Self:
        """Rebuild from `state()`; start from `cls.from_base_config(config)`."""

    def base_config(self) -> dict[str, Any]:
        """The config every backend saves: hyperparameters and vocabulary."""
        vocab = self.require_fitted()
        return {"hparams": dict(self.hparams), "vocab": vocab.to_json()}

    @classmethod
    def from_base_config(cls, config: dict[str, Any]) -> Self:
        """An instance with hyperparameters and vocabulary restored, not yet usable."""
        try:
            hparams, vocab = config["hparams"], config["vocab"]
        except (KeyError, TypeError):
            raise ModelFileError("model config lacks hparams or vocab") from None
        if not isinstance(hparams, dict):
            raise ModelFileError("model hparams are not a mapping")
        try:
            check_stored(cls.options, hparams)  # exact JSON types: "yes" is no bool
            model = cls(**hparams)
        except NgramkitError as e:
            raise ModelFileError(f"model hyperparameters are invalid: {e}") from None
        model.vocab = Vocabulary.from_json(vocab)
        return model


def _old_cut(cut: int | None, max_len: int | None) -> int | None:
    """sample(max_len=) as it used to mean (the cut), with a DeprecationWarning."""
    if max_len is None:
        return cut
    if cut is not None:
        from .errors import OptionError

        raise OptionError("sample(): give cut= (max_len= is its old name), not both")
    import warnings

    warnings.warn(
        "LanguageModel.sample(max_len=) is deprecated: it cuts items after that many "
        "symbols, now spelled cut=; for a bound on the length (longer items rejected, "
        "not truncated) pass constraints=Constraints(max_len=...)",
        DeprecationWarning,
        stacklevel=3,
    )
    return max_len
