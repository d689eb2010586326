"""Mixtures of fitted models: one backend that combines any others (`MixtureLM`).

Every component speaks the one contract (model.py), so a count model, the
lecture's network, the mlp plugin or any third-party backend mix alike:

    linear      p(t | h) = sum_k w_k(h) p_k(t | h)           weights fitted by EM
    loglinear   p(t | h) ∝ prod_k p_k(t | h) ** w_k(h)        renormalized per context

The weights w(h) are one row per bucket of the context's training count
(`bucket_of`): bucket 0 holds contexts never seen in training, bucket b >= 1
those seen 2**(b-1) .. 2**b - 1 times, the last one everything above. With
one bucket the weights are global. Where count models are confident (a
context seen often) and neural models are not, the rows differ.

Two ways to make one (both give the same kind of model file):

- `mix(models, dev_items)`: fitted models, weights fitted on held-out items
  (or given by hand);
- `MixtureLM(components=...).fit(items)`: cross-fitting from data: each
  component is fitted on the items minus a held-out share, the weights on
  that share, then every component is fitted again on all the items.

A component's vocabulary must hold every symbol of the mixture's, directly or
through its unknown token (whose mass is then shared evenly among the symbols
it stands for, so every row still sums to one); the tokenizer and the
normalization rule must be the same. A component that is itself a mixture is
refused: mix its components instead. Components are embedded through their
own `state()` / `from_state()`, so a mixture file is one model file under the
container's safe-loading rules (persist.py).

This module knows no CLI, no Rich and no file layout.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import registry
from .corpus import Corpus
from .errors import BackendError, DataError, ModelFileError, NgramkitError, OptionError
from .model import LanguageModel, Progress
from .options import Option
from .tokenizer import Vocabulary

if TYPE_CHECKING:
    import torch

NAME = "mixture"
WEIGHTINGS = ("linear", "loglinear")
EM_STEPS = 5000  # EM stops earlier once no weight moves by more than EM_TOL
EM_TOL = 1e-10
LBFGS_STEPS = 100
DEFAULT_COMPONENTS = "count order=2; count order=3 smooth=kn"
"""What `ngramkit fit --backend mixture` mixes when no --components are given."""


# -- the components' spec: "count order=6 smooth=mkn; mlp order=8" -----------------


def parse_components(value: Any) -> str:
    """The canonical text of a components spec, every option checked by its backend.

    Takes the text form ("count order=6 smooth=mkn tune=true; mlp order=8") or
    a YAML list of mappings ([{backend: count, order: 6}, {backend: mlp}]).
    parse_components([{"backend": "count", "order": 3}]) == "count order=3".
    """
    specs = _spec_list(value)
    if not specs:
        raise ValueError("name at least two components, e.g. 'count order=6; mlp order=8'")
    return "; ".join(_spec_text(name, opts) for name, opts in specs)


def component_specs(text: str) -> list[tuple[str, dict[str, Any]]]:
    """[(backend, options coerced by its declaration)] of a canonical spec."""
    out = []
    for name, opts in _spec_list(text):
        cls = _backend(name)
        declared = {o.name: o for o in cls.options}
        out.append((name, {k: declared[k].coerce(v) for k, v in opts.items()}))
    return out


def _spec_list(value: Any) -> list[tuple[str, dict[str, Any]]]:
    """Raw (backend, {option: value}) pairs of either form; ValueError when malformed."""
    if isinstance(value, str):
        parts = [p.split() for p in value.split(";") if p.strip()]
        pairs = []
        for words in parts:
            bad = [w for w in words[1:] if "=" not in w]
            if bad:
                raise ValueError(f"{bad[0]!r} is not option=value")
            pairs.append((words[0], dict(w.split("=", 1) for w in words[1:])))
    elif isinstance(value, list) and all(isinstance(d, dict) for d in value):
        pairs = [(d.get("backend"), {k: v for k, v in d.items() if k != "backend"}) for d in value]
    else:
        raise ValueError("give components as 'count order=6; mlp order=8' or a list of mappings")
    for name, opts in pairs:
        if not isinstance(name, str) or not name:
            raise ValueError("every component needs a backend name")
        if name == NAME:
            raise ValueError("a component cannot be a mixture: list its components instead")
        cls = _backend(name)
        declared = {o.name: o for o in cls.options}
        unknown = sorted(set(opts) - set(declared))
        if unknown:
            raise ValueError(f"backend '{name}' does not take option '{unknown[0]}'")
        for k, v in opts.items():
            try:
                declared[k].coerce(v)
            except NgramkitError as e:
                raise ValueError(f"{name}: {e}") from None
    return pairs


def _spec_text(name: str, opts: dict[str, Any]) -> str:
    """'mlp order=8 steps=1000': options in the order given, bools as true/false."""
    shown = [
        f"{k}={str(v).lower() if isinstance(v, bool) else v}"
        for k, v in opts.items()
        if v is not None  # not set: the backend's own default
    ]
    return " ".join([name, *shown])


def _backend(name: str) -> type[LanguageModel]:
    try:
        return registry.get(name)
    except BackendError as e:
        raise ValueError(str(e)) from None


# -- vocabularies: the same, or aligned through an unknown token --------------------


def shared_vocab(vocabs: Sequence[Vocabulary], labels: Sequence[str]) -> Vocabulary:
    """The mixture's vocabulary: the union of the components' symbols.

    Tokenizer kind, boundary marker and normalization must agree; a symbol a
    component lacks is a DataError naming both, unless that component has
    the unknown token.
    """
    first = vocabs[0].to_json()
    for v, label in zip(vocabs[1:], labels[1:]):
        j = v.to_json()
        for key, what in (("kind", "tokenizer"), ("boundary", "boundary marker")):
            if j[key] != first[key]:
                raise DataError(
                    f"{label} uses the {what} {j[key]!r} and {labels[0]} {first[key]!r}: "
                    "components must share one tokenizer"
                )
        if j["normalization"] != first["normalization"]:
            raise DataError(
                f"{label} and {labels[0]} normalize text differently: "
                "fit the components with the same --normalize/--case/--accents"
            )
    symbols = sorted(set().union(*(v.symbols for v in vocabs)))
    unk = any(v.unk for v in vocabs)
    for v, label in zip(vocabs, labels):
        lacks = [repr(s) for s in symbols if s not in set(v.symbols)] + ["<unk>"] * unk
        if lacks and not v.unk:
            raise DataError(
                f"{label} lacks the symbol {lacks[0]} that another component has: fit the "
                "components on the same data, or give this one the unknown token (--unk)"
            )
    if symbols == list(vocabs[0].symbols) and unk == vocabs[0].unk:
        return vocabs[0]
    return Vocabulary.from_json({**first, "symbols": symbols, "unk": unk})


def token_map(mine: Vocabulary, theirs: Vocabulary) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(ids [V], log share [V]): the component's id of each mixture token and the log of
    the share of its probability that token gets; None when the layouts are the same.

    A mixture symbol the component lacks maps to its unknown token; the unknown
    token's mass is split evenly among every mixture token mapped to it.
    """
    import torch

    if mine.tokens == theirs.tokens:
        return None
    own = {t: i for i, t in enumerate(theirs.tokens)}
    unk_id = len(theirs.tokens) - 1  # the unknown token is last (tokenizer.py)
    ids = [0] + [own.get(s, unk_id) for s in mine.symbols] + ([unk_id] if mine.unk else [])
    idx = torch.tensor(ids, dtype=torch.long)  # (V,)
    shares = torch.bincount(idx, minlength=len(theirs.tokens)).double()
    return idx, -shares[idx].log()


# -- weights ------------------------------------------------------------------------


def bucket_of(counts: torch.Tensor, n_buckets: int) -> torch.Tensor:
    """Bucket of each context count [T] -> [T]: 0 for 0, then one per power of two.

    bucket_of([0, 1, 2, 3, 4, 100], 4) == [0, 1, 2, 2, 3, 3] (the last bucket takes the rest).
    """
    import torch

    bits = torch.where(counts > 0, counts.double().log2().floor().long() + 1, 0)
    return bits.clamp(max=n_buckets - 1)


def em_weights(
    logp: torch.Tensor, buckets: torch.Tensor, n_buckets: int
) -> tuple[torch.Tensor, int]:
    """Linear-mixture weights maximizing held-out likelihood, by EM: ([B, K], steps).

    logp: [T, K] float64 log p of each held-out token under each component;
    buckets: [T] the bucket of each token's context. Each row of the result
    sums to one; a bucket without held-out tokens takes the global weights.
    """
    import torch

    glob = _em(logp, torch.zeros(len(logp), dtype=torch.long), 1)[0][0]  # (K,)
    if n_buckets == 1:
        return _em(logp, buckets, 1)
    w, steps = _em(logp, buckets, n_buckets)
    empty = torch.bincount(buckets, minlength=n_buckets) == 0
    w[empty] = glob
    return w, steps


def _em(logp: torch.Tensor, buckets: torch.Tensor, n: int) -> tuple[torch.Tensor, int]:
    import torch

    K = logp.shape[1]
    like = (logp - logp.max(1, keepdim=True).values).exp()  # (T, K) likelihoods, row max 1
    w = torch.full((n, K), 1.0 / K, dtype=torch.float64)
    tokens = torch.bincount(buckets, minlength=n).clamp(min=1).double()[:, None]  # (B, 1)
    step, moved = 0, math.inf
    while step < EM_STEPS and moved >= EM_TOL:
        joint = w[buckets] * like  # (T, K)
        post = joint / joint.sum(1, keepdim=True)  # (T, K) responsibilities
        new = torch.zeros_like(w).index_add_(0, buckets, post) / tokens
        moved, w, step = float((new - w).abs().max()), new, step + 1
    return w, step


def loglinear_weights(
    rows: torch.Tensor, targets: torch.Tensor, buckets: torch.Tensor, n_buckets: int
) -> torch.Tensor:
    """Product-of-experts weights [B, K] minimizing held-out NLL (L-BFGS from all ones).

    rows: [K, T, V] float64 log-probabilities of every token after each held-out
    context under each component; targets: [T] the tokens that came.
    """
    import torch

    K = rows.shape[0]
    safe = rows.clamp(min=-1e4)  # a zero probability: a large penalty, not -inf * 0
    w = torch.ones(n_buckets, K, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=LBFGS_STEPS, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = _loglinear_nll(safe, targets, w[buckets])
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach()


def _loglinear_nll(rows: torch.Tensor, targets: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    mixed = (rows * w.T[:, :, None]).sum(0).log_softmax(1)  # (T, V)
    return -mixed.gather(1, targets[:, None]).mean()


# -- the backend ----------------------------------------------------------------------


@dataclass(frozen=True)
class Tuning:
    """How the weights were chosen: held-out items and tokens, each NLL (nats/token)."""

    source: str  # "cross-fit" (fit from data), a dev list's name, or "given"
    items: int
    tokens: int
    nll: float | None  # the mixture's held-out NLL; None for weights given by hand
    component_nll: list[float | None]
    steps: int  # EM or L-BFGS steps (0 for weights given by hand)
    refit: bool  # components refitted on all items after the weights were fitted

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class MixtureLM(LanguageModel):
    """Mixture of fitted models: linear (weights by EM) or log-linear, per context-count bucket."""

    name = NAME
    description = "mixture of any fitted models, weights fitted on held-out items"
    supports_unk = True
    options = (
        Option(
            "order",
            int,
            None,
            "context length: the largest component order (set by fit when not given)",
            min=1,
            max=32,
        ),
        Option(
            "components",
            str,
            DEFAULT_COMPONENTS,
            "components and their options: 'count order=6 smooth=mkn; mlp order=8'",
            parse=parse_components,
            metavar="SPEC",
        ),
        Option("weighting", str, "linear", "how components combine", choices=WEIGHTINGS),
        Option("buckets", int, 8, "weight rows by the context's training count", min=1, max=64),
        Option("bucket_context", int, 5, "tokens of context counted for buckets", min=0, max=31),
        Option(
            "heldout", float, 0.1, "share of items held out to fit the weights", min=0.01, max=0.9
        ),
        Option("heldout_seed", int, 2147483647, "seed of the held-out split", min=0),
        Option("refit", bool, True, "refit the components on all items after tuning"),
    )

    def __init__(self, **hparams: Any) -> None:

        super().__init__(**hparams)
        self.components_: list[LanguageModel] = []  # the fitted models, in order
        self.labels_: list[str] = []  # one name per component, for reports
        self.weights_: torch.Tensor | None = None  # (B, K) float64, rows sum to 1 (linear)
        self.context_keys_: torch.Tensor | None = None  # (M,) sorted context keys
        self.context_counts_: torch.Tensor | None = None  # (M,) their training counts
        self.maps_: list[tuple[torch.Tensor, torch.Tensor] | None] = []  # token_map per comp.
        self.tuning_: Tuning | None = None

    @property
    def order(self) -> int:
        if self.hparams["order"] is None:
            return max((m.order for m in self.components_), default=1)
        return int(self.hparams["order"])

    # -- making one ------------------------------------------------------------

    @classmethod
    def of(
        cls,
        models: Sequence[LanguageModel],
        labels: Sequence[str] | None = None,
        **hparams: Any,
    ) -> MixtureLM:
        """An unweighted mixture of fitted `models` (then `tune` or `set_weights`)."""
        labels = list(labels or [f"{m.name} (#{i + 1})" for i, m in enumerate(models)])
        if len(models) < 2:
            raise NgramkitError("a mixture needs at least two models")
        for m, label in zip(models, labels):
            if isinstance(m, MixtureLM):
                raise NgramkitError(f"{label} is itself a mixture: mix its components instead")
            m.require_fitted()
        spec = "; ".join(_spec_text(m.name, m.hparams) for m in models)
        mix = cls(**{**hparams, "components": spec})
        mix._attach(list(models), labels)
        mix.hparams["order"] = mix.order
        mix.training = models[0].training
        return mix

    def _attach(self, models: list[LanguageModel], labels: list[str]) -> None:
        vocabs = [m.require_fitted() for m in models]
        self.vocab = shared_vocab(vocabs, labels)
        self.components_, self.labels_ = models, labels
        self.maps_ = [token_map(self.vocab, v) for v in vocabs]

    def count_contexts(self, items: Sequence[str]) -> None:
        """The bucket table: each context's count (its last `bucket_context` tokens) in
        the distinct `items` (a component's training items)."""
        import torch

        k = self._bucket_width()
        from .keys import gram_keys

        corpus = Corpus.from_items(sorted(set(items)), self.require_fitted())
        grams = corpus.grams(k + 1)[:, :k]  # (T, k) the context of every predicted token
        keys, counts = torch.unique(gram_keys(grams, len(self.vocab)), return_counts=True)
        self.context_keys_, self.context_counts_ = keys, counts

    def _bucket_width(self) -> int:
        return min(int(self.hparams["bucket_context"]), self.order - 1)

    def set_weights(self, weights: Sequence[float]) -> None:
        """Weights given by hand: one per component, each >= 0, summing to one."""
        import torch

        K = len(self.components_)
        if len(weights) != K:
            raise OptionError(f"{len(weights)} weights for {K} components")
        if any(not math.isfinite(w) or w < 0 for w in weights):
            raise OptionError(f"weights must be numbers >= 0, got {list(weights)}")
        if abs(sum(weights) - 1.0) > 1e-6:
            raise OptionError(f"weights must sum to one, got {sum(weights):.6g}")
        if self.hparams["weighting"] == "loglinear":
            raise OptionError("weights by hand are for the linear mixture")
        self.hparams["buckets"] = 1
        self.weights_ = torch.tensor([list(weights)], dtype=torch.float64)
        self.tuning_ = Tuning("given", 0, 0, None, [None] * K, 0, False)

    def tune(self, dev: Corpus, source: str, refit: bool = False) -> Tuning:
        """Fit the weights on held-out `dev` (its OOV items left out); returns the Tuning."""
        import torch

        grams = dev.grams(self.order)  # (T, order)
        if len(grams) == 0 or bool(dev.oov.all()):
            raise DataError(f"{source}: no scorable items to fit the mixture's weights on")
        ctx, tgt = grams[:, :-1], grams[:, -1]
        logp = torch.stack([self._component_logprobs(i, ctx, tgt) for i in range(len(self))], 1)
        keep = torch.isfinite(logp).any(1)  # a token every component finds impossible: out
        ctx, tgt, logp = ctx[keep], tgt[keep], logp[keep]
        n_buckets = int(self.hparams["buckets"])
        buckets = self._buckets(ctx)
        if self.hparams["weighting"] == "linear":
            self.weights_, steps = em_weights(logp, buckets, n_buckets)
        else:
            rows = torch.stack([self._rows(i, ctx) for i in range(len(self))])  # (K, T, V)
            self.weights_, steps = loglinear_weights(rows, tgt, buckets, n_buckets), LBFGS_STEPS
        nll = -float(self._combine_tokens(logp, buckets, ctx, tgt).mean())
        comp = [-float(logp[:, i].mean()) for i in range(len(self))]
        items = int((~dev.oov).sum())
        self.tuning_ = Tuning(source, items, len(tgt), nll, comp, steps, refit)
        return self.tuning_

    def _fit(self, corpus: Corpus, progress: Progress | None) -> None:
        """Cross-fitting: components on the items minus `heldout`, weights on the rest,
        then (refit) the components again on every item."""
        import torch

        from .data import train_val_split

        if self.hparams["components"] is None:
            raise OptionError("a mixture needs --components, e.g. 'count order=6; mlp order=8'")
        specs = component_specs(self.hparams["components"])
        if len(specs) < 2:
            raise OptionError("a mixture needs at least two components")
        items, labels = list(corpus.items), [_spec_text(n, o) for n, o in specs]
        train, held = train_val_split(
            items, float(self.hparams["heldout"]), int(self.hparams["heldout_seed"])
        )
        if not train or not held:  # too few items to hold any out: equal weights
            self._attach([registry.get(n)(**o).fit(corpus) for n, o in specs], labels)
            self.hparams["buckets"], self.hparams["order"] = 1, self.order
            K = len(specs)
            self.weights_ = torch.full((1, K), 1.0 / K, dtype=torch.float64)
            self.tuning_ = Tuning(
                "equal (too few items to hold out)", 0, 0, None, [None] * K, 0, False
            )
            return
        tick = _stages(progress, len(specs) * (2 if self.hparams["refit"] else 1))
        sub = Corpus.from_items(train, corpus.vocab)
        models = [tick(registry.get(n)(**opts).fit, sub) for n, opts in specs]
        self._attach(models, labels)
        self.count_contexts(train)
        self.tune(Corpus.from_items(held, corpus.vocab), "cross-fit", bool(self.hparams["refit"]))
        if self.hparams["refit"]:
            self.components_ = [tick(registry.get(n)(**o).fit, corpus) for n, o in specs]
            self.count_contexts(items)
        self.hparams["order"] = self.order

    def __len__(self) -> int:
        return len(self.components_)

    # -- scoring -----------------------------------------------------------------

    def _context_of(self, i: int, contexts: torch.Tensor) -> torch.Tensor:
        """Component i's view of mixture contexts [B, order-1]: its last order_i-1 ids."""
        n = self.components_[i].order - 1
        ctx = contexts[:, contexts.shape[1] - n :] if n else contexts[:, :0]
        m = self.maps_[i]
        return ctx if m is None else m[0][ctx]

    def _rows(self, i: int, contexts: torch.Tensor) -> torch.Tensor:
        """Component i's log-probabilities over the mixture's tokens: [B, V] float64."""
        rows = self.components_[i].next_logprobs(self._context_of(i, contexts)).double()
        m = self.maps_[i]
        return rows if m is None else rows[:, m[0]] + m[1]

    def _component_logprobs(
        self, i: int, contexts: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        """Component i's log p of each target [B] (float64)."""

        m = self.maps_[i]
        own = targets if m is None else m[0][targets]
        lp = self.components_[i].token_logprobs(self._context_of(i, contexts), own).double()
        return lp if m is None else lp + m[1][targets]

    def _buckets(self, contexts: torch.Tensor) -> torch.Tensor:
        """The weight row of each context [B, order-1] -> [B]."""
        import torch

        n_buckets = int(self.hparams["buckets"])
        if n_buckets == 1:
            return torch.zeros(len(contexts), dtype=torch.long)
        from .keys import find, gram_keys

        table, counts = self.context_keys_, self.context_counts_
        if table is None or counts is None or len(table) == 0:  # no table: all unseen
            return torch.zeros(len(contexts), dtype=torch.long)
        k = self._bucket_width()
        keys = gram_keys(contexts[:, contexts.shape[1] - k :], len(self.require_fitted()))
        pos, found = find(table, keys)
        seen = torch.where(found, counts[pos], 0)
        return bucket_of(seen, n_buckets)

    def _weights(self) -> torch.Tensor:
        if self.weights_ is None:
            raise NgramkitError("the mixture's weights are not set: tune it or give weights")
        return self.weights_

    def next_logprobs(self, contexts: torch.Tensor) -> torch.Tensor:
        """[B, order-1] -> [B, V]: the mixed distribution, float32 like most components."""
        self.require_fitted()
        import torch

        rows = torch.stack([self._rows(i, contexts) for i in range(len(self))])  # (K, B, V)
        w = self._weights()[self._buckets(contexts)].T[:, :, None]  # (K, B, 1)
        if self.hparams["weighting"] == "linear":
            return (rows + w.log()).logsumexp(0).float()
        return (rows.clamp(min=-1e4) * w).sum(0).log_softmax(1).float()

    def token_logprobs(self, contexts: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """[B, order-1], [B] -> [B]: linear mixtures need no full rows."""
        self.require_fitted()
        import torch

        if self.hparams["weighting"] != "linear":
            return super().token_logprobs(contexts, targets)
        lp = torch.stack(
            [self._component_logprobs(i, contexts, targets) for i in range(len(self))], 1
        )  # (B, K)
        return self._combine_tokens(lp, self._buckets(contexts), contexts, targets).float()

    def _combine_tokens(
        self, lp: torch.Tensor, buckets: torch.Tensor, contexts: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        """The mixture's log p [B] from the components' [B, K] (float64)."""
        import torch

        w = self._weights()[buckets]  # (B, K)
        if self.hparams["weighting"] == "linear":
            return (lp + w.log()).logsumexp(1)
        rows = torch.stack([self._rows(i, contexts) for i in range(len(self))])  # (K, B, V)
        mixed = (rows.clamp(min=-1e4) * w.T[:, :, None]).sum(0).log_softmax(1)
        return mixed.gather(1, targets[:, None]).squeeze(1)

    def summary(self) -> dict[str, Any]:
        """Each component and its weights (one row per bucket), the tuning's NLLs."""
        out: dict[str, Any] = {}
        w = self._weights()
        for i, label in enumerate(self.labels_):
            ws = ", ".join(f"{x:.4f}" for x in w[:, i].tolist())
            out[f"component {i + 1}"] = f"{label}  weight {ws}"
        t = self.tuning_
        if t is not None and t.nll is not None:
            out["weights fitted on"] = f"{t.source}: {t.items:,} items, {t.tokens:,} tokens"
            out["held-out NLL"] = (
                f"{t.nll:.4f} (components: "
                + ", ".join(f"{x:.4f}" for x in t.component_nll if x is not None)
                + ")"
            )
            out["components refitted on all items"] = t.refit
        return out

    def to_json(self) -> dict[str, Any]:
        """The mixture as `mix --json` and `show --json` give it (docs/json.md)."""
        w = self._weights()
        t = self.tuning_
        comp = t.component_nll if t is not None else [None] * len(self)
        return {
            "weighting": self.hparams["weighting"],
            "buckets": int(self.hparams["buckets"]),
            "components": [
                {
                    "label": label,
                    "backend": m.name,
                    "order": m.order,
                    "weights": w[:, i].tolist(),
                    "heldout_nll": comp[i],
                }
                for i, (m, label) in enumerate(zip(self.components_, self.labels_))
            ],
            "tuning": None if t is None else t.to_json(),
        }

    # -- persistence -------------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """Config: the components' backends, configs and training; tensors "c<i>.<name>"."""
        from . import __version__

        config = self.base_config()
        parts, tensors = [], {}
        for i, (m, label) in enumerate(zip(self.components_, self.labels_)):
            cfg, ts = m.state()
            dist, version = registry.provider(type(m))
            t = m.training
            parts.append(
                {
                    "backend": m.name,
                    "label": label,
                    "provider": {"distribution": dist, "version": version},
                    "config": cfg,
                    "training": None if t is None else [t.items, t.tokens, t.fingerprint],
                }
            )
            tensors.update({f"c{i}.{k}": v for k, v in ts.items()})
        config["components"] = parts
        config["tuning"] = None if self.tuning_ is None else self.tuning_.to_json()
        config["ngramkit_version"] = __version__
        tensors["weights"] = self._weights()
        if self.context_keys_ is not None and self.context_counts_ is not None:
            tensors["context_keys"] = self.context_keys_
            tensors["context_counts"] = self.context_counts_
        return config, tensors

    @classmethod
    def from_state(cls, config: dict[str, Any], tensors: dict[str, torch.Tensor]) -> MixtureLM:
        import torch

        model = cls.from_base_config(config)
        parts = config.get("components")
        if not isinstance(parts, list) or len(parts) < 2:
            raise ModelFileError("a mixture file lists fewer than two components")
        models = [_component(i, p, tensors) for i, p in enumerate(parts)]
        labels = [str(p.get("label", p["backend"])) for p in parts]
        vocab = model.vocab
        model._attach(models, labels)
        if vocab is None or model.vocab.to_json() != vocab.to_json():
            raise ModelFileError("the mixture's vocabulary is not its components'")
        w = tensors.get("weights")
        n_buckets = int(model.hparams["buckets"])
        if w is None or w.dtype != torch.float64 or tuple(w.shape) != (n_buckets, len(models)):
            raise ModelFileError("mixture weights are missing or of the wrong shape")
        if model.hparams["weighting"] == "linear" and (
            bool((w < 0).any()) or bool(((w.sum(1) - 1).abs() > 1e-6).any())
        ):
            raise ModelFileError("mixture weights are negative or do not sum to one")
        model.weights_ = w
        keys, counts = tensors.get("context_keys"), tensors.get("context_counts")
        if (keys is None) != (counts is None) or (
            keys is not None
            and counts is not None
            and (keys.dim() != 1 or keys.shape != counts.shape or keys.dtype != torch.long)
        ):
            raise ModelFileError("mixture context counts are missing or of the wrong shape")
        model.context_keys_, model.context_counts_ = keys, counts
        model.tuning_ = _tuning(config.get("tuning"))
        return model


def _component(i: int, part: Any, tensors: dict[str, torch.Tensor]) -> LanguageModel:
    """Component i rebuilt from its entry in a mixture file; ModelFileError naming it."""
    from .model import TrainingInfo

    if not isinstance(part, dict) or not isinstance(part.get("backend"), str):
        raise ModelFileError(f"component {i + 1} of the mixture is malformed")
    name = part["backend"]
    if name == NAME:
        raise ModelFileError(f"component {i + 1} is itself a mixture, which is refused")
    try:
        cls = registry.get(name)
    except BackendError as e:
        raise ModelFileError(f"component {i + 1}: {e}") from None
    prefix = f"c{i}."
    own = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
    config = part.get("config")
    if not isinstance(config, dict):
        raise ModelFileError(f"component {i + 1} ({name}) has no config")
    try:
        model = cls.from_state(config, own)
    except Exception as e:  # a crafted component: one line naming it
        raise ModelFileError(f"component {i + 1} ({name}) is damaged: {e}") from None
    t = part.get("training")
    counts = isinstance(t, list) and len(t) == 3 and all(type(x) is int and x >= 0 for x in t[:2])
    if counts and isinstance(t[2], (str, type(None))):
        model.training = TrainingInfo(t[0], t[1], t[2], None)
    return model


def _tuning(data: Any) -> Tuning | None:
    if not isinstance(data, dict):
        return None

    def number(x: Any) -> bool:
        return x is None or (isinstance(x, (int, float)) and not isinstance(x, bool))

    try:
        t = Tuning(**data)
    except TypeError:
        raise ModelFileError("mixture tuning record is malformed") from None
    ok = (
        isinstance(t.source, str)
        and all(
            isinstance(x, int) and not isinstance(x, bool) for x in (t.items, t.tokens, t.steps)
        )
        and isinstance(t.refit, bool)
        and number(t.nll)
        and isinstance(t.component_nll, list)
        and all(number(x) for x in t.component_nll)
    )
    if not ok:
        raise ModelFileError("mixture tuning record is malformed")
    return t


def _stages(progress: Progress | None, total: int) -> Callable[..., LanguageModel]:
    """A caller of fits that reports progress(done, total) after each one."""
    done = [0]

    def call(fit: Callable[[Corpus], LanguageModel], corpus: Corpus) -> LanguageModel:
        start = time.process_time()
        model = fit(corpus)
        done[0] += 1
        if progress is not None:
            progress(done[0], total, seconds=time.process_time() - start)
        return model

    return call


def mix(
    models: Sequence[LanguageModel],
    dev: Sequence[str] | Corpus | None = None,
    *,
    labels: Sequence[str] | None = None,
    weights: Sequence[float] | None = None,
    source: str = "dev",
    **hparams: Any,
) -> MixtureLM:
    """A mixture of fitted `models`: weights given, or fitted on held-out `dev` items.

    Context-count buckets (buckets > 1) count the first component's training
    items (the distinct ones its file keeps).
    """
    m = MixtureLM.of(models, labels, **hparams)
    if weights is not None:
        m.set_weights(weights)
        return m
    if dev is None:
        raise OptionError("give held-out items to fit the weights on, or the weights")
    if int(m.hparams["buckets"]) > 1:
        seen = next((c.training.seen for c in models if c.training and c.training.seen), None)
        if seen is None:
            raise DataError(
                "context-count buckets need a component's training items, and no "
                "component file keeps them: use --buckets 1"
            )
        m.count_contexts(sorted(seen))
    corpus = dev if isinstance(dev, Corpus) else Corpus.from_items(list(dev), m.vocab)
    m.tune(corpus, source)
    return m
