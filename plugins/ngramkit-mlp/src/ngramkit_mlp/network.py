"""The network of Bengio et al. 2003 as in makemore: embeddings, tanh, softmax.

    emb    = C[ctx]                            # (B, n-1, E) learned embeddings
    h      = tanh(emb.view(B, -1) @ W1 + b1)   # (B, H) hidden layer
    logits = h @ W2 + b2                       # (B, V) log-counts of the next token

Initialization is makemore part 3's fix of part 2's: W1 gets the tanh gain
over sqrt(fan_in) so the hidden layer starts unsaturated, and W2 is scaled by
0.01 with b2 = 0 so the first loss is about ln V (a uniform guess) instead of
a confident wrong one. This module holds only parameters and the forward pass;
training is in train.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

NAMES = ("C", "W1", "b1", "W2", "b2")
TANH_GAIN = 5 / 3


def shapes(vocab: int, context: int, emb: int, hidden: int) -> dict[str, tuple[int, ...]]:
    """Parameter shapes: shapes(27, 3, 10, 200)["W1"] == (30, 200)."""
    return {
        "C": (vocab, emb),
        "W1": (context * emb, hidden),
        "b1": (hidden,),
        "W2": (hidden, vocab),
        "b2": (vocab,),
    }


def init_params(
    vocab: int, context: int, emb: int, hidden: int, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """Fresh float32 parameters, drawn from `generator` in the order of NAMES."""
    import torch

    s = shapes(vocab, context, emb, hidden)
    fan_in = max(context * emb, 1)
    return {
        "C": torch.randn(s["C"], generator=generator),
        "W1": torch.randn(s["W1"], generator=generator) * (TANH_GAIN / fan_in**0.5),
        "b1": torch.randn(s["b1"], generator=generator) * 0.01,
        "W2": torch.randn(s["W2"], generator=generator) * 0.01,
        "b2": torch.zeros(s["b2"]),
    }


def logits(params: dict[str, torch.Tensor], contexts: torch.Tensor) -> torch.Tensor:
    """contexts LongTensor [B, n-1] -> float32 logits [B, V] (unnormalized)."""
    import torch

    B, k = contexts.shape
    emb = params["C"][contexts].reshape(B, k * params["C"].shape[1])  # (B, (n-1)*E)
    h = torch.tanh(emb @ params["W1"] + params["b1"])  # (B, H)
    return h @ params["W2"] + params["b2"]  # (B, V)
