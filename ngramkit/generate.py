"""Sampling conditioned on constraints: rejection over the lecture's seeded stream.

How each draw is conditioned (all exact, none approximate):

- prefix: context, not a draw. Walking on from the prefix draws the rest with
  p(rest | prefix), which is p(item | item starts with prefix) exactly.
- top_k, top_p, temperature: they change the distribution drawn from (each
  token's row), as in sampling.py; constraints condition that distribution.
- min_len, max_len, suffix, new: rejection. Candidates are the stream's items
  in order (sampling.ItemStream); each is kept when it meets the constraints.
  A kept item is distributed as the model conditioned on the constraints,
  since rejection sampling conditions exactly. Candidates are cut at
  max_len + 1 symbols, so no time goes into items that must be rejected.
- unique: rejection of repeats: the j-th item is drawn conditioned on
  differing from the j-1 items before it (sampling without replacement).

With no constraint the items are the stream's, exactly the lecture's draws.
The same seed gives the same items. At most `tries` candidates are drawn
(default max(MIN_TRIES, TRIES_PER_ITEM * n)), so a nearly impossible
constraint stops in bounded time; so does a draw that kept nothing in the
last MIN_TRIES + 10x its mean candidates per item (--unique past what the
model makes). The result says how far it got.

Not here: the draw itself (sampling.py) and the checks of constraints (constraints.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .constraints import Constraints
from .errors import NgramkitError, SamplingError
from .sampling import ItemStream

if TYPE_CHECKING:
    from .model import LanguageModel

MIN_TRIES = 10_000
TRIES_PER_ITEM = 100


@dataclass(frozen=True)
class Draws:
    """What a conditioned draw gave: the kept items and how many candidates it took."""

    items: list[str]
    wanted: int
    candidates: int

    @property
    def complete(self) -> bool:
        return len(self.items) == self.wanted

    @property
    def acceptance(self) -> float:
        """Kept items per candidate drawn (1.0 with no constraint)."""
        return len(self.items) / self.candidates if self.candidates else 1.0

    def shortfall(self, c: Constraints) -> str:
        """One line saying why the draw stopped short (empty when complete)."""
        if self.complete:
            return ""
        what = "distinct items" if c.unique else "items"
        return (
            f"found {len(self.items):,} of {self.wanted:,} {what} meeting the constraints in "
            f"{self.candidates:,} candidates (acceptance rate {self.acceptance:.3%}); "
            "loosen the constraints or raise --tries"
        )


def draw(
    model: LanguageModel,
    n: int,
    c: Constraints,
    *,
    seed: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    cut: int | None = None,
    tries: int | None = None,
) -> Draws:
    """`n` items from the model conditioned on `c` (see the module docstring).

    cut: cut candidates after this many drawn symbols (sampling's max_len).
    tries: the most candidates to draw before stopping short.
    """
    vocab = model.require_fitted()
    if n < 0:
        raise NgramkitError(f"cannot draw {n} samples")
    c.check(vocab)
    c = c.under(vocab)  # affixes as the items read
    seen = c.seen(model)
    stream = ItemStream(
        model,
        seed=seed,
        temperature=temperature,
        prefix=c.prefix,
        max_len=_cut(c, vocab.split(c.prefix), cut),
        top_k=top_k,
        top_p=top_p,
    )
    if not c.restricts:
        return Draws(stream.take(n), n, n)
    budget = max(MIN_TRIES, TRIES_PER_ITEM * n) if tries is None else tries
    kept: list[str] = []
    unique: set[str] = set()
    drawn = last = 0  # candidates drawn; drawn when the last item was kept
    while len(kept) < n and drawn < budget and not _stalled(drawn, last, len(kept)):
        rate = (len(kept) + 1) / (drawn + 1)
        want = max(64, int(1.1 * (n - len(kept)) / rate))
        batch = stream.take(min(budget - drawn, want, max(4096, 2 * drawn)))  # batches grow
        for item in batch:
            drawn += 1
            if c.admits(item, vocab, seen) and not (c.unique and item in unique):
                kept.append(item)
                unique.add(item)
                last = drawn
                if len(kept) == n:
                    break
    return Draws(kept, n, drawn)


def _stalled(drawn: int, last: int, kept: int) -> bool:
    """No item kept in the last MIN_TRIES + 10x the mean candidates per item: stop.

    The case of --unique past what the model makes (a model of 2 items asked for 10).
    """
    return kept > 0 and drawn - last > MIN_TRIES + 10 * last / kept


def _cut(c: Constraints, prefix: list[str], cut: int | None) -> int | None:
    """Drawn symbols after which a candidate is cut: max_len + 1 in all (then rejected)."""
    if c.max_len is None:
        return cut
    over = c.max_len + 1 - len(prefix)
    return over if cut is None else min(cut, over)


def sample(model: LanguageModel, n: int, c: Constraints, **kw: object) -> list[str]:
    """draw()'s items, or SamplingError (with the items found) when it stopped short."""
    got = draw(model, n, c, **kw)  # type: ignore[arg-type]
    if not got.complete:
        raise SamplingError(got.shortfall(c), got.items)
    return got.items
