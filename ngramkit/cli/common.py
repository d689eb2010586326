"""Helpers shared by the CLI commands: consoles, JSON output, model loading."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console


def console(stderr: bool = False) -> Console:
    """A console for human output (stderr when stdout carries JSON)."""
    return Console(stderr=stderr, highlight=False)


def emit_json(data: Any) -> None:
    """Print one JSON object to stdout and nothing else."""
    click.echo(json.dumps(data, ensure_ascii=False, allow_nan=False))


def interactive() -> bool:
    return sys.stderr.isatty()


def load_model(path: str) -> Any:
    """A ModelFile, or one clear line (ModelFileError) for a bad path or file."""
    from ..persist import load

    return load(path)


class ProgressBar:
    """A Rich progress bar on stderr, shown only when stderr is a terminal.

    Use as a context manager; the instance is the `progress(done, total,
    **info)` callback that long fits call (info may carry `loss`).
    """

    def __init__(self, label: str, enabled: bool | None = None) -> None:
        self.label = label
        self.enabled = interactive() if enabled is None else enabled
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TextColumn("{task.fields[info]}"),
                TimeRemainingColumn(),
                console=console(stderr=True),
                transient=True,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(self.label, total=None, info="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def __call__(self, done: int, total: int | None = None, **info: Any) -> None:
        if self._progress is None:
            return
        text = "  ".join(
            f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in info.items()
        )
        self._progress.update(self._task, completed=done, total=total, info=text)
