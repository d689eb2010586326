"""Running shard tasks: in this process, in a local process pool, or on Dask.

An engine maps a task over shards, yielding results as they finish (so the
progress bar follows the shards), and merges count tables. We do not
schedule anything ourselves: the local engine is the standard library's
ProcessPoolExecutor, the cluster engine is dask.distributed, which also
re-runs the tasks of a worker that dies.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import torch

from ..counts import NgramCounts, merge_all
from ..errors import ClusterError

CONNECT_TIMEOUT = 5.0  # seconds to wait for a Dask scheduler to answer


class InProcess:
    """Runs every task here, one after another (`--workers 1`)."""

    def map(self, fn: Callable[..., Any], args: Sequence[tuple]) -> Iterator[Any]:
        for a in args:
            yield fn(*a)

    def map_handles(self, fn: Callable[..., Any], args: Sequence[tuple]) -> Iterator[Any]:
        """Handles of the results as they finish (here: the results themselves)."""
        return self.map(fn, args)

    def merge(self, tables: list[Any]) -> NgramCounts:
        """The merged table of the handles `tables` (merge_all's balanced tree)."""
        return merge_all(tables)

    def close(self) -> None:
        pass


def _one_thread() -> None:
    """Pool initializer: one torch thread per process, the processes are the parallelism."""
    torch.set_num_threads(1)


class LocalPool(InProcess):
    """N local processes (`--workers N`); spawned, so no torch state is forked."""

    def __init__(self, workers: int) -> None:
        os.environ.setdefault("OMP_NUM_THREADS", "1")  # inherited by the spawned workers
        self.pool = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=_one_thread
        )

    def map(self, fn: Callable[..., Any], args: Sequence[tuple]) -> Iterator[Any]:
        futures = [self.pool.submit(fn, *a) for a in args]
        try:
            for f in as_completed(futures):
                yield f.result()
        except BrokenProcessPool:
            raise ClusterError(
                "a local worker process died (out of memory, or killed); rerun, or count "
                "with --dask, which re-runs the tasks of a dead worker"
            ) from None
        finally:
            for f in futures:
                f.cancel()

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


class DaskCluster:
    """Tasks on a Dask cluster (`--dask ADDRESS`, or `--dask local` for a LocalCluster).

    Count tables stay on the workers: they are merged there as a balanced
    tree and only the merged table comes back.
    """

    def __init__(self, address: str, workers: int = 2, timeout: float | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ClusterError(
                "--dask needs dask.distributed: pip install 'ngramkit[dask]'"
            ) from None
        self.cluster: Any = None  # a LocalCluster started for the run, or None
        self.client: Any = None
        self.owned = True  # close() closes the client and the cluster
        if address == "local":
            self.cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            address = self.cluster.scheduler_address
        timeout = timeout or CONNECT_TIMEOUT
        try:
            self.client = Client(address, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as e:
            self.close()
            raise ClusterError(
                f"cannot reach the Dask scheduler at {address} within {timeout:g} s "
                f"({type(e).__name__})"
            ) from None

    @classmethod
    def from_client(cls, client: Any) -> DaskCluster:
        """Use a client the caller owns (and closes)."""
        self = cls.__new__(cls)
        self.cluster, self.client, self.owned = None, client, False
        return self

    def map(self, fn: Callable[..., Any], args: Sequence[tuple]) -> Iterator[Any]:
        for f in self.map_handles(fn, args):
            yield f.result()

    def map_handles(self, fn: Callable[..., Any], args: Sequence[tuple]) -> Iterator[Any]:
        """Futures of the tasks as they finish; their results stay on the workers."""
        import distributed

        futures = [self.client.submit(fn, *a, pure=False) for a in args]
        for f in distributed.as_completed(futures):
            if f.status == "error":
                _result(f)  # raises the task's own error (a DataError, say)
            yield f

    def merge(self, tables: list[Any]) -> NgramCounts:
        """Merge futures of tables on the cluster (merge_all's balanced tree of tasks)."""

        def submit(a: Any, b: Any) -> Any:  # runs on a worker, next to where a and b are
            return self.client.submit(NgramCounts.merge, a, b, pure=False)

        return _result(merge_all(tables, submit))

    def close(self) -> None:
        if self.owned:
            if self.client is not None:
                self.client.close()
            if self.cluster is not None:
                self.cluster.close()


def _result(future: Any) -> Any:
    """future.result(), with the cluster's own failures as one-line errors."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker:
        raise ClusterError(
            "a shard task killed its Dask worker again and again (out of memory?); "
            "use more shards (--shards) or workers with more memory"
        ) from None
    except ModuleNotFoundError as e:
        raise ClusterError(
            f"a Dask worker cannot import {e.name}: install ngramkit on every worker"
        ) from None
