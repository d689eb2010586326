"""Counting beyond one process: plan shards -> count each -> merge -> estimate.

shards.py cuts files into byte ranges on line boundaries; tasks.py holds the
per-shard tasks (list symbols, count); engines.py runs tasks here, in a local
process pool or on Dask; pipeline.py counts files end to end; tablefile.py
writes and reads count tables (counts.NgramCounts). fitting.py estimates a
model from one.
"""

from .engines import DaskCluster, InProcess, LocalPool
from .pipeline import CountRun, agree_vocab, count_files
from .shards import Shard, plan
from .tablefile import load, save

__all__ = [
    "CountRun",
    "DaskCluster",
    "InProcess",
    "LocalPool",
    "Shard",
    "agree_vocab",
    "count_files",
    "load",
    "plan",
    "save",
]
