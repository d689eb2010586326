"""Errors that ngramkit reports to users.

Every exception here carries a message meant to be shown as one line: the CLI
prints `Error: <message>` and exits non-zero, never a traceback. Library users
can catch `NgramkitError` to handle any of them. `ConformanceError`, raised
to backend authors' test runners by ngramkit.testing, is an AssertionError
whose message takes three lines per rule broken (rule, found, fix).
"""

from __future__ import annotations

import re

_PARAM = re.compile(r"<([a-z][a-z0-9_]*)>")
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}


def visible(text: str) -> str:
    """`text` with each C0 and C1 control character (ESC, CSI, CR, BS, DEL, tab, ...)
    written as its escape, so that a terminal shows it and obeys none of them:
    visible("ol\x1b[31mivia") == "ol\\x1b[31mivia". Every table, report and error
    line passes text from files and lists through it; machine formats do not."""
    return text.translate(_CONTROLS)


class NgramkitError(Exception):
    """Base class: a user-facing problem with a one-line explanation."""


class DataError(NgramkitError):
    """A word list that cannot be read: missing, a directory, bad bytes, empty."""


class OptionError(NgramkitError, ValueError):
    """A hyperparameter or option value outside what the backend declares.

    The message names the parameter as Python spells it (`order must be between
    1 and 32, got 0`); `cli` is the same problem in the command line's words
    (`--order must be ...`), which the CLI prints. Without one, both are the message.
    """

    def __init__(self, message: str, cli: str | None = None) -> None:
        super().__init__(message)
        self.cli = message if cli is None else cli

    @classmethod
    def named(cls, text: str, /, **values: object) -> OptionError:
        """The error of `text` whose parameters are written `<name>`: "top_k" in the
        message, "--top-k" in `cli`; then `values` fill its {fields} (user text goes
        there, never into `text`, so no `<name>` of theirs is rewritten).
        named("<top_k> must be >= 1, got {k}", k=0).cli == "--top-k must be >= 1, got 0"."""
        python = _PARAM.sub(lambda m: m[1], text).format(**values)
        cli = _PARAM.sub(lambda m: "--" + m[1].replace("_", "-"), text).format(**values)
        return cls(python, cli=cli)


class OutputError(NgramkitError):
    """An output file (a report export) that cannot be written: a full disk, no permission."""


class BackendError(NgramkitError):
    """An unknown, broken or missing backend."""


class ModelFileError(NgramkitError):
    """A model file that is damaged, foreign, too new, or cannot be written."""


class NotFittedError(NgramkitError):
    """A model used before `fit` (or `from_state`) gave it learned state."""


class TrainingError(NgramkitError):
    """Training failed in a way the user can fix (divergence, a missing device)."""


class ArpaError(NgramkitError):
    """An ARPA file that cannot be read or a model that cannot be written as one."""


class ConformanceError(AssertionError):
    """A backend broke a rule of the contract; the message says which and how to fix it."""


class CountTableError(NgramkitError):
    """Count tables that cannot be merged, or a damaged or foreign count table file."""


class ClusterError(NgramkitError):
    """A Dask scheduler that cannot be reached, or dask that is not installed."""


class OOVError(NgramkitError, KeyError):
    """An item holds symbols the model's vocabulary does not have."""

    def __str__(self) -> str:  # KeyError's str() would quote the message
        return str(self.args[0])


class SamplingError(NgramkitError):
    """Constrained sampling that stopped short: `found` holds the items it did draw."""

    def __init__(self, message: str, found: list[str]) -> None:
        super().__init__(message)
        self.found = found
