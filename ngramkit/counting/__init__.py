"""Counting beyond one process: count shards, merge their tables.

shards.py cuts files into byte ranges on line boundaries; table.py is the
mergeable count table; tablefile.py writes and reads it; work.py holds the
per-shard tasks; run.py the engines (this process, a local process pool,
Dask); sharded.py runs the whole count. fitting.py estimates a model from it.
"""

from .run import ClusterError, DaskCluster, InProcess, LocalPool
from .sharded import CountRun, agree_vocab, count_files
from .shards import Shard, plan
from .table import CountTable, CountTableError, merge_all
from .tablefile import load, save

__all__ = [
    "ClusterError",
    "CountRun",
    "CountTable",
    "CountTableError",
    "DaskCluster",
    "InProcess",
    "LocalPool",
    "Shard",
    "agree_vocab",
    "count_files",
    "load",
    "merge_all",
    "plan",
    "save",
]
