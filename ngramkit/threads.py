"""How many threads ngramkit's work runs on: the one home of that policy.

torch's intra-op threads pay on long tensor passes and cost on short ones
(on a busy machine a spinning worker waits for a core someone else holds),
so the CLI starts torch on one thread (cli/__init__.py sets OMP_NUM_THREADS=1
unless the user set it) and widens it only around passes long enough to
gain: a large fit's estimate (`wide`). Counting a large corpus runs its
chunks on a small pool of Python threads (`in_order`): torch releases the
GIL inside its operators, and a chunk is milliseconds of work, so the pool's
threads wait on a queue, they do not spin.

A count the user chose is kept: with OMP_NUM_THREADS set by the user, or in
Python (where torch starts on every core and `torch.set_num_threads` is the
user's), `wide` changes nothing and the pool has torch's thread count.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from . import memory

MAX_THREADS = 4  # beyond this, memory bandwidth, not cores, bounds counting and the estimate
WIDE_MIN = 2**20  # table entries from which an estimate's passes gain from intra-op threads

T = TypeVar("T")
R = TypeVar("R")

_cli_default = False  # the CLI chose torch's one thread (the user did not)


def cli_default() -> None:
    """Called by the CLI when it set OMP_NUM_THREADS=1 itself: large work may widen."""
    global _cli_default
    _cli_default = True


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def pool_size() -> int:
    """Threads for chunked counting: the cores (at most MAX_THREADS) under the CLI's
    default, else torch's thread count (what the user or torch chose), at least 1."""
    import torch

    wanted = cores() if _cli_default else torch.get_num_threads()
    return max(1, min(wanted, MAX_THREADS))


def in_order(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """fn(x) for each of `items`, in their order, on `workers` threads.

    At most `workers` calls are pending at once, so memory holds that many
    results, not all of them. One worker, or one item: a plain loop in this thread.
    """
    items = iter(items)
    first = list(itertools.islice(items, 2))
    if workers <= 1 or len(first) < 2:
        for x in itertools.chain(first, items):
            yield fn(x)
        return
    items = itertools.chain(first, items)
    memory.share_heap()  # before the pool's threads first allocate
    pool = ThreadPoolExecutor(workers, thread_name_prefix="ngramkit")
    pending: deque[Future[R]] = deque()
    try:
        for x in items:
            pending.append(pool.submit(fn, x))
            if len(pending) >= workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # an error or a closed generator too


@contextlib.contextmanager
def wide(entries: int) -> Iterator[None]:
    """Torch on the cores (at most MAX_THREADS) inside, for a pass over `entries`
    table entries of at least WIDE_MIN, when the CLI chose one thread; restored after."""
    import torch

    threads = torch.get_num_threads()
    target = min(cores(), MAX_THREADS)
    change = _cli_default and entries >= WIDE_MIN and threads < target
    if change:
        torch.set_num_threads(target)
    try:
        yield
    finally:
        if change:
            torch.set_num_threads(threads)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread inside (restored after): loading's passes are memory-bound
    and short, and on a busy machine a second thread's wait costs more than it saves
    (the stdlib model's load: 12 ms of CPU on one thread, 25 on two)."""
    import torch

    threads = torch.get_num_threads()
    if threads > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if threads > 1:
            torch.set_num_threads(threads)
