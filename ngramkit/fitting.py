"""One training run, as `ngramkit fit` does it: split, fit, measure, sample.

The CLI parses options and renders; this module does the work and returns a
plain `FitResult`. It does not print and does not save (see persist.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .corpus import Corpus
from .data import train_val_split
from .errors import DataError
from .evaluate import Metrics, corpus_metrics
from .reader import WordList

if TYPE_CHECKING:
    from .model import LanguageModel, Progress


@dataclass(frozen=True)
class DataStats:
    """What was read and how it was used: every line is accounted for."""

    source: str
    items: int  # non-blank lines read
    blank: int  # blank lines skipped
    duplicates: int  # items repeating an earlier one (kept)
    train: int
    val: int
    val_oov: int  # validation items with symbols unseen in training (not scored)
    tokens: int  # predicted training tokens
    vocab_size: int


@dataclass(frozen=True)
class FitResult:
    model: LanguageModel
    data: DataStats
    train: Metrics
    val: Metrics | None
    samples: list[tuple[str, bool | None]]  # (item, seen in training)
    seconds: float


def _metrics(model: LanguageModel, items: list[str]) -> tuple[Metrics, int]:
    """Metrics of the in-vocabulary items and the number of OOV items."""
    m = corpus_metrics(model, items)
    return m, m.oov


def fit(
    cls: type[LanguageModel],
    words: WordList,
    hparams: dict[str, Any],
    *,
    val_fraction: float = 0.1,
    seed: int = 2147483647,
    kind: str = "char",
    n_samples: int = 10,
    progress: Progress | None = None,
) -> FitResult:
    """Train `cls(**hparams)` on `words` with a seeded validation split."""
    import torch  # noqa: F401  (imported before the clock starts: not part of the fit time)

    start = time.perf_counter()
    train_items, val_items = train_val_split(words.items, val_fraction, seed)
    if not train_items:
        raise DataError(f"{words.source}: no training items")
    corpus = Corpus.from_items(train_items, kind=kind)
    model = cls(**hparams).fit(corpus, progress=progress)
    train = model.fit_metrics() or _metrics(model, train_items)[0]
    val, val_oov = _metrics(model, val_items) if val_items else (None, 0)
    seen = model.training.seen if model.training else None
    drawn = model.sample(n_samples, seed=seed) if n_samples else []
    samples = [(s, None if seen is None else s in seen) for s in drawn]
    stats = DataStats(
        source=words.source,
        items=len(words),
        blank=words.blank,
        duplicates=words.duplicates,
        train=len(train_items),
        val=len(val_items),
        val_oov=val_oov,
        tokens=corpus.n_tokens,
        vocab_size=len(corpus.vocab),
    )
    return FitResult(model, stats, train, val, samples, time.perf_counter() - start)
