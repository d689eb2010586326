"""How many threads ngramkit's work runs on: the one home of that policy.

torch's intra-op threads pay on long tensor passes and cost on short ones
(on a busy machine a spinning worker waits for a core someone else holds,
and a large fit's estimate and metrics ran several times slower so), so the
CLI starts torch on one thread: cli/__init__.py sets OMP_NUM_THREADS=1
unless the user set it.

Counting a large corpus can run its chunks on a small pool of Python
threads (`in_order`): torch releases the GIL inside its operators, and a
chunk is milliseconds of work, so the pool's threads wait on a queue, they
do not spin. The pool (`pool_size`) has torch's thread count: the user's
OMP_NUM_THREADS or torch.set_num_threads, and in Python torch's default,
every core; under the CLI's own default it has CLI_COUNTING threads (at
most the usable cores), set by `count_on`. Loads run on one thread (`one_thread`).
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

MAX_THREADS = 4  # counting threads at most: beyond, memory bandwidth bounds counting
AHEAD = 8  # calls queued per worker: the workers count on while the caller merges
CLI_COUNTING = 2  # the CLI's counting threads when the user set no thread count
_counting: int | None = None  # counting threads chosen by count_on, else None: torch's

T = TypeVar("T")
R = TypeVar("R")


def count_on(workers: int) -> None:
    """Count on `workers` threads (at most the usable cores) whatever torch's own
    thread count: the CLI's default, whose torch runs on one thread."""
    global _counting
    _counting = workers


def pool_size() -> int:
    """Threads for chunked counting (at most MAX_THREADS): count_on's choice, at most
    the usable cores; else torch's thread count: what the user chose
    (OMP_NUM_THREADS, or in Python torch.set_num_threads), or torch's default,
    the cores.

    On a 2-core machine the CLI's two counting threads made the order-5 stdlib fit
    at 3.06 x 10^7 symbols 0.5 s faster (counting 2.3 -> 1.7 s) and its peak
    25-35 MiB higher (docs/performance.md). Under a `--memory` budget, one thread:
    a second's chunk in flight and the heap's holes took the same fit 9 MiB past
    `--memory 430M`, where one thread stayed under it."""
    if memory.current() is not None:
        return 1
    if _counting is not None:
        return max(1, min(_counting, _cores(), MAX_THREADS))
    import torch

    return max(1, min(torch.get_num_threads(), MAX_THREADS))


def _cores() -> int:
    """Cores this process may run on (its affinity where the system tells it)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def in_order(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """fn(x) for each of `items`, in their order, on `workers` threads.

    `workers` calls run at once and at most AHEAD * workers are queued or done
    and not yet taken, so memory holds that many results (a counted chunk's
    table: ~0.3 MiB), not all of them, and the workers go on while the caller
    merges (with one call queued per worker they idled then: the stdlib
    count took 1.7 s, 1.34 s with 8). One worker, or one item: a plain loop
    in this thread.
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
            if len(pending) >= AHEAD * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # an error or a closed generator too


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
