"""The oddest spot of a scored item: the token that surprised the model most.

"andrejq" under the names bigram: the q after j (p ~ 0.0003) is the spot,
shown as its context and token together, "jq". No I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text

from .tables import colored_item, num, surprisal_style

if TYPE_CHECKING:
    from ..evaluate import TokenScore


def oddest(tokens: Sequence[TokenScore]) -> int:
    """Index of the most surprising token (the lowest log p; the first on ties)."""
    return min(range(len(tokens)), key=lambda i: (tokens[i].logprob, i))


def oddest_line(tokens: Sequence[TokenScore], separator: str = "") -> Text:
    """'oddest spot: jq (q after j)  p = 0.0003, 11.70 bits' for one item."""
    t = tokens[oddest(tokens)]
    bits = t.surprisal_bits
    text = Text("oddest spot: ", style="dim")
    spot = f"{t.context}{separator}{t.token}" if t.context else t.token
    text.append(spot, style=surprisal_style(t.logprob))
    where = f"after {t.context}" if t.context else "with no context: a unigram model"
    text.append(f"  ({t.token} {where})" if t.context else f"  ({t.token}, {where})", style="dim")
    text.append(f"  p = {t.prob:.4g}, {num(bits, 2) if math.isfinite(bits) else 'inf'} bits")
    return text


def item_line(item: str, tokens: Sequence[TokenScore], separator: str = "") -> Text:
    """The item colored by per-token surprisal, then its total."""
    total = sum(t.logprob for t in tokens)
    text = Text.assemble(colored_item(tokens, separator), "  ")
    text.append(f"log p = {num(total)} nats over {len(tokens)} tokens", style="dim")
    return text
