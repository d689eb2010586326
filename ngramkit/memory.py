"""Process memory: sizes as users write them, resident memory now, heap given back.

`parse_size("500M")` is the `--memory` budget in bytes (lmplz's -S
suffixes: K, M, G, T, powers of 1024; a bare number is bytes; a `%` of the
machine's physical memory). `resident()` and `peak()` read /proc (0 where
it is not there). `release()` hands freed heap pages back to the system
(glibc's malloc_trim): torch frees a large fit's temporaries into the C
heap, which keeps them resident otherwise, so the next stage of the fit
would start from the previous stage's peak.

`budget(limit, temp_dir)` is the `--memory` budget in force for a block of
code (a context variable, so nothing else's signature changes): counting
(counts.NgramCounts.count) reads it with `current()` and spills sorted runs
of counts to disk when its tables would pass it (counting/spill.py).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .errors import OptionError

UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgtb%]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_size(text: str, flag: str = "--memory") -> int:
    """Bytes of a size such as '500M', '1.5G', '65536', '10%' (of physical memory).

    OptionError (one line) for anything else, or for a size of 0.
    """
    m = SIZE.match(str(text))
    if m is None:
        raise OptionError(
            f"{flag} {text!r}: not a size; give a number with K, M, G or T (powers of "
            "1024, as lmplz -S takes them), e.g. 500M, or a percentage of memory, e.g. 50%"
        )
    value, unit = float(m.group(1)), m.group(2).lower()
    if unit == "%":
        size = value / 100 * physical()
    else:
        size = value * UNITS[unit]
    if size < 1:
        raise OptionError(f"{flag} {text!r}: a budget must be more than 0 bytes")
    return int(size)


def physical() -> int:
    """Bytes of physical memory (sysconf), 0 where unknown."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def _status(field: str) -> int:
    """A /proc/self/status field in bytes (VmRSS, VmHWM), 0 where unreadable."""
    try:
        for line in Path("/proc/self/status").read_text().split("\n"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def resident() -> int:
    """Resident memory of this process now, bytes (0 where /proc is missing)."""
    return _status("VmRSS")


def peak() -> int:
    """Peak resident memory of this process so far, bytes (0 where /proc is missing)."""
    return _status("VmHWM")


def mib(n: int) -> str:
    """Bytes as MiB for messages: '512 MiB', '0.5 MiB'."""
    return f"{n / 2**20:,.0f} MiB" if n >= 2**24 else f"{n / 2**20:.2g} MiB"


@cache
def _libc_function(name: str) -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """glibc's `name` (malloc_trim, mallopt), or None elsewhere."""
    lib = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(lib), name) if lib else None
    except (OSError, AttributeError):
        return None


def _trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    return _libc_function("malloc_trim")


M_ARENA_MAX = -8  # glibc's mallopt parameter number


@cache
def share_heap() -> None:
    """Let threads started from now on allocate from the one heap (glibc's M_ARENA_MAX 1).

    glibc gives each new thread a heap of its own, and memory a thread frees stays
    in its heap for it alone: a count on a pool of threads peaked about 30 MiB
    higher that way. Tensor allocations are few and large, so a shared heap's
    lock costs nothing measurable. Elsewhere nothing.
    """
    mallopt = _libc_function("mallopt")
    if mallopt is not None:
        mallopt(M_ARENA_MAX, 1)


def release() -> None:
    """Give freed heap memory back to the system (glibc malloc_trim; elsewhere nothing)."""
    trim = _trim()
    if trim is not None:
        trim(0)


@dataclass(frozen=True)
class Budget:
    """A memory budget for counting (`fit --memory`): `limit` bytes of resident
    memory, sorted runs spilled under `temp_dir` (None: the system's temp folder)."""

    limit: int
    temp_dir: str | None = None


_BUDGET: ContextVar[Budget | None] = ContextVar("ngramkit_memory_budget", default=None)


def current() -> Budget | None:
    """The budget in force (set by `budget`), or None: count in memory."""
    return _BUDGET.get()


def require(need: int, what: str) -> None:
    """OptionError (one line) when `need` more bytes, for `what`, would pass the budget
    in force: the stages that cannot spill (the estimate) are refused up front
    rather than let the process pass the budget. No budget: nothing."""
    limit = current()
    if limit is None:
        return
    release()  # what the stages before freed is not held
    held = resident()
    if held + need > limit.limit:
        raise OptionError(
            f"--memory {mib(limit.limit)} is too small: {what} needs about {mib(need)} "
            f"in memory above the {mib(held)} this process holds (only counting spills "
            f"to disk); give at least {mib(held + need)}"
        )


@contextmanager
def budget(limit: int | None, temp_dir: str | None = None) -> Iterator[None]:
    """Count under `limit` bytes of resident memory inside the block (None: no budget).

    The temporary folder is checked first: OptionError (one line) when it is
    not a writable folder, before any work is done.
    """
    if limit is None:
        yield
        return
    if temp_dir is not None:
        check_temp_dir(temp_dir)
    token = _BUDGET.set(Budget(limit, temp_dir))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def check_temp_dir(path: str) -> None:
    """OptionError unless `path` is a folder this process can create files in."""
    import tempfile

    if not Path(path).is_dir():
        raise OptionError(f"--temp-dir {path}: no such folder")
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise OptionError(f"--temp-dir {path}: cannot write there ({e.strerror})") from None
