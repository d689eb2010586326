"""One training run, as `ngramkit fit` does it: read or count, fit, measure, sample, save.

`run` takes the resolved settings of one fit (config.fit_settings) and goes
one of two ways to one `FitResult`:

- one word list: `train` fits on it with a seeded validation split;
- several files, an engine (--workers, --shards, --dask) or count tables
  (--from-counts): count in shards or read the tables, merge, `fit_counted`,
  and measure on the table itself (`table_metrics`); every item trains.

`FitResult.to_json` is the `fit --json` contract, `FitResult.save` writes the
model file with the fit's metrics in its header. Nothing here prints.
"""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch  # noqa: F401  (imported with the module, so never inside a fit's clock)

from . import memory, persist
from .corpus import Corpus
from .counting import CountRun, DaskCluster, InProcess, LocalPool, count_files
from .counting.tablefile import MAGIC
from .counting.tablefile import load as load_table
from .counts import NgramCounts, check_compatible, merge_all
from .data import train_val_split
from .errors import DataError, OptionError
from .evaluate import corpus_metrics
from .keys import key_digits
from .model import TrainingInfo
from .normalize import DEFAULT, Normalization
from .options import LECTURE_SEED, ORDER
from .reader import WordList, read_items
from .registry import check_logprobs
from .results import Metrics
from .tabular import ListFormat
from .tokenizer import Vocabulary

if TYPE_CHECKING:
    from .config import Engine, FitSettings
    from .model import LanguageModel, Progress

BLOCK = 2**18  # distinct n-grams scored at once by table_metrics


@dataclass(frozen=True)
class DataStats:
    """A word list read and split: every line is accounted for."""

    source: str
    items: int  # non-blank lines read (train + val)
    blank: int  # blank lines skipped
    duplicates: int  # items repeating an earlier one (kept)
    train: int
    val: int
    val_oov: int  # validation items with symbols unseen in training (not scored)
    tokens: int  # predicted training tokens
    vocab_size: int
    val_fraction: float
    seed: int  # of the split (and of the samples)
    unk_tokens: int | None = None  # training tokens that are the unknown token (None: no unk)
    min_count: int = 1  # the vocabulary cut-off used
    weight: int | None = None  # total weight of the items read (a weighted list), else None
    dedup: int | None = None  # --dedup: distinct items kept (of `items`), else None
    dedup_merged: int | None = None  # --dedup: spellings the rule made one with another
    normalized: dict[str, int] | None = None  # train items each rule part changed (normalize.py)

    def to_json(self) -> dict[str, Any]:
        out = {
            k: getattr(self, k) for k in ("items", "tokens", "vocab_size", "blank", "duplicates")
        }
        split = {"train_items": self.train, "val_items": self.val, "val_oov": self.val_oov}
        keys = ("weight", "dedup", "dedup_merged")
        extra = {k: getattr(self, k) for k in keys if getattr(self, k) is not None}
        if self.unk_tokens is not None:
            extra |= {"unk_tokens": self.unk_tokens, "min_count": self.min_count}
        # weight, dedup, unk: only when asked for
        return out | split | {"normalized": self.normalized} | extra


@dataclass(frozen=True)
class CountedStats:
    """A merged count table a model was estimated from: counted here, or read."""

    how: str  # where it was counted ("4 local processes") or what was read
    shards: int  # shards counted, or tables read
    table: NgramCounts  # items counted, blank lines, items left out (oov), tokens, vocab, keys
    stages: dict[str, float]  # seconds per stage: symbols, count (or read), merge, estimate
    normalized: dict[str, int] | None = None  # items each rule part changed (None: tables read)

    def to_json(self) -> dict[str, Any]:
        t = self.table
        out = {"items": t.provenance.items, "tokens": t.tokens, "vocab_size": len(t.vocab)}
        out |= {"normalized": self.normalized}
        return out | ({"weight": t.provenance.weight} if t.provenance.weight else {})


@dataclass(frozen=True)
class FitResult:
    """A fitted model, what it was fitted on, its metrics and samples."""

    model: LanguageModel
    data: DataStats | CountedStats
    train: Metrics
    val: Metrics | None  # None: no validation split (a fit from counts, --val-fraction 0)
    samples: list[tuple[str, bool | None]]  # (item, seen in training; None: not known)
    seconds: float  # wall time of the fit, its samples and saving excluded
    output: str | None = None  # the model file, once saved

    def metrics(self) -> dict[str, Any]:
        return {"train": self.train.to_json(), "val": self.val.to_json() if self.val else None}

    def to_json(self) -> dict[str, Any]:
        """`ngramkit fit --json` (DESIGN.md); a fit from counts adds shards, ngrams, stages."""
        out = {
            "model": self.output,
            "backend": self.model.name,
            "order": self.model.order,
            "data": self.data.to_json(),
            "metrics": self.metrics(),
            "samples": [s for s, _ in self.samples],
            "seconds": self.seconds,
            "normalization": self.model.require_fitted().normalization.to_json(),
        }
        if isinstance(self.data, CountedStats):
            d = self.data
            out |= {"shards": d.shards, "ngrams": len(d.table.top_keys), "stages": d.stages}
        return out

    def save(self, path: str) -> FitResult:
        """Write the model file with the metrics (and the word list's split) in its header."""
        check_logprobs(type(self.model), [("train", self.train), ("val", self.val)])
        memory.release()  # the fit's freed temporaries, before the file's buffers
        extra: dict[str, Any] = {"metrics": self.metrics()}
        if isinstance(self.data, DataStats):
            keys = ("source", "items", "train", "val", "val_fraction", "seed", "normalized")
            extra["data"] = {k: getattr(self.data, k) for k in keys}
            for k in ("weight", "dedup"):  # a weighted list, --dedup: the header's sums need them
                if getattr(self.data, k) is not None:
                    extra["data"][k] = getattr(self.data, k)
        elif self.data.normalized is not None:  # counted in shards here: `show` says it too
            extra["data"] = {"normalized": self.data.normalized}
        persist.save(self.model, path, extra=extra)
        return replace(self, output=path)


def train(
    cls: type[LanguageModel],
    words: WordList,
    hparams: dict[str, Any],
    *,
    val_fraction: float = 0.1,
    seed: int = LECTURE_SEED,
    kind: str = "char",
    normalization: Normalization = DEFAULT,
    n_samples: int = 10,
    progress: Progress | None = None,
    unk: bool = False,
    min_count: int = 1,
    dedup: bool = False,
) -> FitResult:
    """Train `cls(**hparams)` on `words` with a seeded validation split; measure, sample.

    unk, min_count: the vocabulary gets the unknown token, and the symbols seen
    fewer than `min_count` times in the training items become it.
    A weighted list is split by lines (an item goes to one side with its weight).
    dedup: train on each distinct item once under the rule, at its first line.
    normalization: the text rule; its "auto" parts are resolved from the training items.
    """
    start = time.perf_counter()
    kept, merged = distinct(words, normalization) if dedup else (words, None)
    (train_items, train_w), (val_items, val_w) = _split(kept, val_fraction, seed)
    if not train_items:
        raise DataError(f"{words.source}: no training items")
    corpus = Corpus.from_items(
        train_items,
        kind=kind,
        weights=train_w,
        unk=unk,
        min_count=min_count,
        normalization=normalization,
    )
    if unk and len(corpus.vocab.symbols) == 0:
        raise DataError(
            f"{words.source}: --min-count {min_count} leaves no symbol: every one is rarer"
        )
    model = cls(**hparams).fit(corpus, progress=progress)
    metrics = model.fit_metrics() or corpus_metrics(model, train_items, train_w)
    val = corpus_metrics(model, val_items, val_w) if val_items else None
    samples = marked_samples(model, n_samples, seed)
    stats = DataStats(
        source=words.source,
        items=len(words),
        blank=words.blank,
        duplicates=words.duplicates,
        train=len(train_items),
        val=len(val_items),
        val_oov=val.oov if val else 0,
        tokens=corpus.weighted_tokens,
        vocab_size=len(corpus.vocab),
        val_fraction=val_fraction,
        seed=seed,
        unk_tokens=int(corpus.unk_tokens().sum()) if unk else None,
        min_count=min_count,
        weight=None if words.weights is None else words.weight,
        dedup=len(kept) if dedup else None,
        dedup_merged=merged,
        normalized=corpus.changes,
    )
    return FitResult(model, stats, metrics, val, samples, time.perf_counter() - start)


def marked_samples(model: LanguageModel, n: int, seed: int) -> list[tuple[str, bool | None]]:
    """`n` seeded samples of `model`, each with whether it is a training item (None:
    not known)."""
    seen = model.training.seen if model.training else None
    drawn = model.sample(n, seed=seed) if n else []
    return [(s, None if seen is None else s in seen) for s in drawn]


def save_and_sample(result: FitResult, output: str, n: int, seed: int) -> FitResult:
    """result.save(output) with `n` samples drawn meanwhile (marked_samples): the write
    waits on zlib, checksums and the disk, which leave the interpreter to the sampler
    (0.3 s of the stdlib fit). The samples are those `train` would draw (seeded)."""
    if not n:
        return result.save(output)
    with ThreadPoolExecutor(1, thread_name_prefix="ngramkit-save") as pool:
        saving = pool.submit(result.save, output)
        samples = marked_samples(result.model, n, seed)
        saved = saving.result()
    return replace(saved, samples=samples)


def distinct(words: WordList, rule: Normalization = DEFAULT) -> tuple[WordList, int]:
    """(each item distinct under `rule` once, at its first line, in file order; how many
    distinct spellings the rule merged into another) (`fit --dedup`): "Anna" and "anna"
    are one item under lower-casing. The rule's "auto" parts act as "keep", which is
    what they resolve to wherever they would change an item (normalize.resolve)."""
    first: dict[str, int] = {}
    for i, key in enumerate(rule.apply_all(words.items)[0]):
        first.setdefault(key, i)
    at = list(first.values())  # dicts keep insertion order: file order
    merged = len(set(words.items)) - len(at)
    items = [words.items[i] for i in at]  # as given: the corpus applies the rule
    return WordList(words.source, items, [words.lines[i] for i in at], words.blank), merged


def _split(
    words: WordList, val_fraction: float, seed: int
) -> tuple[tuple[list[str], list[int] | None], tuple[list[str], list[int] | None]]:
    """((train items, weights), (validation items, weights)): the seeded split of lines."""
    if words.weights is None:
        train_items, val_items = train_val_split(words.items, val_fraction, seed)
        if not val_items:  # every item trains: the list read, not a second copy held
            train_items = words.items
        return (train_items, None), (val_items, None)
    weights = words.weights
    parts = train_val_split(range(len(words.items)), val_fraction, seed)
    a, b = ([[words.items[i] for i in p], [weights[i] for i in p]] for p in parts)
    return (a[0], a[1]), (b[0], b[1])


def table_metrics(model: LanguageModel, table: NgramCounts, block: int = BLOCK) -> Metrics:
    """Metrics of the training tokens from the count table alone: no second pass over data.

    Every predicted token is one order-N window, so the sum of log p over
    the training tokens is the sum over distinct windows g of c(g) * log p(g)
    (equal to `train`'s train metric up to float summation order). Scored
    `block` distinct n-grams at a time: memory is bounded by the block.
    """
    V, N = len(table.vocab), table.order
    logprob = 0.0
    for start in range(0, len(table.top_keys), block):
        grams = key_digits(table.top_keys[start : start + block], V, N)  # (B, N)
        lp = model.token_logprobs(grams[:, :-1], grams[:, -1]).double()  # (B,)
        logprob += float((lp * table.top_counts[start : start + block].double()).sum())
    return Metrics(table.tokens, logprob, table.provenance.oov)


def fit_counted(
    cls: type[LanguageModel], table: NgramCounts, hparams: dict[str, Any]
) -> LanguageModel:
    """cls(**hparams) estimated from a merged count table, at the table's order."""
    if not hasattr(cls, "fit_counts"):
        raise OptionError(
            f"backend '{cls.name}' cannot be fitted from count tables (the count backend can)"
        )
    given = hparams.get("order")
    if given is not None and int(given) != table.order:
        raise OptionError.named(
            f"<order> {given} does not match the count table's order {table.order}"
        )
    model = cls(**{**hparams, "order": table.order})
    model.fit_counts(table, table.vocab)  # type: ignore[attr-defined]
    return model


def trained_on(table: NgramCounts) -> TrainingInfo | None:
    """What a model estimated from `table` knows of its items: counted in shards, they
    carry their distinct items (`seen`) as a one-process fit does; tables read from
    files do not (None). The fingerprint, a hash of the items in file order, is not
    known: shards are counted in any order."""
    seen = table.provenance.seen
    if seen is None:
        return None
    V = table.vocab_size
    kept = int(table.top_counts[table.top_keys % V == 0].sum())  # each kept item ends once
    return TrainingInfo(items=kept, tokens=table.tokens, fingerprint=None, seen=seen)


def count_parts(
    paths: list[str],
    order: int,
    engine: Engine,
    *,
    kind: str = "char",
    vocab: Vocabulary | None = None,
    normalization: Normalization = DEFAULT,
    progress: Progress | None = None,
    unk: bool = False,
    fmt: ListFormat | None = None,
) -> CountRun:
    """The word lists in `paths` counted in `engine.n_shards` shards on `engine`.

    vocab: the vocabulary to count over (parts merge only over one; see
    `read_vocab`), or None for the symbols of `paths` (with the unknown token
    when `unk`).
    """
    workers = engine.workers or 1
    if engine.dask:
        eng: Any = DaskCluster(engine.dask, workers=engine.workers or 2)
    elif workers > 1:
        eng = LocalPool(workers)
    else:
        eng = InProcess()
    try:  # the pool or the cluster is shut down however the count ends
        n_shards = engine.n_shards(len(paths))
        return count_files(
            paths,
            order,
            eng,
            n_shards=n_shards,
            kind=kind,
            vocab=vocab,
            progress=progress,
            fmt=fmt,
            unk=unk,
            normalization=normalization,
        )
    finally:
        eng.close()


def read_vocab(
    path: str, kind: str, normalization: Normalization = DEFAULT, unk: bool = False
) -> Vocabulary:
    """The vocabulary of a count table file (its own rule and unknown token), or of a
    word list's items under `normalization`, with the unknown token when `unk`."""
    with contextlib.suppress(OSError), open(path, "rb") as f:
        if f.read(len(MAGIC)) == MAGIC:
            vocab = load_table(path).vocab
            if unk and not vocab.unk:
                raise OptionError(
                    f"unk: the count table {path} was made without the unknown token",
                    cli=f"--unk: the count table {path} (--vocab-from) was made without it",
                )
            return vocab
    return Vocabulary.build(read_items(path).items, kind, unk=unk, normalization=normalization)


def run(settings: FitSettings, progress: Progress | None = None) -> FitResult:
    """Fit as `settings` say and save the model file (see the module docstring).

    settings.memory: counting keeps within that many bytes, spilling sorted
    runs under settings.temp_dir (memory.budget, counting/spill.py).
    """
    with memory.budget(settings.memory, settings.temp_dir):
        return _run(settings, progress)


def _run(settings: FitSettings, progress: Progress | None) -> FitResult:
    """`run` inside its memory budget."""
    if settings.counted:
        return _run_counted(settings, progress)
    if not settings.data:
        raise OptionError("no DATA: give a word list (or `data:` in the config)")
    words = _read_lists(settings.data, settings.list_format)  # several: no fit_counts
    stdin = words.source == "<stdin>"
    stem = "stdin" if stdin else Path(words.source).stem
    output = _writable(settings.output or f"{stem}.{settings.backend}.ngk")
    if not stdin and Path(output).resolve() == Path(words.source).resolve():
        raise OptionError(f"-o {output} would overwrite the training data; choose another path")
    result = train(
        settings.cls,
        words,
        settings.hparams,
        val_fraction=settings.val_fraction,
        seed=settings.seed,
        kind=settings.tokenizer,
        normalization=settings.normalization,
        n_samples=0,  # drawn while the file is written
        progress=progress,
        unk=settings.unk,
        min_count=settings.min_count,
        dedup=settings.dedup,
    )
    return save_and_sample(result, output, settings.samples, settings.seed)


def _read_lists(paths: list[str], fmt: ListFormat | None = None) -> WordList:
    """The items of every list in order, as one WordList (its source names them all)."""
    lists = [read_items(p, fmt) for p in paths]
    if len(lists) == 1:
        return lists[0]
    weighted = fmt is not None and fmt.weighted
    return WordList(
        " + ".join(w.source for w in lists),
        [item for w in lists for item in w.items],
        [line for w in lists for line in w.lines],
        sum(w.blank for w in lists),
        [x for w in lists for x in w.weights or ()] if weighted else None,
    )


def _writable(output: str) -> str:
    """`output`, once its folder is known to exist (before any work is done)."""
    folder = Path(output).parent
    if not folder.is_dir():
        raise OptionError(f"cannot write {output}: folder {folder} does not exist")
    return output


def _run_counted(s: FitSettings, progress: Progress | None) -> FitResult:
    """A fit from count tables: counted here in shards, or read from `ngramkit count` files."""
    if not s.data:
        raise OptionError("no DATA: give word lists (or count tables with --from-counts)")
    if s.from_counts and s.engine:
        raise OptionError("--from-counts reads count tables: --workers, --shards, --dask count")
    if s.val_flag:
        raise OptionError(
            "--val-fraction: fitting from count tables trains on every item; "
            "score a held-out file with `ngramkit eval` instead"
        )
    if s.min_count > 1:
        raise OptionError(
            "--min-count needs the items' symbol counts before counting: fit in one "
            "process (no --workers, --shards, --dask or --from-counts)"
        )
    if not hasattr(s.cls, "fit_counts"):  # before any counting
        raise OptionError(
            f"backend '{s.backend}' cannot be fitted from count tables, which --workers, "
            "--shards, --dask and --from-counts make (the count backend can); fit it without them"
        )
    output = _writable(s.output or f"{Path(s.data[0]).stem}.{s.backend}.ngk")
    start = time.perf_counter()
    if s.from_counts:
        table, how, shards, stages = _read_tables(s.data)
        changed = table.provenance.normalized  # None if any table did not count them
        if s.unk and not table.vocab.unk:
            raise OptionError("--unk: these count tables were made without the unknown token")
    else:
        order = int(s.hparams.get("order", _default_order(s.cls)))  # the backend's own default
        done = count_parts(
            s.data,
            order,
            s.engine,
            kind=s.tokenizer,
            unk=s.unk,
            progress=progress,
            fmt=s.list_format,
            normalization=s.normalization,
        )
        table, how, shards = done.table, s.engine.describe(), len(done.shards)
        stages, changed = dict(done.seconds), done.normalized
    clock = time.perf_counter()
    model = fit_counted(s.cls, table, s.hparams)
    model.training = trained_on(table)  # shards' items: "in training" marks, as `train` has
    metrics = table_metrics(model, table)
    stages["estimate"] = time.perf_counter() - clock
    stats = CountedStats(how, shards, table, stages, changed)
    seconds = time.perf_counter() - start
    result = FitResult(model, stats, metrics, None, [], seconds)
    return save_and_sample(result, output, s.samples, s.seed)


def _default_order(cls: type[LanguageModel]) -> int:
    """The order a backend declares by default (its `order` option's)."""
    return int(next((o.default for o in cls.options if o.name == ORDER.name), ORDER.default))


def _read_tables(paths: list[str]) -> tuple[NgramCounts, str, int, dict[str, float]]:
    """Count table files, checked against the first one and merged; seconds read, merge."""
    start = time.perf_counter()
    tables = [load_table(p) for p in paths]
    for name, t in zip(paths[1:], tables[1:]):
        check_compatible(tables[0], t, (paths[0], name))
    clock = time.perf_counter()
    table = merge_all(tables)
    stages = {"read": clock - start, "merge": time.perf_counter() - clock}
    return table, f"{len(tables)} count table(s)", len(tables), stages
