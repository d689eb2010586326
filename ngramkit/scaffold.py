"""`ngramkit new-backend NAME`: write a plugin package that already works.

The package holds a complete backend (an add-k count table, small enough to
read in a minute and replace), its entry point, a README and a test that
runs the conformance kit. Installed with `pip install -e ngramkit-NAME`,
`ngramkit fit DATA --backend NAME` works and `pytest ngramkit-NAME` passes.
This module only renders and writes files; it imports no backend.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import NgramkitError
from .registry import built_in_names

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "ngramkit backend '{name}'."
readme = "README.md"
requires-python = ">=3.10"
# torch: a range, so that an installed CPU build is kept (an unpinned torch may pull CUDA)
dependencies = ["ngramkit>=0.1", "torch>=2.1,<3"]

[project.optional-dependencies]
test = ["pytest>=8"]

# This table is what makes the package a backend: `ngramkit fit --backend {name}`.
[project.entry-points."ngramkit.backends"]
{name} = "{module}.model:{cls}"

[tool.setuptools.packages.find]
where = ["src"]

[tool.setuptools.package-data]
{module} = ["py.typed"]

[tool.pytest.ini_options]
filterwarnings = ["ignore:Failed to initialize NumPy:UserWarning"]  # torch warns; unused here
"""

CONFTEST = '''\
"""Run torch on one thread: the kit's tensors are small, and on a busy machine
torch's worker threads slow them down many times over (7x seen on 2 cores)."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    import torch

    torch.set_num_threads(1)
'''

INIT = '''\
"""{dist}: the '{name}' backend for ngramkit. Cheap to import: no torch here."""

__version__ = "0.1.0"
'''

MODEL = '''\
"""The '{name}' backend: add-k n-gram counts in a dense table. Replace with yours.

    p(w | ctx) = (c(ctx, w) + k) / (c(ctx) + k * V)

The table has V^(order-1) rows of V columns: `_fit` refuses one of more than
MAX_CELLS cells (a high --order or a large vocabulary) instead of trying to
allocate it. torch is imported inside methods: ngramkit imports this module just to list
backends (`ngramkit backends`), which must stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ngramkit import LanguageModel, Option
from ngramkit.errors import ModelFileError, OptionError

MAX_CELLS = 2**24  # 16M float64 cells (128 MiB): the largest dense table _fit builds

if TYPE_CHECKING:
    import torch

    from ngramkit import Corpus


class {cls}(LanguageModel):
    """Add-k n-gram counts, normalized per context."""

    name = "{name}"
    description = "add-k count table (from ngramkit new-backend; replace with your model)"
    options = (
        *LanguageModel.options,
        Option("smooth", float, 1.0, "fake counts added to every n-gram", min=0.001),
    )

    def _fit(self, corpus: Corpus, progress: Any) -> None:
        import torch

        V, k = len(self.require_fitted()), self.order - 1
        if V**self.order > MAX_CELLS:
            raise OptionError(
                f"--order {{self.order}} over {{V}} tokens needs a table of {{V**self.order:,}} "
                f"cells, more than {{MAX_CELLS:,}}: use a lower --order"
            )
        grams, _ = corpus.windows(self.order)  # (T, order): context..., next token
        N = torch.full((V**k * V,), float(self.hparams["smooth"]), dtype=torch.float64)
        N.index_add_(0, self._keys(grams), torch.ones(len(grams), dtype=torch.float64))
        N = N.view(V**k, V)  # (contexts, V): counts plus fake counts
        self.logp_ = (N / N.sum(1, keepdim=True)).log()

    def _keys(self, ids: torch.Tensor) -> torch.Tensor:
        """Rows of token ids [B, n] -> base-V numbers [B] (row index of a context)."""
        import torch

        V = len(self.require_fitted())
        key = torch.zeros(len(ids), dtype=torch.long)
        for j in range(ids.shape[1]):
            key = key * V + ids[:, j]
        return key

    def next_logprobs(self, contexts: torch.Tensor) -> torch.Tensor:
        self.require_fitted()
        return self.logp_[self._keys(contexts)]  # (B, V), rows sum to 1

    def state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        return self.base_config(), {{"logp": self.logp_}}

    @classmethod
    def from_state(cls, config: dict[str, Any], tensors: dict[str, torch.Tensor]) -> {cls}:
        model = cls.from_base_config(config)
        V, k = len(model.require_fitted()), model.order - 1
        logp = tensors.get("logp")
        if logp is None or tuple(logp.shape) != (V**k, V):
            raise ModelFileError("{name} model lacks its [V^(order-1), V] table 'logp'")
        model.logp_ = logp
        return model
'''

TEST = '''\
"""The '{name}' backend keeps ngramkit's contract (one pytest case per rule)."""

from ngramkit.testing import Backend, Check, parametrize_checks


@parametrize_checks("{name}")
def test_conformance(backend: Backend, check: Check) -> None:
    check(backend)
'''

README = """\
# {dist}

The `{name}` backend for ngramkit, the pluggable n-gram toolkit. It starts as
an add-k count table in a dense `[V^(order-1), V]` matrix
(`src/{module}/model.py`): replace it with your model, keep the tests green.

    pip install -e .                       # registers the entry point '{name}'
    ngramkit backends                      # {name} is listed, status ok
    ngramkit fit names.txt --backend {name} --smooth 0.5
    ngramkit sample names.{name}.ngk -n 5
    pytest                                 # ngramkit's conformance kit

Options (see `ngramkit fit --backend {name} --help`): `--order N`, `--smooth K`
(fake counts added to every n-gram, > 0).

The contract is documented in `python -m pydoc ngramkit.model`, the
conformance kit in `python -m pydoc ngramkit.testing`, and the plugin guide
in ngramkit's docs (docs/plugins.md in its repository).
"""


def identifiers(name: str) -> dict[str, str]:
    """Names derived from a backend name: identifiers("my-lm")["cls"] == "MyLmLM"."""
    if not NAME.match(name):
        raise NgramkitError(
            f"backend name {name!r} must be lowercase letters, digits, '-' or '_', "
            "starting with a letter (at most 40 characters)"
        )
    if name in built_in_names():
        raise NgramkitError(
            f"backend name {name!r} is ngramkit's own backend: a plugin of that name would "
            "be shadowed by it; choose another name"
        )
    words = re.split(r"[-_]", name)
    return {
        "name": name,
        "dist": f"ngramkit-{name}",
        "module": f"ngramkit_{name.replace('-', '_')}",
        "cls": "".join(w.capitalize() for w in words if w) + "LM",
    }


def files(name: str) -> dict[str, str]:
    """Relative path -> content of the package for backend `name`."""
    ids = identifiers(name)
    module = ids["module"]
    return {
        "pyproject.toml": PYPROJECT.format(**ids),
        "README.md": README.format(**ids),
        f"src/{module}/__init__.py": INIT.format(**ids),
        f"src/{module}/model.py": MODEL.format(**ids),
        f"src/{module}/py.typed": "",
        "tests/conftest.py": CONFTEST,
        f"tests/test_{module}.py": TEST.format(**ids),
    }


def write_package(name: str, parent: str | Path = ".") -> Path:
    """Write the package into PARENT/ngramkit-NAME (which must not exist); returns it."""
    root = Path(parent) / identifiers(name)["dist"]
    if not Path(parent).is_dir():
        raise NgramkitError(f"folder {parent} does not exist")
    if root.exists():
        raise NgramkitError(f"{root} already exists; choose another name or folder")
    try:
        for rel, text in files(name).items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise NgramkitError(f"cannot write {root}: {e.strerror or e}") from None
    return root
