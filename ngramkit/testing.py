"""Conformance kit for backend authors: does a backend keep ngramkit's contract?

One line in a plugin's tests runs every check as its own pytest case, in the
spirit of scikit-learn's `parametrize_with_checks`:

    from ngramkit.testing import parametrize_checks

    @parametrize_checks("mlp", hparams={"steps": 200})
    def test_conformance(backend, check):
        check(backend)

or, outside pytest, `check_backend("mlp", hparams=...)` runs them all and
raises one ConformanceError listing every rule broken. A backend may be given
by its entry-point name (then registration is checked against the installed
entry points) or as a class.

Each check guards one rule of the contract (DESIGN.md, model.py). When it
fails, the message names the rule, what was found, and how to fix it.
`hparams` should make training quick (few steps): the checks fit a handful
of times on corpora of a few items.

This module does not import pytest unless `parametrize_checks` is called.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from . import persist, registry
from .container import DTYPES
from .corpus import Corpus
from .errors import ConformanceError, NgramkitError, NotFittedError, OptionError
from .keys import key_digits
from .model import LanguageModel
from .options import Option, check_reserved
from .registry import BackendEntry, declaration_error

TINY = ("emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "ella")
"""A few names: small enough to fit in a blink, varied enough to have structure."""
ONE = ("ab",)
"""A one-item corpus: the smallest thing a backend must be able to learn."""
WORDS = ("the cat sat", "the dog sat", "a cat ran", "the dog ran fast")
"""Items for the word tokenizer (each whitespace-separated word is a symbol)."""
TOLERANCE = 1e-4  # nats: float32 rows normalize to ~1e-6, this leaves room
HEAVY = ("torch", "numpy", "scipy", "pandas", "tensorflow", "jax")
"""Packages a backend's module must not import at its top (see check_import_is_light)."""
HIGH_ORDER = 10  # check_high_order fits at this order (or the highest the backend allows)
MIXED = ("Emma", "olivia", "ZOË", "łukasz", "jürgen", "o'neil", "sophia-mae", "x y z q")
"""Items of 33 symbols (capitals, accents, punctuation): V^10 is about 10^15."""

Entries = Mapping[str, BackendEntry] | None
"""The registry to check registration against (None: the installed entry points)."""


class CheckSkipped(Exception):
    """A check not run: the backend could not be loaded or registered, which every other
    check would report again (one root cause, one failure)."""


class _Broken(Exception):
    """Raised inside a check with what was found; the runner adds rule and fix."""


@dataclass
class Backend:
    """The backend under test: a class, its quick hyperparameters and its name.

    entries: the registry to check registration against (default: the
    installed entry points); tests pass a fake one.
    error: why the class could not be loaded, when it was given by name.
    """

    name: str
    cls: type[LanguageModel] | None
    hparams: dict[str, Any] = field(default_factory=dict)
    entries: Entries = None
    error: str | None = None

    def __repr__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The name plus its hparams: count(order=3,smooth=0)."""
        args = ",".join(f"{k}={v}" for k, v in self.hparams.items())
        return f"{self.name}({args})" if args else self.name

    def make(self, **override: Any) -> LanguageModel:
        """A fresh, unfitted instance with the quick hparams (and `override`)."""
        if self.cls is None:
            raise _Broken(f"backend '{self.name}' could not be loaded: {self.error}")
        return self.cls(**{**self.hparams, **override})

    def blocker(self) -> str | None:
        """Why only check_registered can run (the class did not load, or its
        registration is broken), or None; found once per Backend."""
        if "_blocker" not in self.__dict__:
            self.__dict__["_blocker"] = _registration_problem(self)
        return self.__dict__["_blocker"]

    def fitted(self, items: Iterable[str] = TINY, kind: str = "char") -> LanguageModel:
        return self.make().fit(Corpus.from_items(list(items), kind=kind))


@dataclass(frozen=True)
class Check:
    """One rule of the contract and the function that tests it."""

    name: str
    rule: str
    fix: str
    run: Callable[[Backend], None]

    def __repr__(self) -> str:
        return self.name

    def __call__(self, backend: Backend) -> None:
        """Run the check; ConformanceError naming rule, finding and fix on failure.

        A check that cannot run because the backend did not load or register is
        skipped (pytest.skip under pytest, else CheckSkipped) with that reason.
        """
        result = self.outcome(backend)
        if isinstance(result, CheckSkipped) and "pytest" in sys.modules:
            import pytest

            pytest.skip(str(result))
        if result is not None:
            raise result

    def outcome(self, backend: Backend) -> ConformanceError | CheckSkipped | None:
        """None (passed), the ConformanceError it found, or CheckSkipped; never raises."""
        blocker = None if self.run is check_registered else backend.blocker()
        if blocker is not None:
            return CheckSkipped(f"{self.name} skipped: check_registered failed ({blocker})")
        try:
            self.run(backend)
        except _Broken as e:
            detail = str(e)
        except ConformanceError as e:
            return e
        except Exception as e:  # a crash inside the backend is a finding too
            detail = f"raised {type(e).__name__}: {e}"
        else:
            return None
        return ConformanceError(
            f"backend '{backend.name}' fails {self.name}\n"
            f"  rule:  {self.rule}\n  found: {detail}\n  fix:   {self.fix}"
        )


CHECKS: list[Check] = []


def _check(rule: str, fix: str) -> Callable[[Callable[[Backend], None]], Callable[[Backend], None]]:
    def register(fn: Callable[[Backend], None]) -> Callable[[Backend], None]:
        CHECKS.append(Check(fn.__name__, rule, fix, fn))
        return fn

    return register


# -- helpers -----------------------------------------------------------------


def _contexts(rows: list[list[int]], order: int) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.long).reshape(len(rows), order - 1)


def _all_contexts(model: LanguageModel, limit: int = 512) -> torch.Tensor:
    """Every context over the vocabulary when there are few, else a seeded sample."""
    V, k = len(model.require_fitted()), model.order - 1
    if k == 0:
        return torch.zeros(1, 0, dtype=torch.long)  # a unigram model has one context
    if V**k <= limit:
        return key_digits(torch.arange(V**k), V, k)
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, V, (limit, k), generator=g)


def _rows_problem(rows: Any, batch: int, V: int) -> str | None:
    """Why `rows` is not [batch, V] of log-distributions, or None if it is."""
    if not isinstance(rows, torch.Tensor):
        return f"returned {type(rows).__name__}, not a torch.Tensor"
    if tuple(rows.shape) != (batch, V):
        return f"shape {tuple(rows.shape)}, expected ({batch}, {V}) = (contexts, vocabulary)"
    if rows.dtype not in (torch.float32, torch.float64):
        return f"dtype {rows.dtype}, expected torch.float32 or torch.float64"
    if bool(torch.isnan(rows).any()):
        return "holds NaN"
    if bool((rows > TOLERANCE).any()):
        found = f"holds log-probabilities > 0 (max {float(rows.max()):.4g}): probabilities above 1"
        looks = bool(((rows >= 0) & (rows <= 1)).all())  # p where log p is due
        return found + ("; every value lies in [0, 1]: these are probabilities" if looks else "")
    if batch:
        lse = torch.logsumexp(rows.double(), 1)
        worst = float((lse.abs()).max())
        if not worst <= TOLERANCE:
            i = int(lse.abs().argmax())
            return f"row {i} has logsumexp {float(lse[i]):.4g}, not 0: not a distribution"
    return None


def _plain_logprob(model: LanguageModel, item: str) -> float:
    """log p(item) by a plain loop over next_logprobs, one context at a time."""
    vocab, n = model.require_fitted(), model.order
    ids = [0] * (n - 1) + vocab.encode(item) + [0]  # boundaries pad the item
    total = 0.0
    for t in range(n - 1, len(ids)):
        row = model.next_logprobs(_contexts([ids[t - n + 1 : t]], n))  # (1, V)
        total += float(row[0, ids[t]])
    return total


def _distributions(model: LanguageModel, contexts: torch.Tensor, what: str) -> torch.Tensor:
    """next_logprobs(contexts) [B, V]; _Broken unless its rows are log-distributions."""
    rows = model.next_logprobs(contexts)
    problem = _rows_problem(rows, len(contexts), len(model.vocab or ()))
    if problem:
        raise _Broken(f"next_logprobs on {what}: {problem}")
    return rows


# -- the checks ----------------------------------------------------------------


@_check(
    "the backend is registered under its name in entry-point group 'ngramkit.backends' "
    "and the entry point loads a LanguageModel subclass whose `name` is that name",
    'add `[project.entry-points."ngramkit.backends"] NAME = "package.module:Class"` to '
    'pyproject.toml, set `name = "NAME"` on the class, and reinstall (pip install -e .)',
)
def check_registered(backend: Backend) -> None:
    problem = backend.blocker()
    if problem is not None:
        raise _Broken(problem)


def _registration_problem(backend: Backend) -> str | None:
    """What check_registered finds wrong (see its rule), or None."""
    entries = registry.installed() if backend.entries is None else backend.entries
    entry = entries.get(backend.name)
    if entry is None:
        found = ", ".join(entries) or "none"
        return f"no entry point named '{backend.name}' (registered: {found})"
    if entry.shadows:  # the kit would test the winner, which may not be the author's class
        others = ", ".join(f"{s.class_path} from {s.distribution}" for s in entry.shadows)
        return (
            f"the name '{backend.name}' is claimed twice: {entry.class_path} from "
            f"{entry.distribution} wins ({registry.RULE}) over {others}; rename your backend"
        )
    if entry.cls is None:
        return f"the entry point {entry.value} is broken: {entry.error}"
    if backend.cls is not None and entry.cls is not backend.cls:
        return f"the entry point loads {entry.class_path}, not {backend.cls.__qualname__}"
    declared = getattr(entry.cls, "name", None)
    if declared != backend.name:
        return f"{entry.class_path}.name is {declared!r}, not {backend.name!r}"
    return None


@_check(
    "`name`, a one-line `description` and `options` are declared; options are Option "
    "objects with unique snake_case names, a help line, defaults that pass their own "
    "validation, 'order' among them, and no name that `ngramkit fit` uses itself",
    'declare `options = (*LanguageModel.options, Option("lr", float, 0.1, "learning '
    'rate", min=0), ...)` on the class; rename options that clash',
)
def check_options_declared(backend: Backend) -> None:
    cls = backend.make().__class__
    if not cls.name or not isinstance(cls.name, str):
        raise _Broken("class attribute `name` is empty")
    desc = cls.description
    if not isinstance(desc, str) or not desc.strip() or "\n" in desc:
        raise _Broken(f"`description` must be one non-empty line, got {desc!r}")
    problem = declaration_error(cls.name, cls)  # what the registry refuses at load
    if problem is not None:
        raise _Broken(problem)
    if "order" not in {o.name for o in cls.options}:
        raise _Broken("no 'order' option: the base class reads hparams['order']")
    try:
        check_reserved(cls.options, cls.name)
    except OptionError as e:
        raise _Broken(str(e)) from None
    for o in cls.options:
        if o.name != o.name.lower():
            raise _Broken(f"option name {o.name!r} is not a snake_case identifier")
        if not o.help:
            raise _Broken(f"option '{o.name}' has no help line")


def _bad_values(opt: Option) -> list[Any]:
    """Values `opt` must refuse: out of its range, outside its choices, wrong type."""
    bad: list[Any] = []
    if opt.parse is not None:
        return bad
    if opt.type in (int, float):
        bad.append("not-a-number")
        if opt.min is not None:
            bad.append(opt.min if opt.min_exclusive else opt.min - 1)
        if opt.max is not None:
            bad.append(opt.max + 1)
    if opt.choices:
        bad.append("not-" + "-".join(opt.choices))
    return bad


@_check(
    "the constructor validates hyperparameters against the declaration: an unknown name, "
    "a value out of its declared range or of the wrong type raises OptionError",
    "call `super().__init__(**hparams)` from your __init__ (it validates) and read values "
    "from `self.hparams`; do not accept **kwargs of your own",
)
def check_options_validate(backend: Backend) -> None:
    model = backend.make()
    missing = [o.name for o in model.options if o.name not in model.hparams]
    if missing:
        raise _Broken(f"self.hparams lacks declared options: {', '.join(missing)}")
    try:
        backend.make(no_such_option=1)
    except OptionError:
        pass
    else:
        raise _Broken("no_such_option=1 was accepted")
    for opt in model.options:
        for value in _bad_values(opt):
            try:
                backend.make(**{opt.name: value})
            except OptionError:
                continue
            raise _Broken(f"{opt.name}={value!r} was accepted (declared {opt.describe_range()})")


@_check(
    "an unfitted model raises NotFittedError from next_logprobs, logprob and sample",
    "start next_logprobs with `self.require_fitted()`",
)
def check_unfitted(backend: Backend) -> None:
    model = backend.make()
    calls: dict[str, Callable[[], Any]] = {
        "next_logprobs": lambda: model.next_logprobs(
            _contexts([[0] * (model.order - 1)], model.order)
        ),
        "logprob": lambda: model.logprob("ab"),
        "sample": lambda: model.sample(1),
    }
    for what, call in calls.items():
        try:
            call()
        except NotFittedError:
            continue
        except Exception as e:
            raise _Broken(f"{what} raised {type(e).__name__}: {e}") from None
        raise _Broken(f"{what} returned a result")


@_check(
    "fit(corpus) on a tiny corpus returns self, sets `vocab`, and leaves a model whose "
    "rows are distributions",
    "implement `_fit(corpus, progress)` (not `fit`): learn from corpus.windows(self.order) "
    "and store the learned state on self",
)
def check_fit_tiny(backend: Backend) -> None:
    model = backend.make()
    corpus = Corpus.from_items(list(TINY))
    out = model.fit(corpus)
    if out is not model:
        raise _Broken(f"fit returned {out!r}, not self")
    if model.vocab != corpus.vocab:
        raise _Broken("model.vocab is not the corpus vocabulary after fit")
    _distributions(model, _all_contexts(model), "every context")


@_check(
    "fit on a one-item corpus works and gives that item a finite log-probability",
    "do not assume several items, distinct contexts or more than one training batch",
)
def check_fit_one_item(backend: Backend) -> None:
    model = backend.fitted(ONE)
    _distributions(model, _all_contexts(model), "every context")
    lp = model.logprob(ONE[0])
    if not (math.isfinite(lp) and lp <= TOLERANCE):
        raise _Broken(f"logprob({ONE[0]!r}) = {lp}, expected a finite value <= 0")


@_check(
    "next_logprobs maps a LongTensor [B, order-1] to a float32/float64 tensor [B, V] of "
    "natural-log probabilities, every row summing to 1 (logsumexp 0), for any B, B=0 included; "
    "token_logprobs gives the same numbers as gathering from it",
    "return `logits.log_softmax(dim=1)` (shape contexts x vocabulary); if you override "
    "token_logprobs, make it equal next_logprobs(contexts).gather(1, targets[:, None])",
)
def check_next_logprobs(backend: Backend) -> None:
    model = backend.fitted()
    V, k = len(model.require_fitted()), model.order - 1
    for B in (0, 1, 7):
        g = torch.Generator().manual_seed(B)
        ctx = torch.randint(0, V, (B, k), generator=g)
        before = ctx.clone()
        rows = _distributions(model, ctx, f"{B} contexts")
        if not torch.equal(ctx, before):
            raise _Broken("next_logprobs modified its input contexts")
        targets = torch.randint(0, V, (B,), generator=g)
        got = model.token_logprobs(ctx, targets)
        want = rows.gather(1, targets.unsqueeze(1)).squeeze(1)
        if tuple(got.shape) != (B,) or not torch.allclose(
            got.double(), want.double(), atol=TOLERANCE, rtol=0
        ):
            raise _Broken(f"token_logprobs disagrees with next_logprobs on {B} contexts")


@_check(
    "logprob(item) equals the sum of per-token log-probabilities from next_logprobs: "
    "the item's L symbols, then the end boundary, with order-1 boundaries as first context",
    "do not override logprob; if you override token_logprobs, keep it equal to "
    "next_logprobs gathered at the targets",
)
def check_logprob_sum(backend: Backend) -> None:
    model = backend.fitted()
    for item in (*TINY[:3], "ma", "a"):
        got, want = model.logprob(item), _plain_logprob(model, item)
        if not math.isclose(got, want, abs_tol=1e-4, rel_tol=1e-6):
            raise _Broken(f"logprob({item!r}) = {got:.6f}, sum over tokens = {want:.6f}")


@_check(
    "contexts never seen in training (any token ids, boundaries in the middle) still get "
    "valid distributions: no NaN, no error",
    "give unseen contexts a defined distribution (a back-off, or uniform 1/V) instead "
    "of dividing by a zero count",
)
def check_unseen_contexts(backend: Backend) -> None:
    model = backend.fitted()
    V, k = len(model.require_fitted()), model.order - 1
    g = torch.Generator().manual_seed(1)
    odd = torch.randint(0, V, (64, k), generator=g)
    if k:
        odd[::2, -1] = V - 1  # the last symbol, rarely a context in TINY
        odd[1::4, 0] = 0  # a boundary ...
        odd[1::4, -1] = V - 1  # ... followed by anything
    _distributions(model, odd, "unseen contexts")


@_check(
    "the same hyperparameters and data give the same model (seeded), and sample(n, seed) "
    "gives the same n items every time, each ending before the cut",
    "draw every random number from a torch.Generator seeded by a declared option "
    "(e.g. init_seed); keep the boundary (id 0) reachable so items end",
)
def check_seeded(backend: Backend) -> None:
    a, b = backend.fitted(), backend.fitted()
    ctx = _all_contexts(a)
    if not torch.equal(a.next_logprobs(ctx), b.next_logprobs(ctx)):
        raise _Broken("two fits with the same hparams and data give different scores")
    first = a.sample(20, seed=7, cut=64)
    if first != a.sample(20, seed=7, cut=64) or first != b.sample(20, seed=7, cut=64):
        raise _Broken("sample(20, seed=7) gives different items on different calls")
    if len(first) != 20:
        raise _Broken(f"sample(20) gave {len(first)} items")
    vocab = a.require_fitted()
    if any(set(vocab.split(s)) - set(vocab.symbols) for s in first):
        raise _Broken("samples hold symbols outside the vocabulary")
    cut = sum(len(vocab.split(s)) >= 64 for s in first)
    if cut > 10:
        raise _Broken(
            f"{cut} of 20 samples ran to the cut (cut=64): the boundary is (nearly) never drawn"
        )


@_check(
    "state() returns a JSON-able config and named tensors of savable dtypes, and "
    "from_state(config, tensors) rebuilds a model with identical scores and hyperparameters, "
    "also through a real file (save, then load)",
    "start state() from `self.base_config()` and from_state from "
    "`cls.from_base_config(config)`; save every learned tensor (int64/int32/int16/uint8/"
    "float32/float64) under names not of the form __name__ (the file's own), and keep "
    "non-tensor state JSON-able",
)
def check_state_round_trip(backend: Backend) -> None:
    model = backend.fitted()
    config, tensors = model.state()
    try:
        text = json.dumps(config, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as e:
        raise _Broken(f"config is not JSON-able: {e}") from None
    for key, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            raise _Broken(f"state tensor {key!r} is a {type(t).__name__}, not a torch.Tensor")
        if str(t.dtype).removeprefix("torch.") not in DTYPES:
            raise _Broken(
                f"state tensor {key!r} has dtype {t.dtype}, which model files cannot hold"
            )
    copies = {k: t.detach().clone() for k, t in tensors.items()}
    back = type(model).from_state(json.loads(text), copies)
    if back.hparams != model.hparams:
        raise _Broken(f"hparams {back.hparams} after the round trip, {model.hparams} before")
    if back.vocab != model.vocab:
        raise _Broken("the vocabulary changed in the round trip")
    _same_scores(model, back, "the round trip")
    with tempfile.TemporaryDirectory() as folder:  # and through a real model file
        path = persist.save(model, Path(folder) / "model.ngk")
        entries = registry.installed() if backend.entries is None else backend.entries
        _same_scores(model, persist.load(path, entries).model, "save() and load()")


def _same_scores(model: LanguageModel, back: LanguageModel, how: str) -> None:
    """_Broken unless `back` gives `model`'s rows and item scores exactly."""
    ctx = _all_contexts(model)
    if not torch.equal(back.next_logprobs(ctx), model.next_logprobs(ctx)):
        raise _Broken(f"next_logprobs differs after {how}")
    for item in TINY[:3]:
        if back.logprob(item) != model.logprob(item):
            raise _Broken(f"logprob({item!r}) differs after {how}")


@_check(
    "the backend works with the word tokenizer (Corpus.from_items(items, kind='word')): "
    "one symbol per word, V = distinct words + 1",
    "size everything from len(self.vocab) and corpus windows; never assume characters "
    "or a 27-token alphabet",
)
def check_word_tokenizer(backend: Backend) -> None:
    model = backend.fitted(WORDS, kind="word")
    vocab = model.require_fitted()
    if vocab.kind != "word":
        raise _Broken(f"vocab.kind is {vocab.kind!r} after fitting a word corpus")
    _distributions(model, _all_contexts(model), "word contexts")
    lp, want = model.logprob("the cat ran"), _plain_logprob(model, "the cat ran")
    if not (lp == want or math.isclose(lp, want, abs_tol=1e-4)):  # -inf == -inf unsmoothed
        raise _Broken(f"logprob('the cat ran') = {lp}, sum over word tokens = {want}")
    for s in model.sample(5, seed=1, cut=20):
        if set(s.split()) - set(vocab.symbols):
            raise _Broken(f"sample {s!r} is not made of the training words")


@_check(
    "fitted with the unknown token (`--unk`: Corpus.from_items(items, unk=True)), the rows "
    "cover it (the last id) and still sum to 1, and an item with unseen symbols gets a finite "
    "log-probability; a backend that cannot model it declares `supports_unk = False`",
    "size everything from len(self.vocab): the unknown token is one more token; or set "
    "`supports_unk = False` on the class (fit then refuses --unk)",
)
def check_unk(backend: Backend) -> None:
    from .corpus import Corpus

    if not getattr(backend.cls, "supports_unk", True):
        return  # declared: fit refuses --unk for it
    model = backend.make().fit(Corpus.from_items(list(TINY), unk=True))
    if not model.require_fitted().unk:
        raise _Broken("model.vocab has no unknown token after fitting a corpus with one")
    _distributions(model, _all_contexts(model), "every context, the unknown token included")
    lp = model.logprob("zoя")
    if not (math.isfinite(lp) and lp <= TOLERANCE):
        raise _Broken(f"logprob('zoя') = {lp} (z, я unseen), expected a finite value <= 0")


@_check(
    f"importing the backend's module (its entry point's) imports none of {', '.join(HEAVY)}: "
    "`ngramkit backends` and `ngramkit fit --help` import every backend's module",
    "import torch (and any other heavy package) inside the methods that use it; annotations "
    "can use `if TYPE_CHECKING: import torch`",
)
def check_import_is_light(backend: Backend) -> None:
    entries = registry.installed() if backend.entries is None else backend.entries
    module = entries[backend.name].value.partition(":")[0]
    probe = (
        "import importlib, sys; importlib.import_module(sys.argv[1]); "
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run(
        [sys.executable, "-c", probe, module], capture_output=True, text=True, env=env, timeout=300
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise _Broken(f"importing {module} in a new interpreter failed: {last}")
    if done.stdout.split():
        raise _Broken(f"importing {module} imports {', '.join(done.stdout.split())}")


@_check(
    f"fit at a high order (order {HIGH_ORDER}, or the highest the backend declares) on items "
    "of 33 symbols either works or refuses with an NgramkitError (one clear line): it never "
    "tries to allocate a table of V^order cells",
    "store only the n-grams seen (a sparse table, an embedding), or check the size first and "
    "raise OptionError naming the order: `--order 10 over 33 tokens needs ... cells`",
)
def check_high_order(backend: Backend) -> None:
    declared = next((o for o in backend.make().options if o.name == "order"), None)
    top = HIGH_ORDER if declared is None or declared.max is None else int(declared.max)
    order = min(HIGH_ORDER, top)
    try:
        model = backend.make(order=order).fit(list(MIXED))
    except NgramkitError:
        return  # refused in one line: the CLI shows it as such
    except (MemoryError, RuntimeError) as e:
        raise _Broken(f"fit at order {order} raised {type(e).__name__}: {e}") from None
    lp = model.logprob(MIXED[1])
    if not lp <= TOLERANCE:
        raise _Broken(f"logprob({MIXED[1]!r}) = {lp} at order {order}")


# -- running -------------------------------------------------------------------

Subject = str | type[LanguageModel] | Backend
"""A backend under test: an entry-point name, a class, or a Backend."""


def as_backend(
    backend: Subject, hparams: Mapping[str, Any] | None = None, entries: Entries = None
) -> Backend:
    """The Backend under test for an entry-point name, a class, or a Backend."""
    if isinstance(backend, Backend):  # given hparams are added to its own
        return replace(backend, hparams={**backend.hparams, **hparams}) if hparams else backend
    hp = dict(hparams or {})
    if isinstance(backend, str):
        found = registry.installed() if entries is None else entries
        entry = found.get(backend)
        if entry is None:
            return Backend(backend, None, hp, entries, "no such entry point is installed")
        return Backend(backend, entry.cls, hp, entries, entry.error)  # type: ignore[arg-type]
    return Backend(backend.name or backend.__name__, backend, hp, entries)


def run_checks(
    backend: Subject, hparams: Mapping[str, Any] | None = None, *, entries: Entries = None
) -> dict[str, ConformanceError | CheckSkipped | None]:
    """check name -> None (passed), the ConformanceError it found, or CheckSkipped."""
    subject = as_backend(backend, hparams, entries)
    return {check.name: check.outcome(subject) for check in CHECKS}


def check_backend(
    backend: Subject, hparams: Mapping[str, Any] | None = None, *, entries: Entries = None
) -> None:
    """Run every check; one ConformanceError listing all failures, if any."""
    results = run_checks(backend, hparams, entries=entries).values()
    failed = [e for e in results if isinstance(e, ConformanceError)]
    skipped = sum(isinstance(e, CheckSkipped) for e in results)
    if failed:
        also = f" ({skipped} skipped: they need check_registered to pass)" if skipped else ""
        raise ConformanceError(
            f"{len(failed)} of {len(CHECKS)} checks failed{also}\n"
            + "\n".join(str(e) for e in failed)
        )


def parametrize_checks(
    *backends: Subject | tuple[Subject, Mapping[str, Any]],
    hparams: Mapping[str, Any] | None = None,
) -> Any:
    """A pytest.mark.parametrize("backend, check") with one case per (backend, check).

    Each backend may come with its own option set, as (backend, hparams), to run
    the kit at several settings in one line:

        @parametrize_checks(("mlp", {"steps": 50}), ("mlp", {"steps": 50, "order": 2}))

    Case ids read "mlp(steps=50)-check_seeded", so a failure says what broke at a glance.
    """
    import pytest

    subjects = [
        as_backend(*b) if isinstance(b, tuple) else as_backend(b, hparams) for b in backends
    ]
    cases = [pytest.param(s, c, id=f"{s.label}-{c.name}") for s in subjects for c in CHECKS]
    return pytest.mark.parametrize("backend, check", cases)


__all__ = [
    "CHECKS",
    "ONE",
    "TINY",
    "WORDS",
    "Backend",
    "Check",
    "CheckSkipped",
    "ConformanceError",
    "as_backend",
    "check_backend",
    "parametrize_checks",
    "run_checks",
]
