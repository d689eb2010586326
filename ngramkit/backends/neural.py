"""The neural n-gram backend ("neural"): the lecture's one-layer network, any order.

The lecture's model (order 2): the previous token one-hot encoded, times a
[V, V] matrix W of log-counts, softmax. At order N each of the N-1 context
tokens is one-hot encoded and the one-hots are concatenated, so the one linear
layer is W of shape [(N-1)*V, V] and, done as row lookups instead of a matmul,

    logits(ctx) = W[ctx_1] + W[V + ctx_2] + ... + W[(N-2)*V + ctx_{N-1}]  # (V,)

There is no bias: a bias is already a shift of the first block of W. At
order 1 the context is empty and W is a single row [1, V].

Training minimizes the lecture's loss, the mean NLL over training tokens plus
`reg * mean(W**2)`. The NLL depends on the data only through the counts
N[c, v] of the distinct (context c, next v) events:

    loss = -(N * log_softmax(logits(contexts))).sum() / N.sum() + reg * (W**2).mean()

so one step costs O(distinct contexts * V) instead of O(tokens), with exactly
the lecture's loss and gradient (tests/test_neural.py checks this against the
lecture's one-hot loop).

Optimizers: "gd" (the lecture's full-batch `W -= lr * grad`), "adam" and
"lbfgs" (strong Wolfe line search; the fastest way to the optimum). Training
runs in float64 (float32 on mps, which has no float64); the learned W is kept
on the CPU, so a model trained on a GPU loads and runs anywhere.

With the unknown token (`--unk`) the network learns it from data: fit's
default cut-off for neural backends is `--min-count 2`, so the symbols seen
once in training are the unknown token there, and its column of W is trained
on their occurrences (an unseen symbol is, like a singleton, rare).

Not here: minibatches (the full batch is exact and cheap at these sizes),
embeddings and hidden layers (makemore's MLP is a different model).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ModelFileError, NotFittedError, OptionError, TrainingError
from ..model import LanguageModel, Progress
from ..options import LECTURE_SEED, MAX_SEED, Option

if TYPE_CHECKING:
    import torch

    from ..corpus import Corpus

MAX_PARAMS = 2**26  # cells of W: 64M float64 = 512 MiB; beyond that, use counts
OPTIMIZERS = ("gd", "adam", "lbfgs")
DEVICES = ("cpu", "cuda", "mps", "auto")


def default_lr(optimizer: str, order: int) -> float:
    """--lr auto: the lecture's 50 for gd at order 2, divided by order-1 above.

    Why divide: each logit is a sum of order-1 rows of W and a gd step moves
    every one of them, so a logit moves order-1 times as far per step; at
    lr 50 an order-3 model already oscillates. Adam's and L-BFGS's steps are
    scale-free, so they get the usual 0.5 (tuned on names.txt) and 1.
    """
    if optimizer == "gd":
        return 50.0 / max(order - 1, 1)
    return {"adam": 0.5, "lbfgs": 1.0}[optimizer]


def _parse_lr(value: Any) -> float | str:
    """'auto' (the optimizer's default learning rate) or a number > 0."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        if isinstance(value, bool):  # float(True) is 1.0: not a learning rate anyone meant
            raise TypeError(value)
        lr = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"must be a number > 0 or 'auto', got {value!r}") from None
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"must be a number > 0, got {value!r}")
    return lr


@dataclass(frozen=True)
class Events:
    """The training data as the loss sees it: counts of distinct (context, next) events.

    contexts: LongTensor [C, order-1], the distinct contexts seen, sorted.
    counts: float64 [C, V], counts[c, v] = times token v followed contexts[c].

    ["ab", "b"] at order 2 (V=3: . a b): contexts [[0], [1], [2]] (. a b) and
    counts [[0, 1, 1], [0, 0, 1], [2, 0, 0]] (.->a .->b a->b b->. twice).
    """

    contexts: torch.Tensor
    counts: torch.Tensor

    @classmethod
    def of(cls, corpus: Corpus, order: int) -> Events:
        """The events of `corpus`: its NgramCounts' top order, rows by context (a weighted
        corpus's events counted `weight` times, as counting does)."""
        import torch

        from ..counts import NgramCounts
        from ..keys import key_digits, max_order

        V = len(corpus.vocab)
        if order <= max_order(V):  # the shared counts: distinct windows as int64 keys
            keys, cnt = NgramCounts.count(corpus, order).top()  # (M,) sorted, (M,)
            ctx_keys, inverse = torch.unique_consecutive(keys // V, return_inverse=True)
            contexts = key_digits(ctx_keys, V, order - 1)  # (C, order-1)
            nxt, weight = keys % V, cnt.double()
        else:  # keys would overflow int64: distinct rows of the windows instead
            grams, item = corpus.windows(order)  # (T, order): context..., next; (T,)
            contexts, inverse = torch.unique(grams[:, :-1], dim=0, return_inverse=True)
            nxt, weight = grams[:, -1], corpus.item_weights[item].double()  # a weight per item
        counts = torch.zeros(len(contexts), V, dtype=torch.float64)
        counts.index_put_((inverse, nxt), weight, accumulate=True)
        return cls(contexts, counts)

    @property
    def tokens(self) -> int:
        return int(self.counts.sum())


def logits_of(W: torch.Tensor, contexts: torch.Tensor) -> torch.Tensor:
    """One-hot(contexts) @ W as row lookups: [(N-1)*V, V], [B, N-1] -> [B, V].

    Context position k reads block k of W (rows k*V .. k*V+V-1). At order 2
    this is exactly the lecture's `xenc @ W` = W[ctx].
    """
    import torch

    B, k = contexts.shape
    if k == 0:  # order 1: one row for the empty context
        return W[0].expand(B, -1)
    V = W.shape[1]
    offset = torch.arange(k, device=contexts.device) * V  # (k,) start of each block
    return W[contexts + offset].sum(1)  # (B, k, V) -> (B, V)


def pick_device(name: str) -> torch.device:
    """The torch device for --device, or TrainingError if it is not available here."""
    import torch

    has_mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainingError(
            "--device cuda: no CUDA GPU is available to this torch "
            f"({torch.__version__}); use --device cpu or auto"
        )
    if name == "mps" and not has_mps:
        raise TrainingError("--device mps: Apple's MPS is not available here; use --device cpu")
    return torch.device(name)


@dataclass(frozen=True)
class Objective:
    """The training loss and its gradient, computed from the count matrix alone.

    loss(W) = -(N * log_softmax(logits)).sum() / T + reg * mean(W**2), with
    logits = logits_of(W, contexts) [C, V], N = counts and T = N.sum(). Its
    gradient, written out (no autograd graph, which costs more than the math
    at these sizes): d loss / d logits = (N.sum(1) * softmax(logits) - N) / T,
    added back into the rows of W each logit came from, plus 2 * reg * W / W.numel().
    """

    contexts: torch.Tensor  # (C, order-1)
    counts: torch.Tensor  # (C, V), the count matrix N
    totals: torch.Tensor  # (C, 1), N.sum(1): how often each context occurs
    tokens: float  # T
    reg: float

    def __call__(self, W: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, grad) at W; loss a 0-d tensor (nats/token + reg), grad shaped like W."""
        logprobs = logits_of(W, self.contexts).log_softmax(1)  # (C, V)
        nll = -(self.counts * logprobs).sum() / self.tokens
        d_logits = (self.totals * logprobs.exp() - self.counts) / self.tokens  # (C, V)
        grad = W * (2 * self.reg / W.numel())
        V = W.shape[1]
        for k in range(self.contexts.shape[1]):  # context position k reads block k of W
            grad.index_add_(0, self.contexts[:, k] + k * V, d_logits)
        if self.contexts.shape[1] == 0:  # order 1: every context reads row 0
            grad[0] += d_logits.sum(0)
        return nll + self.reg * (W * W).mean(), grad


def _stepper(name: str, W: torch.Tensor, lr: float, f: Objective) -> Callable[[], float]:
    """A function doing one optimizer step on W in place; it returns the loss before it."""
    import torch

    if name == "gd":  # the lecture's update: W.data += -lr * W.grad

        def gd() -> float:
            loss, grad = f(W)
            W.add_(grad, alpha=-lr)
            return loss.item()

        return gd

    def closure() -> torch.Tensor:
        loss, W.grad = f(W)
        return loss

    if name == "adam":
        adam = torch.optim.Adam([W], lr=lr)

        def adam_step() -> float:
            loss = closure()
            adam.step()
            return loss.item()

        return adam_step
    # One L-BFGS iteration per step (its history carries over); the line
    # search may evaluate the loss a few times (max_eval).
    lbfgs = torch.optim.LBFGS(
        [W], lr=lr, max_iter=1, max_eval=25, history_size=20, line_search_fn="strong_wolfe"
    )
    return lambda: float(lbfgs.step(closure))


def _check_finite(loss: float, step: int, lr: float) -> None:
    if not math.isfinite(loss):
        raise TrainingError(
            f"training diverged: the loss became {loss} at step {step} "
            f"(--lr {lr:g} is too large; try a smaller one)"
        )


class NeuralLM(LanguageModel):
    """The lecture's neural n-gram: one-hot contexts, one linear layer, softmax."""

    name = "neural"
    description = "one-layer neural n-gram trained by gradient descent (the lecture's W)"
    unk_min_count = 2  # --unk: the symbols seen once train the unknown token
    weighted_fit = True  # the loss reads the counts of events only (Events.of)
    options = (
        *LanguageModel.options,
        Option("steps", int, 500, "optimizer steps (full batch each)", min=1),
        Option(
            "lr",
            float,
            "auto",
            "step size; auto = 50/(order-1) for gd (the lecture's 50 at order 2), "
            "0.5 for adam, 1 for lbfgs",
            min=0,
            min_exclusive=True,
            parse=_parse_lr,
            metavar="LR|auto",
        ),
        Option("reg", float, 0.01, "L2 strength: reg * mean(W**2) is added to the loss", min=0),
        Option("optimizer", str, "gd", "gd (the lecture's), adam or lbfgs", choices=OPTIMIZERS),
        Option(
            "init_seed",
            int,
            LECTURE_SEED,
            "seed of W's torch.randn initialization",
            min=0,
            max=MAX_SEED,
        ),
        Option("device", str, "cpu", "where to train: cpu, cuda, mps or auto", choices=DEVICES),
    )

    def __init__(self, **hparams: Any) -> None:
        super().__init__(**hparams)
        self.W_: torch.Tensor | None = None  # [(N-1)*V, V] log-counts, on the CPU
        self.loss_curve_: list[float] = []  # objective after 0, 1, ..., steps steps
        self.device_: str = ""  # where it was trained
        self.lr_: float | None = None  # the step size used (--lr auto resolved in fit)

    # -- learning ----------------------------------------------------------

    def _resolved_lr(self) -> float:
        """--lr as given, or default_lr of the optimizer and order for 'auto'."""
        lr = self.hparams["lr"]
        return default_lr(self.hparams["optimizer"], self.order) if lr == "auto" else float(lr)

    def _shape(self, V: int) -> tuple[int, int]:
        return (max(self.order - 1, 1) * V, V)

    def init_weights(self, V: int) -> torch.Tensor:
        """W drawn as the lecture does: torch.randn(shape, generator=g), float32 on the CPU."""
        import torch

        rows, cols = self._shape(V)
        if rows * cols > MAX_PARAMS:
            raise OptionError(
                f"the neural backend needs W of {rows:,} x {cols:,} numbers at order "
                f"{self.order} with {V:,} tokens (at most {MAX_PARAMS:,}); "
                "use a lower --order or the count backend"
            )
        g = torch.Generator().manual_seed(self.hparams["init_seed"])
        return torch.randn((rows, cols), generator=g)

    def _fit(self, corpus: Corpus, progress: Progress | None) -> None:
        import torch

        W0 = self.init_weights(len(corpus.vocab))
        device = pick_device(self.hparams["device"])
        dtype = torch.float32 if device.type == "mps" else torch.float64
        events = Events.of(corpus, self.order)
        W = W0.to(device=device, dtype=dtype)
        self.lr_ = self._resolved_lr()
        curve = self._train(W, events, device, progress)
        self.W_ = W.to("cpu", torch.float64)
        self.loss_curve_ = curve
        self.device_ = str(device)

    def _train(
        self, W: torch.Tensor, events: Events, device: torch.device, progress: Progress | None
    ) -> list[float]:
        """Run the optimizer on W in place; returns the loss curve (steps + 1 values)."""
        hp, lr = self.hparams, self._resolved_lr()
        counts = events.counts.to(device, W.dtype)
        objective = Objective(
            contexts=events.contexts.to(device),
            counts=counts,
            totals=counts.sum(1, keepdim=True),
            tokens=float(events.tokens),
            reg=hp["reg"],
        )
        step = _stepper(hp["optimizer"], W, lr, objective)
        curve: list[float] = []
        for i in range(hp["steps"]):
            loss = step()
            _check_finite(loss, i, lr)
            curve.append(loss)
            if progress is not None:
                progress(i + 1, hp["steps"], loss=loss)
        final = objective(W)[0].item()
        _check_finite(final, hp["steps"], lr)
        return [*curve, final]

    # -- the contract ------------------------------------------------------

    def weights(self) -> torch.Tensor:
        """The learned W [(N-1)*V, V] (float64, CPU); NotFittedError before fit."""
        self.require_fitted()
        if self.W_ is None:
            raise NotFittedError("NeuralLM has no weights: call fit() first")
        return self.W_

    def next_logprobs(self, contexts: torch.Tensor) -> torch.Tensor:
        return logits_of(self.weights(), contexts).log_softmax(1)  # (B, V) float64

    def summary(self) -> dict[str, Any]:
        W = self.weights()
        out: dict[str, Any] = {"parameters": W.numel()}
        if self.loss_curve_:
            out["final loss (NLL + reg)"] = f"{self.loss_curve_[-1]:.4f}"
        if self.device_:
            out["trained on"] = self.device_
        if self.hparams["lr"] == "auto" and self.lr_ is not None:
            out["lr used"] = f"{self.lr_:g}"
        unsettled = self.unsettled()
        if unsettled:
            out["warning"] = unsettled
        return out

    def unsettled(self) -> str:
        """Why training looks unfinished (the loss ended well above its lowest), or ''.

        Gradient descent with a large step can end in a 2-cycle above the
        minimum it passed; the user should hear of it, with what to try.
        """
        curve = self.loss_curve_
        if len(curve) < 3:
            return ""
        best = min(range(len(curve)), key=curve.__getitem__)
        if curve[-1] - curve[best] <= 1e-3 * max(abs(curve[best]), 1.0):
            return ""
        return (
            f"the loss ended at {curve[-1]:.4f}, above its lowest {curve[best]:.4f} "
            f"(step {best}): try --optimizer lbfgs or a smaller --lr"
        )

    # -- persistence -------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        import torch

        learned = {"lr": self.lr_}  # hparams keep --lr as given ('auto'), as CountLM's k
        config = {**self.base_config(), "trained_on": self.device_, "learned": learned}
        curve = torch.tensor(self.loss_curve_, dtype=torch.float64)
        return config, {"W": self.weights(), "loss_curve": curve}

    @classmethod
    def from_state(cls, config: dict[str, Any], tensors: dict[str, torch.Tensor]) -> NeuralLM:
        import torch

        model = cls.from_base_config(config)
        V = len(model.require_fitted())
        W = tensors.get("W")
        if W is None:
            raise ModelFileError("neural model lacks its W tensor")
        if tuple(W.shape) != model._shape(V) or not W.is_floating_point():
            raise ModelFileError(
                f"neural model's W has shape {tuple(W.shape)}, expected {model._shape(V)}"
            )
        if not bool(torch.isfinite(W).all()):
            raise ModelFileError("neural model's W holds non-finite numbers")
        curve = tensors.get("loss_curve")
        if curve is not None and (curve.dim() != 1 or not curve.is_floating_point()):
            raise ModelFileError("neural model's loss curve is not a float vector")
        model.W_ = W.to("cpu", torch.float64)
        model.loss_curve_ = [] if curve is None else curve.double().tolist()
        model.device_, model.lr_ = _trained(config, model)
        return model


def _trained(config: dict[str, Any], model: NeuralLM) -> tuple[str, float]:
    """(device, learning rate) a file records, checked: the lr is > 0, and only an
    lr='auto' model learns its own (older files record none: the resolved one)."""
    device, learned = config.get("trained_on", ""), config.get("learned", {})
    if not isinstance(device, str) or not isinstance(learned, dict):
        raise ModelFileError("neural model: trained_on or learned is of the wrong kind")
    lr = learned.get("lr", model._resolved_lr())
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ModelFileError("neural model's learning rate is missing or invalid")
    if model.hparams["lr"] != "auto" and lr != model.hparams["lr"]:
        raise ModelFileError(
            f"neural model: learned lr {lr!r} disagrees with lr={model.hparams['lr']}"
        )
    return device, float(lr)
