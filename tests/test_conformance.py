"""Every backend that ships with ngramkit passes the conformance kit.

Parametrized over the installed entry points of the `ngramkit` distribution,
so a new built-in backend is checked as soon as it is registered in
pyproject.toml. Plugins under plugins/ run the kit in their own tests.
Backends that train iteratively get their step or epoch count cut to
QUICK_STEPS (whatever they call it, if they declare it); the count backend
is also checked unsmoothed and at orders 1 and 4, where zero counts and
empty contexts live.
"""

from __future__ import annotations

from typing import Any

from ngramkit import registry
from ngramkit.testing import Backend, as_backend, parametrize_checks

QUICK_STEPS = {"steps": 30, "epochs": 2, "max_steps": 30, "iterations": 30}


def quick(name: str) -> dict[str, Any]:
    """Short-training hparams for backend `name`: only the knobs it declares."""
    cls = registry.installed()[name].cls
    declared = {o.name for o in getattr(cls, "options", ())}
    return {k: v for k, v in QUICK_STEPS.items() if k in declared}


def builtin() -> list[Backend]:
    names = [n for n, e in registry.installed().items() if e.distribution == registry.HOME]
    subjects = [as_backend(n, quick(n)) for n in names]
    if "count" in names:
        subjects += [
            as_backend("count", {"order": 1}),
            as_backend("count", {"order": 3, "smooth": 0}),
            as_backend("count", {"order": 4, "smooth": 0.1}),
        ]
    return subjects


@parametrize_checks(*builtin())
def test_builtin_backend_conforms(backend: Backend, check: Any) -> None:
    check(backend)


def test_the_count_backend_is_among_them() -> None:
    assert "count" in {b.name for b in builtin()}
