"""Sharded counting on the command line: engine flags, and `fit` from count tables.

`fit DATA... --workers N | --dask ADDRESS|local | --shards K` and
`fit --from-counts FILE...` land here: count (or read) tables, merge,
estimate, report. The work itself is in ngramkit.counting.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .common import ProgressBar, console, emit_json

if TYPE_CHECKING:
    from ..counting import InProcess
    from ..tokenizer import Vocabulary

SHARDS_PER_WORKER = 4  # more shards than workers: a slow shard does not hold up the rest
ENGINE_FLAGS = ("workers", "shards", "dask")


def engine_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--workers, --shards, --dask: where and in how many pieces to count."""
    f = click.option(
        "--dask",
        default=None,
        metavar="ADDRESS|local",
        help="Count on a Dask cluster (tcp://host:8786), or on a local one started for the "
        "run ('local'); needs ngramkit[dask].",
    )(f)
    f = click.option(
        "--shards",
        default=None,
        type=click.IntRange(1),
        metavar="K",
        help=f"Cut DATA into about K byte-range shards [default: {SHARDS_PER_WORKER} per "
        "worker, or one per file].",
    )(f)
    return click.option(
        "--workers",
        default=None,
        type=click.IntRange(1),
        metavar="N",
        help="Count in N local processes (with --dask local: N Dask workers) [default: 1].",
    )(f)


def shard_count(engine: dict[str, Any], n_files: int) -> int:
    if engine.get("shards"):
        return int(engine["shards"])
    workers = engine.get("workers") or (2 if engine.get("dask") else 1)
    return SHARDS_PER_WORKER * workers if workers > 1 else n_files


@contextlib.contextmanager
def open_engine(engine: dict[str, Any]) -> Iterator[InProcess]:
    """The engine the flags ask for, closed (cluster and pool shut down) afterwards."""
    from ..counting import DaskCluster, InProcess, LocalPool

    workers = engine.get("workers") or 1
    if engine.get("dask"):
        eng: Any = DaskCluster(engine["dask"], workers=engine.get("workers") or 2)
    elif workers > 1:
        eng = LocalPool(workers)
    else:
        eng = InProcess()
    try:
        yield eng
    finally:
        eng.close()


def describe(engine: dict[str, Any]) -> str:
    if engine.get("dask") == "local":
        return f"Dask LocalCluster, {engine.get('workers') or 2} workers"
    if engine.get("dask"):
        return f"Dask cluster at {engine['dask']}"
    workers = engine.get("workers") or 1
    return f"{workers} local processes" if workers > 1 else "this process"


def read_vocab(path: str, kind: str) -> Vocabulary:
    """The vocabulary of a count table file, or of a word list's items."""
    from ..counting import load
    from ..counting.tablefile import MAGIC
    from ..reader import read_items
    from ..tokenizer import Vocabulary

    with contextlib.suppress(OSError), open(path, "rb") as f:
        if f.read(len(MAGIC)) == MAGIC:
            return load(path).vocab
    return Vocabulary.build(read_items(path).items, kind)


def fit_sharded(
    cls: type,
    backend: str,
    data: list[str],
    hparams: dict[str, Any],
    settings: dict[str, Any],
    engine: dict[str, Any],
    from_counts: bool,
    as_json: bool,
    val_given: str | None = None,
) -> None:
    """`ngramkit fit` from count tables: counted here in shards, or read from files."""
    import time

    from ..counting import count_files, fit_table, load, merge_all
    from ..counting.table import check_compatible
    from ..errors import OptionError
    from ..persist import save
    from ..report.sharded import sharded_fit_report

    if not data:
        raise OptionError("no DATA: give word lists (or count tables with --from-counts)")
    if from_counts and any(engine.get(k) for k in ENGINE_FLAGS):
        raise OptionError("--from-counts reads count tables: --workers, --shards, --dask count")
    if val_given is not None and float(val_given) != 0:
        raise OptionError(
            "--val-fraction: fitting from count tables trains on every item; "
            "score a held-out file with `ngramkit eval` instead"
        )
    output = settings["output"] or f"{Path(data[0]).stem}.{backend}.ngk"
    if not Path(output).parent.is_dir():
        raise OptionError(f"cannot write {output}: folder {Path(output).parent} does not exist")
    start = time.perf_counter()
    if from_counts:
        tables = [load(p) for p in data]
        for name, t in zip(data[1:], tables[1:]):
            check_compatible(tables[0], t, (data[0], name))
        clock = time.perf_counter()
        seconds = {"read": clock - start}
        table = merge_all(tables)
        seconds["merge"] = time.perf_counter() - clock
        how, n_shards = f"{len(tables)} count table(s)", len(tables)
    else:
        order = int(hparams.get("order") or settings["order"])
        with (
            open_engine(engine) as eng,
            ProgressBar("count", None if not as_json else False) as bar,
        ):
            run = count_files(
                data,
                order,
                eng,
                n_shards=shard_count(engine, len(data)),
                kind=settings["tokenizer"],
                progress=bar,
            )
        table, seconds = run.table, dict(run.seconds)
        how, n_shards = describe(engine), len(run.shards)
    fit = fit_table(cls, table, hparams, n_samples=settings["samples"], seed=settings["seed"])
    seconds["estimate"] = fit.seconds
    save(fit.model, output, extra={"metrics": {"train": fit.train.to_json(), "val": None}})
    if not as_json:
        console().print(sharded_fit_report(fit, output, how, n_shards, seconds))
        return
    emit_json(
        {
            "model": output,
            "backend": backend,
            "order": fit.model.order,
            "data": {"items": table.items, "tokens": table.tokens, "vocab_size": len(table.vocab)},
            "metrics": {"train": fit.train.to_json(), "val": None},
            "samples": fit.samples,
            "seconds": time.perf_counter() - start,
            "shards": n_shards,
            "ngrams": len(table.keys),
            "stages": seconds,
        }
    )
