"""The `wavenet` backend: ngramkit's contract around network.py and train.py.

Hyperparameters are declared once in `WaveNetLM.options`; ngramkit turns them
into `ngramkit fit` flags (`--emb`, `--hidden`, `--steps`, `--minutes`, ...),
validates YAML configs with them and records them in the model file.

Training runs on --device (cpu, cuda, mps or auto); the learned tensors are
moved to the CPU afterwards, so a model trained on a GPU is saved, loaded
and scored like any other. Scoring uses batchnorm's running statistics, so a
row's distribution depends on its own context only.

torch is imported inside methods only: ngramkit imports this module to list
backends, and `ngramkit backends` must not pay for torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ngramkit import LanguageModel, Option
from ngramkit.backends.neural import DEVICES, pick_device
from ngramkit.errors import ModelFileError
from ngramkit.options import LECTURE_SEED, MAX_SEED

from . import network
from .train import Plan, sgd, torch_threads

if TYPE_CHECKING:
    import torch
    from ngramkit.corpus import Corpus
    from ngramkit.model import Progress

LAST_STEPS = 1000  # summary's "final loss" is the mean over this many last steps


class WaveNetLM(LanguageModel):
    """makemore part 5: embed the context, fuse neighbours in pairs level by level."""

    name = "wavenet"
    description = "hierarchical MLP with batchnorm (WaveNet-style, makemore part 5), SGD"
    unk_min_count = 2  # --unk: the symbols seen once train the unknown token (see ngramkit)
    options = (
        Option(
            "order",
            int,
            9,
            "n-gram order: reads order-1 previous tokens (padded to a power of 2)",
            min=2,
            max=65,
        ),
        Option("emb", int, 24, "embedding size per token", min=1, max=4096),
        Option("hidden", int, 128, "units in each fusion level", min=1, max=16384),
        Option("steps", int, 200_000, "most SGD steps (one minibatch each)", min=1),
        Option("batch_size", int, 32, "n-gram windows per minibatch", min=2),
        Option(
            "minutes",
            float,
            None,
            "wall-clock budget: stop when spent (the step count then depends on speed)",
            min=0,
            min_exclusive=True,
        ),
        Option("lr", float, 0.1, "initial learning rate", min=0, max=1000, min_exclusive=True),
        Option(
            "lr_decay",
            float,
            0.1,
            "factor applied to the lr once decay_at of training is done",
            min=0,
            max=1,
            min_exclusive=True,
        ),
        Option(
            "decay_at",
            float,
            0.75,
            "fraction of the steps (or of --minutes) after which the lr decays",
            min=0,
            max=1,
        ),
        Option(
            "init_seed",
            int,
            LECTURE_SEED,
            "seed of the initialization and minibatches",
            min=0,
            max=MAX_SEED,
        ),
        Option("device", str, "cpu", "where to train: cpu, cuda, mps or auto", choices=DEVICES),
        Option("threads", int, 1, "CPU threads while training (1 is fastest here)", min=1),
    )

    def __init__(self, **hparams: Any) -> None:
        super().__init__(**hparams)
        self.params_: dict[str, torch.Tensor] = {}  # learned, float32 on the CPU
        self.buffers_: dict[str, torch.Tensor] = {}  # batchnorm running statistics
        self.loss_curve_: list[float] = []  # minibatch loss of each step, nats/token
        self.device_ = ""  # where it was trained

    def _sizes(self) -> tuple[int, int, int, int]:
        """(V, context, emb, hidden) of the fitted model."""
        h = self.hparams
        return len(self.require_fitted()), self.order - 1, h["emb"], h["hidden"]

    def _fit(self, corpus: Corpus, progress: Progress | None) -> None:
        import torch

        h = self.hparams
        device = pick_device(h["device"])
        grams, _ = corpus.windows(self.order)  # (T, order): contexts then next token
        g = torch.Generator().manual_seed(h["init_seed"])
        V, k, E, H = self._sizes()
        params = {n: t.to(device) for n, t in network.init_params(V, k, E, H, g).items()}
        buffers = {n: t.to(device) for n, t in network.init_buffers(k, H).items()}
        plan = Plan(
            h["steps"], h["batch_size"], h["minutes"], h["lr"], h["lr_decay"], h["decay_at"]
        )
        X, Y = grams[:, :-1].to(device), grams[:, -1].to(device)
        with torch_threads(h["threads"]):
            run = sgd(params, buffers, X, Y, plan, g, progress)
        self.params_ = {n: t.detach().to("cpu") for n, t in params.items()}
        self.buffers_ = {n: t.to("cpu") for n, t in buffers.items()}
        self.loss_curve_ = run.curve
        self.device_ = str(device)

    def next_logprobs(self, contexts: torch.Tensor) -> torch.Tensor:
        import torch

        self.require_fitted()
        with torch.no_grad():
            out = network.logits(self.params_, self.buffers_, contexts, training=False)
            # Normalize in float64 so every row's logsumexp is 0 to ~1e-15.
            return out.double().log_softmax(1)  # (B, V)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"parameters": sum(p.numel() for p in self.params_.values())}
        curve = self.loss_curve_
        if curve:
            last = curve[-LAST_STEPS:]
            out["steps trained"] = len(curve)
            out[f"final loss (mean of last {len(last)} steps)"] = f"{sum(last) / len(last):.4f}"
        if self.device_:
            out["trained on"] = self.device_
        return out

    # -- persistence -------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        import torch

        config = {**self.base_config(), "trained_on": self.device_}
        curve = torch.tensor(self.loss_curve_, dtype=torch.float32)
        return config, {**self.params_, **self.buffers_, "loss_curve": curve}

    @classmethod
    def from_state(cls, config: dict[str, Any], tensors: dict[str, torch.Tensor]) -> WaveNetLM:
        model = cls.from_base_config(config)
        V, k, E, H = model._sizes()
        model.params_ = _checked(tensors, network.shapes(V, k, E, H))
        model.buffers_ = _checked(tensors, network.buffer_shapes(k, H))
        if any(bool((v <= 0).any()) for n, v in model.buffers_.items() if n.startswith("var")):
            raise ModelFileError("wavenet model holds a running variance that is not positive")
        curve = tensors.get("loss_curve")
        if curve is None or curve.dim() != 1 or not curve.is_floating_point():
            raise ModelFileError("wavenet model's loss_curve is missing or not a float vector")
        model.loss_curve_ = curve.tolist()
        device = config.get("trained_on", "")
        if not isinstance(device, str):
            raise ModelFileError("wavenet model's trained_on is not a string")
        model.device_ = device
        return model


def _checked(
    tensors: dict[str, torch.Tensor], want: dict[str, tuple[int, ...]]
) -> dict[str, torch.Tensor]:
    """The tensors named in `want`, each of its shape, float32 and finite; else ModelFileError."""
    import torch

    for name, shape in want.items():
        t = tensors.get(name)
        if t is None or tuple(t.shape) != shape or t.dtype != torch.float32:
            raise ModelFileError(f"wavenet model tensor {name} is missing or not {shape} float32")
        if not bool(torch.isfinite(t).all()):
            raise ModelFileError(f"wavenet model tensor {name} holds NaN or infinite values")
    return {name: tensors[name] for name in want}
