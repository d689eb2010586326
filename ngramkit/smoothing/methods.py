"""The interpolated smoothing methods, each a few lines of one shared recipe.

Every method here estimates, order by order from the unigrams up,

    p_k(w | h) = (a(h, w) - d(a(h, w))) / Z(h)  +  gamma(h) * p_{k-1}(w | h[1:])
    gamma(h)   = (sum_w d(a(h, w)) + t(h)) / Z(h),     Z(h) = sum_w a(h, w) + t(h)

and the unigrams interpolate with the uniform distribution over the
vocabulary (V tokens, or V + 1 when an unknown symbol gets a share, as in
KenLM). Rows sum to one by construction: the discounted mass is exactly
gamma(h). The methods differ in three choices:

- a: raw counts, or Kneser-Ney's continuation counts (the number of distinct
  tokens seen before the n-gram) below the top order;
- d: the discount taken from an n-gram of count a;
- t: extra weight for the lower order (Witten-Bell's N1+(h .)).

| method | a            | d(a)                     | t(h)      |
|--------|--------------|--------------------------|-----------|
| abs    | raw          | D                        | 0         |
| kn     | continuation | D                        | 0         |
| mkn    | continuation | D1, D2, D3+ for a=1,2,3+ | 0         |
| wb     | raw          | 0                        | N1+(h .)  |

Add-k ("fake counts") is not interpolated and lives in the count backend.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    """One interpolated smoothing method.

    continuation: use Kneser-Ney continuation counts below the top order.
    n_discounts: discounts per order: 0 (wb), 1 (abs, kn), 3 (mkn).
    witten_bell: add N1+(h .) to the lower order's weight (t above).
    min_order: the lowest model order the method makes sense for.
    """

    name: str
    title: str
    continuation: bool
    n_discounts: int
    witten_bell: bool = False
    min_order: int = 1

    def discount_range(self, j: int) -> float:
        """Upper bound of the j-th discount (1-based): D_j in (0, j]."""
        return float(j) if self.n_discounts == 3 else 1.0


METHODS: dict[str, Method] = {
    "abs": Method("abs", "interpolated absolute discounting", False, 1),
    "kn": Method("kn", "interpolated Kneser-Ney", True, 1, min_order=2),
    "mkn": Method("mkn", "modified Kneser-Ney (Chen & Goodman)", True, 3, min_order=2),
    "wb": Method("wb", "interpolated Witten-Bell", False, 0, witten_bell=True),
}
