"""The oddest spot of a scored item: the token that surprised the model most.

"andrejq" under the names bigram: the q after j (p ~ 0.0003) is the spot,
shown as its context and token together, "jq". `breakdown_report` is
`ngramkit score`'s view of one item. No I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.text import Text

from ..errors import visible
from .tables import num, score_table, surprisal_style

if TYPE_CHECKING:
    from ..results import Breakdown, TokenScore


def oddest(tokens: Sequence[TokenScore]) -> int:
    """Index of the most surprising token (the lowest log p; the first on ties)."""
    return min(range(len(tokens)), key=lambda i: (tokens[i].logprob, i))


def oddest_line(tokens: Sequence[TokenScore], separator: str = "") -> Text:
    """'oddest spot: jq (q after j)  p = 0.0003, 11.70 bits' for one item."""
    t = tokens[oddest(tokens)]
    context, token = visible(t.context), visible(t.token)  # from the item: no raw controls
    bits = t.surprisal_bits
    text = Text("oddest spot: ", style="dim")
    spot = f"{context}{separator}{token}" if context else token
    text.append(spot, style=surprisal_style(t.logprob))
    where = f"after {context}" if context else "with no context: a unigram model"
    text.append(f"  ({token} {where})" if context else f"  ({token}, {where})", style="dim")
    text.append(f"  p = {t.prob:.4g}, {num(bits, 2) if math.isfinite(bits) else 'inf'} bits")
    return text


def breakdown_report(b: Breakdown, separator: str = "", limit: int | None = None) -> RenderableType:
    """`score`'s view of one item: its token table (the first `limit` rows) and oddest
    spot (of all of them), or why it is OOV."""
    if b.unknown and not b.tokens:
        return Text.assemble((visible(b.item), "bold"), f": OOV, {visible(b.reason)}")
    parts = [score_table(b.item, b.tokens, separator, limit), oddest_line(b.tokens, separator)]
    if b.unknown:
        unseen = visible(" ".join(b.unknown))
        parts.append(Text(f"scored as the unknown token: {unseen}", style="dim"))
    return Group(*parts)
