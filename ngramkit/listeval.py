"""Evaluating word lists: rows streamed, totals per file and overall.

`ListEvaluation(model, paths).rows()` streams each list in turn (reader.py's
rules: UTF-8, blank lines skipped and counted, bad bytes named by line) and
yields one `ItemScore` per item, in input order, while it keeps a `FileTotals`
per list and one overall `Summary`. Rows are not kept: a caller that writes
them out as they come uses memory bounded by one read block, one scoring
chunk and the distinct items of a list (for the duplicate count).
Duplicates are scored and counted, never dropped.

This module does not format anything (see report/evaluation.py and
cli/writers.py) and does not sort (see ranking.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import DataError
from .evaluate import CHUNK_ITEMS, Batch, ItemScore, Summary, score_batch
from .reader import STDIN, ListStream, check_paths

if TYPE_CHECKING:
    from .model import LanguageModel

Progress = Callable[..., None]


@dataclass
class FileTotals:
    """One list's totals: the running Summary plus what reading it found.

    blank: blank lines skipped; duplicates: items repeating an earlier one
    (scored and counted); unknown: unknown symbol -> OOV items holding it.
    """

    source: str
    summary: Summary = field(default_factory=Summary)
    blank: int = 0
    duplicates: int = 0
    unknown: Counter[str] = field(default_factory=Counter)

    def add(self, chunk: Chunk) -> None:
        """Add a scored chunk's totals, column-wise (no per-row objects)."""
        import torch

        b, s = chunk.batch, self.summary
        ok = ~b.oov
        lp = b.logprob[ok]  # (scored,) float64
        s.items += len(chunk.items)
        s.oov += len(chunk.items) - len(lp)
        s.tokens += int((b.lengths[ok] + 1).sum())
        s.logprob += float(lp.sum())
        s.infinite += int((~torch.isfinite(lp)).sum())
        s.in_train += sum(chunk.in_train) if chunk.in_train is not None else 0
        for symbols in chunk.unknown.values():
            self.unknown.update(symbols)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            **self.summary.to_json(),
            "in_train": self.summary.in_train,
            "duplicates": self.duplicates,
            "blank_lines": self.blank,
            "unknown_symbols": dict(self.unknown.most_common()),
        }


@dataclass(frozen=True)
class Chunk:
    """Up to CHUNK_ITEMS scored items of one list, column-wise.

    start: index of items[0] in its list; lines: their line numbers;
    in_train: per item, or None when the model does not know its training
    items; unknown: position in chunk -> unknown symbols, for OOV items only.
    """

    source: str
    items: list[str]
    lines: Sequence[int]
    start: int
    batch: Batch
    in_train: list[bool] | None
    unknown: dict[int, tuple[str, ...]]

    def rows(self) -> Iterator[ItemScore]:
        logprob = self.batch.logprob.tolist()
        lengths = self.batch.lengths.tolist()
        flags = self.in_train
        for i, item in enumerate(self.items):
            unknown = self.unknown.get(i)
            yield ItemScore(
                item,
                lengths[i] + 1,
                logprob[i],
                unknown is not None,
                unknown or (),
                None if flags is None else flags[i],
                self.start + i,
                self.source,
                self.lines[i],
            )


def score_chunk(
    model: LanguageModel, items: list[str], source: str, start: int, lines: Sequence[int]
) -> Chunk:
    """Score one chunk and mark training items and unknown symbols."""
    vocab = model.require_fitted()
    batch = score_batch(model, items)
    seen = model.training.seen if model.training else None
    in_train = None if seen is None else [s in seen for s in items]
    unknown = {int(i): tuple(vocab.unknown(items[i])) for i in batch.oov.nonzero().flatten()}
    return Chunk(source, items, lines, start, batch, in_train, unknown)


class ListEvaluation:
    """Scores word lists under one model; totals fill in as rows are consumed."""

    def __init__(
        self, model: LanguageModel, paths: Sequence[str], progress: Progress | None = None
    ) -> None:
        check_paths(paths)
        if list(paths).count(STDIN) > 1:
            raise DataError('"-" (stdin) can be given only once')
        self.model = model
        self.paths = list(paths)
        self.progress = progress
        self.files: list[FileTotals] = []
        self.overall = FileTotals("all")

    def chunks(self) -> Iterator[Chunk]:
        """Every list in scored chunks, in input order; totals grow as they come.

        Lists are streamed (reader.ListStream): memory is one block, one chunk and
        the distinct items of the list, however many items it has.
        """
        for path in self.paths:
            reader = ListStream(path, CHUNK_ITEMS)
            totals = FileTotals(reader.source)
            self.files.append(totals)
            at = 0
            for items, lines in reader.chunks():
                chunk = score_chunk(self.model, items, reader.source, at, lines)
                at += len(items)
                totals.add(chunk)
                self.overall.add(chunk)
                if self.progress is not None:
                    self.progress(reader.bytes_read, reader.size, items=f"{at:,}")
                yield chunk
            totals.blank, totals.duplicates = reader.blank, reader.duplicates
            self.overall.blank += reader.blank
            self.overall.duplicates += reader.duplicates

    def rows(self) -> Iterator[ItemScore]:
        """Every item of every list, scored, in input order."""
        for chunk in self.chunks():
            yield from chunk.rows()

    def check_scored(self) -> None:
        """After rows(): one clear line when nothing at all could be scored."""
        s = self.overall.summary
        if s.items and not s.scored:
            raise DataError(all_oov_message(self.overall, self.model))

    def to_json(self) -> dict[str, Any]:
        """{"summary": overall, "files": [...]} (the eval JSON's stable keys, plus files)."""
        summary = self.overall.to_json()
        summary.pop("source")
        return {"summary": summary, "files": [f.to_json() for f in self.files]}


def all_oov_message(totals: FileTotals, model: LanguageModel) -> str:
    """'all 3 items are OOV ...': names the list's symbols and the model's."""
    vocab = model.require_fitted()
    sep = vocab.separator
    theirs = sep.join(s for s, _ in totals.unknown.most_common(12))
    ours = sep.join(vocab.symbols[:30]) + ("…" if len(vocab.symbols) > 30 else "")
    return (
        f"all {totals.summary.items:,} items are OOV: none is spelled only with the "
        f"model's {len(vocab.symbols)} symbols ({ours}); the list uses {theirs!r}"
        f"{'…' if len(totals.unknown) > 12 else ''} (another script or alphabet?)"
    )
