"""The `mlp` backend: ngramkit's contract around network.py and train.py.

Hyperparameters are declared once in `MLPLM.options`; ngramkit turns them
into `ngramkit fit` flags (`--emb`, `--hidden`, `--steps`, ...), validates
YAML configs with them and records them in the model file.

torch is imported inside methods only: ngramkit imports this module to list
backends, and `ngramkit backends` must not pay for torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ngramkit import LanguageModel, Option
from ngramkit.errors import ModelFileError

from . import network
from .train import Schedule, sgd, torch_threads

if TYPE_CHECKING:
    import torch
    from ngramkit.corpus import Corpus
    from ngramkit.model import Progress


class MLPLM(LanguageModel):
    """Bengio et al. 2003: embed the n-1 previous tokens, one tanh layer, softmax."""

    name = "mlp"
    description = "MLP n-gram model (Bengio et al. 2003, makemore part 2), trained with SGD"
    unk_min_count = 2  # --unk: the symbols seen once train the unknown token (see ngramkit)
    options = (
        Option(
            "order", int, 4, "n-gram order: the MLP sees order-1 previous tokens", min=1, max=32
        ),
        Option("emb", int, 16, "embedding size per token", min=1, max=4096),
        Option("hidden", int, 256, "units in the tanh hidden layer", min=1, max=65536),
        Option("steps", int, 50_000, "SGD steps (one minibatch each)", min=1),
        Option("batch_size", int, 64, "n-gram windows per minibatch", min=1),
        Option("lr", float, 0.1, "initial learning rate", min=0, max=1000, min_exclusive=True),
        Option(
            "lr_decay",
            float,
            0.1,
            "factor applied to the lr at each decay",
            min=0,
            max=1,
            min_exclusive=True,
        ),
        Option("decays", int, 1, "lr decays, evenly spaced over the steps", min=0, max=100),
        Option("init_seed", int, 2147483647, "seed of the initialization and minibatches"),
        Option("threads", int, 1, "CPU threads while training (1 is fastest here)", min=1),
    )

    def _fit(self, corpus: Corpus, progress: Progress | None) -> None:
        import torch

        h = self.hparams
        grams, _ = corpus.windows(self.order)  # (T, order): contexts then next token
        g = torch.Generator().manual_seed(h["init_seed"])
        V = len(self.require_fitted())
        params = network.init_params(V, self.order - 1, h["emb"], h["hidden"], g)
        schedule = Schedule(h["steps"], h["lr"], h["lr_decay"], h["decays"])
        with torch_threads(h["threads"]):
            self.loss_ = sgd(
                params, grams[:, :-1], grams[:, -1], schedule, h["batch_size"], g, progress
            )
        self.params_ = params

    def next_logprobs(self, contexts: torch.Tensor) -> torch.Tensor:
        import torch

        self.require_fitted()
        with torch.no_grad():
            out = network.logits(self.params_, contexts)  # (B, V) float32
            # Normalize in float64 so every row's logsumexp is 0 to ~1e-15.
            return out.double().log_softmax(1)

    def summary(self) -> dict[str, Any]:
        return {"parameters": sum(p.numel() for p in self.params_.values())}

    def state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        return self.base_config(), dict(self.params_)

    @classmethod
    def from_state(cls, config: dict[str, Any], tensors: dict[str, torch.Tensor]) -> MLPLM:
        import torch

        model = cls.from_base_config(config)
        V, h = len(model.require_fitted()), model.hparams
        want = network.shapes(V, model.order - 1, h["emb"], h["hidden"])
        for name, shape in want.items():
            t = tensors.get(name)
            if t is None or tuple(t.shape) != shape or t.dtype != torch.float32:
                raise ModelFileError(f"mlp model tensor {name} is missing or not {shape} float32")
            if not bool(torch.isfinite(t).all()):
                raise ModelFileError(f"mlp model tensor {name} holds NaN or infinite values")
        model.params_ = {name: tensors[name] for name in network.NAMES}
        return model
