"""ngramkit: pluggable n-gram language models for short items.

The public API, re-exported lazily so that `import ngramkit` (and
`ngramkit --help`) stays fast and does not import torch.

    >>> from ngramkit import CountLM, read_items
    >>> model = CountLM(order=2, smooth=1).fit(read_items("examples/names.txt").items)
    >>> round(model.logprob("emma"), 3)
    -12.572
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "LanguageModel": "model",
    "TrainingInfo": "model",
    "OOVError": "errors",
    "Option": "options",
    "Vocabulary": "tokenizer",
    "Corpus": "corpus",
    "NgramCounts": "counts",
    "WordList": "reader",
    "read_items": "reader",
    "train_val_split": "data",
    "corpus_metrics": "evaluate",
    "token_breakdown": "evaluate",
    "Metrics": "results",
    "ItemScore": "results",
    "sample": "sampling",
    "save": "persist",
    "load": "persist",
    "get_backend": "registry",
    "NgramkitError": "errors",
    "DataError": "errors",
    "OptionError": "errors",
    "BackendError": "errors",
    "ModelFileError": "errors",
    "NotFittedError": "errors",
    "TrainingError": "errors",
    "CountLM": "backends.count",
    "NeuralLM": "backends.neural",
}
_RENAMED = {"get_backend": "get"}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from .backends.count import CountLM
    from .backends.neural import NeuralLM
    from .corpus import Corpus
    from .counts import NgramCounts
    from .data import train_val_split
    from .errors import (
        BackendError,
        DataError,
        ModelFileError,
        NgramkitError,
        NotFittedError,
        OOVError,
        OptionError,
        TrainingError,
    )
    from .evaluate import corpus_metrics, token_breakdown
    from .model import LanguageModel, TrainingInfo
    from .options import Option
    from .persist import load, save
    from .reader import WordList, read_items
    from .registry import get as get_backend
    from .results import ItemScore, Metrics
    from .sampling import sample
    from .tokenizer import Vocabulary


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ngramkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), _RENAMED.get(name, name))
    globals()[name] = value
    return value
