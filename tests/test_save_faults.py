"""Saves survive faults: SIGKILL mid-save, and two writers on one path.

Writers are forked children (no interpreter start-up, so dozens of trials
take a few seconds) that call ngramkit.persist.save in a loop until killed.
After each kill the target must hold exactly the old model's bytes or the
new one's (or nothing, when there was no old model), and load. Temporary
files left by killed writers are counted: they show the kills landed inside
saves, and the cleanup of stale ones is tested on its own.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time
from pathlib import Path

import pytest

from ngramkit import CountLM, load, save
from ngramkit.container import remove_stale_temps

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or not hasattr(os, "fork"), reason="needs fork and SIGKILL"
)
TRIALS = 30


@pytest.fixture(scope="module")
def models(names: list[str]) -> tuple[CountLM, CountLM]:
    """Two different models, big enough (order 4: ~100 kB files) for a save to take a while."""
    return CountLM(order=4).fit(names[:4000]), CountLM(order=4, smooth=0.5).fit(names[4000:8000])


def _writer(model: CountLM, path: Path, times: int = 10**6) -> int:
    """Fork a child saving `model` to `path` `times` times; returns its pid."""
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        try:
            for _ in range(times):
                save(model, path)
        finally:
            os._exit(0)
    return pid


def _reap(pid: int) -> None:
    os.waitpid(pid, 0)


def test_sigkill_during_save_leaves_old_or_new(tmp_path: Path, models, record_property) -> None:
    old_model, new_model = models
    rng = random.Random(7)
    old = save(old_model, tmp_path / "old.ngk").read_bytes()
    new = save(new_model, tmp_path / "new.ngk").read_bytes()
    target = tmp_path / "m.ngk"
    seen = {"old": 0, "new": 0, "none": 0}
    leftovers = 0
    for trial in range(TRIALS):
        fresh = trial % 4 == 3  # every 4th trial: no old model there yet
        if fresh:
            target.unlink(missing_ok=True)
        else:
            target.write_bytes(old)
        pid = _writer(new_model, target)
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(pid, signal.SIGKILL)
        _reap(pid)
        if not target.exists():
            assert fresh, "the old model vanished"
            seen["none"] += 1
        else:
            got = target.read_bytes()
            assert got in (old, new), f"trial {trial}: a mix of {len(got)} bytes"
            seen["old" if got == old else "new"] += 1
            load(target)  # and it loads
        temps = list(tmp_path.glob(".m.ngk.*.tmp"))
        leftovers += len(temps)
        for t in temps:
            t.unlink()
    record_property("outcomes", {**seen, "temp files left": leftovers})  # --junitxml shows it
    assert sum(seen.values()) == TRIALS
    assert seen["new"] > 0  # some saves completed before the kill
    assert seen["old"] + seen["none"] > 0  # and some kills came before the first rename
    assert leftovers > 0  # some kills landed mid-write, leaving a temporary file


def test_two_writers_leave_one_whole_file(tmp_path: Path, models) -> None:
    """Two processes save different models to one path 8 times each while we read it."""
    a_model, b_model = models
    a = save(a_model, tmp_path / "a.ngk").read_bytes()
    b = save(b_model, tmp_path / "b.ngk").read_bytes()
    target = tmp_path / "m.ngk"
    alive = {_writer(a_model, target, 8), _writer(b_model, target, 8)}
    reads = 0
    while alive:
        alive = {pid for pid in alive if os.waitpid(pid, os.WNOHANG) == (0, 0)}  # reap
        if target.exists():
            assert target.read_bytes() in (a, b)  # every read sees one whole file
            reads += 1
        time.sleep(0.001)
    assert target.read_bytes() in (a, b)
    load(target)
    assert not list(tmp_path.glob(".m.ngk.*.tmp"))  # finished writers leave nothing
    assert reads > 0


def test_stale_temp_files_are_removed_fresh_ones_kept(tmp_path: Path, models) -> None:
    target = tmp_path / "m.ngk"
    stale, fresh = tmp_path / ".m.ngk.abc123.tmp", tmp_path / ".m.ngk.def456.tmp"
    other = tmp_path / ".other.ngk.abc123.tmp"
    for p in (stale, fresh, other):
        p.write_bytes(b"half a model")
    hours_ago = time.time() - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    os.utime(other, (hours_ago, hours_ago))
    save(models[0], target)
    assert not stale.exists()
    assert fresh.exists()  # may be a live writer's
    assert other.exists()  # another model's: not ours to judge
    assert remove_stale_temps(target, older_than=0) == [fresh]


@pytest.mark.parametrize("old_mode", [None, 0o640])
def test_saved_files_get_the_usual_mode(tmp_path: Path, models, old_mode) -> None:
    """Not mkstemp's 0o600: the umask's mode for a new file, the old file's when replacing."""
    target = tmp_path / "m.ngk"
    if old_mode is not None:
        target.write_bytes(b"old")
        target.chmod(old_mode)
    save(models[0], target)
    umask = os.umask(0)
    os.umask(umask)
    want = old_mode if old_mode is not None else 0o666 & ~umask
    assert target.stat().st_mode & 0o777 == want
