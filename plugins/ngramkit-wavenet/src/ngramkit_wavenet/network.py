"""The hierarchical MLP of makemore part 5 ("WaveNet"): parameters and forward pass.

The context (order-1 token ids, padded on the left with boundaries to a power
of two, `width`) is embedded, then fused two neighbours at a time, level by
level, until one vector is left:

    x = C[ctx]                                  # (B, width, E)
    for each level l = 0 .. levels-1:           # levels = log2(width)
        x = x.view(B, T // 2, 2 * D)            # pairs of consecutive positions
        x = tanh(batchnorm_l(x @ W_l))          # (B, T // 2, H)
    logits = x.view(B, H) @ Wout + bout         # (B, V)

Batch normalization normalizes each of the H units over the batch and the
positions together (dims 0 and 1, as the lecture's BatchNorm1d does on 3-d
input), then scales by gamma_l and shifts by beta_l. Training uses the batch's
statistics and updates running means and variances (momentum 0.1); scoring
(`training=False`) uses the running ones, so each row's answer depends on its
own context only. W_l carry no bias (batchnorm's beta replaces it).

Initialization follows the lecture: C ~ N(0, 1), W_l ~ N(0, 1) / sqrt(fan_in),
gamma = 1, beta = 0, running mean 0 and variance 1, and Wout ~ N(0, 1) /
sqrt(H) scaled by 0.1 with bout = 0, so the first loss is about ln V. At the
lecture's sizes (V 27, context 8, E 24, H 128) there are 76,579 parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

MOMENTUM = 0.1  # weight of each batch in the running statistics
EPS = 1e-5  # added to the variance before its square root
OUT_SCALE = 0.1  # the lecture's "last layer: make less confident"


def width(context: int) -> int:
    """Positions the network reads: the context padded to a power of two, at least 2.

    width(8) == 8, width(5) == 8, width(1) == 2.
    """
    w = 2
    while w < context:
        w *= 2
    return w


def levels(context: int) -> int:
    """Fusion levels: log2(width(context)); levels(8) == 3."""
    return width(context).bit_length() - 1


def shapes(vocab: int, context: int, emb: int, hidden: int) -> dict[str, tuple[int, ...]]:
    """Learned parameter shapes: shapes(27, 8, 24, 128)["W1"] == (256, 128)."""
    out: dict[str, tuple[int, ...]] = {"C": (vocab, emb)}
    for level in range(levels(context)):
        fan_in = 2 * (emb if level == 0 else hidden)
        out[f"W{level}"] = (fan_in, hidden)
        out[f"gamma{level}"] = (hidden,)
        out[f"beta{level}"] = (hidden,)
    out["Wout"] = (hidden, vocab)
    out["bout"] = (vocab,)
    return out


def buffer_shapes(context: int, hidden: int) -> dict[str, tuple[int, ...]]:
    """Running batchnorm statistics (not learned by gradient): mean0, var0, ..."""
    out: dict[str, tuple[int, ...]] = {}
    for level in range(levels(context)):
        out[f"mean{level}"] = (hidden,)
        out[f"var{level}"] = (hidden,)
    return out


def init_params(
    vocab: int, context: int, emb: int, hidden: int, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """Fresh float32 parameters on the CPU, drawn from `generator` in shapes() order."""
    import torch

    out: dict[str, torch.Tensor] = {}
    for name, shape in shapes(vocab, context, emb, hidden).items():
        if name.startswith("gamma"):
            out[name] = torch.ones(shape)
        elif name.startswith(("beta", "bout")):
            out[name] = torch.zeros(shape)
        elif name == "C":
            out[name] = torch.randn(shape, generator=generator)
        else:
            scale = OUT_SCALE if name == "Wout" else 1.0
            out[name] = torch.randn(shape, generator=generator) * (scale / shape[0] ** 0.5)
    return out


def init_buffers(context: int, hidden: int) -> dict[str, torch.Tensor]:
    """Running statistics before training: means 0, variances 1 (float32, CPU)."""
    import torch

    return {
        name: torch.zeros(shape) if name.startswith("mean") else torch.ones(shape)
        for name, shape in buffer_shapes(context, hidden).items()
    }


def pad(contexts: torch.Tensor, to: int) -> torch.Tensor:
    """Left-pad [B, k] token ids with boundaries (id 0) to [B, to]."""
    import torch.nn.functional as F

    return F.pad(contexts, (to - contexts.shape[1], 0), value=0)


def logits(
    params: dict[str, torch.Tensor],
    buffers: dict[str, torch.Tensor],
    contexts: torch.Tensor,
    training: bool,
) -> torch.Tensor:
    """contexts LongTensor [B, order-1] -> float32 logits [B, V] (unnormalized).

    With training=True, batchnorm uses the batch's statistics and updates
    `buffers` in place; with False it reads them only.
    """
    import torch
    import torch.nn.functional as F

    B = contexts.shape[0]  # explicit sizes below: a reshape cannot infer -1 when B is 0
    n_levels = sum(name.startswith("gamma") for name in params)
    x = params["C"][pad(contexts, 2**n_levels)]  # (B, width, E)
    for level in range(n_levels):
        T, D = x.shape[1] // 2, 2 * x.shape[2]
        x = x.reshape(B, T, D) @ params[f"W{level}"]  # (B, T, H)
        H = x.shape[2]
        x = F.batch_norm(
            x.reshape(B * T, H),
            buffers[f"mean{level}"],
            buffers[f"var{level}"],
            params[f"gamma{level}"],
            params[f"beta{level}"],
            training=training,
            momentum=MOMENTUM,
            eps=EPS,
        )
        x = torch.tanh(x).reshape(B, T, H)
    return x.reshape(B, x.shape[2]) @ params["Wout"] + params["bout"]  # (B, V)
