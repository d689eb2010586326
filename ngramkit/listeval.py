"""Evaluating word lists: rows streamed, totals per file and overall.

`ListEvaluation(model, paths).rows()` streams each list in turn (reader.py's
rules: UTF-8, blank lines skipped and counted, bad bytes named by line) and
yields one `ItemScore` per item, in input order, while it keeps a `Metrics`
per list and one overall. Rows are not kept: a caller that writes
them out as they come uses memory bounded by one read block, one scoring
chunk and the distinct items of a list (for the duplicate count).
Duplicates are scored and counted, never dropped.

This module does not format anything (see report/evaluation.py and
cli/writers.py) and does not sort (see ranking.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .errors import DataError
from .evaluate import CHUNK_ITEMS, score_batch
from .normalize import remedy_line
from .reader import STDIN, ListStream, WordList, check_paths
from .results import Batch, ItemScore, Metrics

if TYPE_CHECKING:
    from .model import LanguageModel, Progress
    from .ranking import Selection
    from .tabular import ListFormat


class ListEvaluation:
    """Scores word lists under one model; totals fill in as rows are consumed."""

    def __init__(
        self,
        model: LanguageModel,
        paths: Sequence[str],
        progress: Progress | None = None,
        fmt: ListFormat | None = None,
    ) -> None:
        check_paths(paths)
        if list(paths).count(STDIN) > 1:
            raise DataError('"-" (stdin) can be given only once')
        self.model = model
        self.paths = list(paths)
        self.progress = progress
        self.format = fmt  # a tabular or weighted list's columns (tabular.py)
        self.files: list[Metrics] = []  # one per list, filled in as its chunks come
        self.overall = Metrics(0, 0.0, source="all")

    def chunks(self) -> Iterator[Batch]:
        """Every list in scored chunks, in input order; totals grow as they come.

        Lists are streamed (reader.ListStream): memory is one block, one chunk and
        the distinct items of the list, however many items it has.
        """
        for path in self.paths:
            reader = ListStream(path, CHUNK_ITEMS, self.format)
            self.files.append(Metrics(0, 0.0, source=reader.source))
            at = 0
            for words in reader.blocks():
                chunk = self._chunk(words, at)
                at += len(words)
                self._add(chunk.metrics())
                if self.progress is not None:
                    self.progress(reader.bytes_read, reader.size, items=f"{at:,}")
                yield chunk
            self._add(Metrics(0, 0.0, blank=reader.blank, duplicates=reader.duplicates))

    def _chunk(self, words: WordList, start: int) -> Batch:
        """score_batch (which marks training items), then where the items come from,
        their weights."""
        import torch

        batch = score_batch(self.model, words.items)
        w = None if words.weights is None else torch.as_tensor(words.weights, dtype=torch.long)
        where = {"source": words.source, "start": start, "lines": words.lines}
        return replace(batch, weights=w, **where)

    def _add(self, m: Metrics) -> None:
        self.files[-1] += m
        self.overall += m

    def rows(self) -> Iterator[ItemScore]:
        """Every item of every list, scored, in input order."""
        for chunk in self.chunks():
            yield from chunk.rows()

    def notes(self) -> list[str]:
        """After rows(): lines for the user (stderr) about OOV items, or none.

        A list whose every item is OOV is not an error: its rows are all
        written, marked OOV, and the first line says why and what would fix it.
        """
        out = []
        if self.overall.items and not self.overall.scored:
            out.append(all_oov_message(self.overall, self.model))
        line = remedy_line(self.overall.remedies)
        if line is not None:
            out.append(line)
        return out

    def to_json(self, shown: Selection | None = None, *, items: bool = False) -> dict[str, Any]:
        """The eval JSON: {"summary", "files"}, then "selection" and "items" when asked."""
        out: dict[str, Any] = {
            "summary": self.overall.totals_json(),
            "files": [{"source": f.source, **f.totals_json()} for f in self.files],
        }
        if shown is not None:
            out["selection"] = shown.to_json()
        if shown is not None and items:
            out["items"] = [r.to_json() for r in shown.rows]
        return out


def all_oov_message(totals: Metrics, model: LanguageModel) -> str:
    """'all 3 items are OOV ...': names the list's symbols and the model's."""
    vocab = model.require_fitted()
    sep = vocab.separator
    theirs = sep.join(s for s, _ in totals.unknown.most_common(12))
    ours = sep.join(vocab.symbols[:30]) + ("…" if len(vocab.symbols) > 30 else "")
    return (
        f"all {totals.items:,} items are OOV: none is spelled only with the "
        f"model's {len(vocab.symbols)} symbols ({ours}); the list uses {theirs!r}"
        f"{'…' if len(totals.unknown) > 12 else ''} (another script or alphabet?); fit the "
        "model with --unk to score unseen symbols"
    )
