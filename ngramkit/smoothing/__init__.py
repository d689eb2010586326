"""Smoothing for the count backend: count -> merge -> estimate.

`--smooth` takes a number (add-k, the lecture's fake counts) or a method:

- kn: interpolated Kneser-Ney, one discount per order;
- mkn: modified Kneser-Ney, three discounts per order (Chen & Goodman 1998);
- wb: interpolated Witten-Bell;
- abs: interpolated absolute discounting;
- auto: add-k with k tuned on a dev split cut from the training items.

Add-k (addk.py) keeps the top-order counts and scores by its formula. The
interpolated methods (methods.py) estimate from a `NgramCounts` table
(levels.py), with discounts estimated from count-of-counts, given, or tuned
(discounts.py, tune.py), into backoff tables (backoff.py) that score with a
few searchsorted calls per batch. Both write to ARPA files (arpa.py).
`estimate` turns counts into either, as `--smooth` says.

The unknown token (`--unk`: the vocabulary's last id, tokenizer.py) is one
more token of the counts, never counted unless `--min-count` made rare
symbols into it. Its probability, by method (docs/smoothing.md):

- kn, mkn, abs: KenLM's treatment. The unigrams interpolate with the uniform
  distribution over V tokens, the unknown one included, so it gets the
  uniform share gamma / V of the unigram level (lmplz's `<unk>` line), and
  backs off to it in every context.
- add-k (any k, 0 included) and wb: a singleton (Good-Turing) estimate. The
  probability that the next token is a symbol never seen is estimated by the
  share of training tokens that are symbols seen once, m = max(N1, 1) / N
  (`unk_mass`). add-k mixes it into every row, p(w | h) <- (1 - m) p(w | h)
  + m [w = unk], so even k = 0 scores unseen symbols finitely; wb mixes it
  into its unigram level, which every context backs off to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import memory
from ..errors import NgramkitError, OptionError
from ..options import Option
from .methods import METHODS

if TYPE_CHECKING:
    from ..corpus import Corpus
    from ..counts import NgramCounts
    from .addk import AddK
    from .backoff import BackoffTables

ADDK_AUTO = "auto"
IMPORTED = "arpa"
"""`smooth` of a model read from an ARPA file (its probabilities are given)."""

SMOOTH_NAMES = (*METHODS, ADDK_AUTO)


ADDK_MAX = 1e300  # fake counts: k * V stays finite below 1e8 symbols (1e308 gave rows of 0)


def parse_smooth(value: Any) -> float | str:
    """A number >= 0 (add-k) or a method name: parse_smooth("kn") == "kn"."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number >= 0 or one of {', '.join(SMOOTH_NAMES)}")
    if isinstance(value, (int, float)):
        k = float(value)
    else:
        text = str(value).strip().lower()
        if text in SMOOTH_NAMES or text == IMPORTED:
            return text
        try:
            k = float(text)
        except ValueError:
            raise ValueError(
                f"must be a number >= 0 (add-k) or one of {', '.join(SMOOTH_NAMES)}, got {value!r}"
            ) from None
    if not k >= 0 or k == float("inf"):
        raise ValueError(f"add-k needs a finite number >= 0, got {value!r}")
    if k > ADDK_MAX:
        raise ValueError(
            f"add-k needs a number up to 1e300 (beyond it k * V overflows), got {value!r}"
        )
    return k


def parse_discounts(value: Any) -> list[float] | None:
    """'0.5,1,1.5' or [0.5, 1, 1.5] -> [0.5, 1.0, 1.5]; '' -> None (estimate)."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)]
    if isinstance(value, (list, tuple)):
        return [float(v) for v in value]
    text = str(value)
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        return [float(p) for p in parts] or None
    except ValueError:
        raise ValueError(f"must be numbers separated by commas, got {text!r}") from None


OPTIONS = (
    Option(
        "smooth",
        str,
        1.0,
        "add-k fake counts (a number >= 0) or a method: kn, mkn, wb, abs, "
        "auto (add-k with k tuned on held-out training items)",
        parse=parse_smooth,
        metavar="K|" + "|".join(SMOOTH_NAMES),
    ),
    Option(
        "discount",
        str,
        None,
        "discounts of kn/abs (D, or one per order) or mkn (D1,D2,D3+, or three per "
        "order); estimated from count-of-counts when not given",
        parse=parse_discounts,
        metavar="D[,D...]",
    ),
    Option(
        "tune",
        bool,
        False,
        "tune the discounts on held-out training items (see --folds)",
    ),
    Option(
        "folds",
        int,
        5,
        "tuning (--tune, --smooth auto) cross-validates over this many folds of the "
        "training items; 1 tunes on one dev split of --dev-fraction instead",
        min=1,
        max=100,
    ),
    Option(
        "dev_fraction",
        float,
        0.1,
        "with --folds 1: share of training items held out to tune on",
        min=0,
        max=0.9,
        min_exclusive=True,
    ),
    Option(
        "unk",
        bool,
        False,
        "add the unknown token to the vocabulary (fit's --unk; kept for configs and "
        "CountLM(unk=True))",
    ),
)
"""The count backend's options: which estimator, and how it is fitted (see `estimate`)."""


def is_addk(smooth: float | str) -> bool:
    """Whether `smooth` names add-k (a number, or auto) rather than backoff tables."""
    return isinstance(smooth, float) or smooth == ADDK_AUTO


# Peak bytes an add-k estimate adds per n-gram of all orders to the counted table and
# its lower orders, measured on the stdlib corpus: 15 at order 5; with a margin, what
# `--memory` checks before estimating (kn, mkn, wb and abs check in fit.fit_tables).
ADDK_BYTES = 24


def estimate(
    hparams: dict[str, Any], counts: NgramCounts, corpus: Corpus | None
) -> tuple[AddK | BackoffTables, dict[str, Any]]:
    """(estimate, learned facts) from `counts` of `corpus`, as the OPTIONS in
    `hparams` say; `corpus` (the items counted) is needed only to tune."""
    from .addk import AddK, tune_k
    from .fit import fit_tables

    smooth = hparams["smooth"]
    options = {key: hparams[key] for key in ("discount", "tune", "folds", "dev_fraction")}
    if smooth == IMPORTED:
        raise OptionError(
            "smooth='arpa' is for models read from ARPA files (arpa.read, ngramkit import)",
            cli="--smooth arpa is for models read from ARPA files (ngramkit import)",
        )
    if (options["tune"] or smooth == ADDK_AUTO) and corpus is None:
        raise NgramkitError(
            "tuning (--tune, --smooth auto) needs the items, not only their counts: "
            "fit on the items in one process (no --workers, --shards, --dask or "
            "--from-counts; fit(), not fit_counts(), in Python)"
        )
    if corpus is not None and (options["tune"] or smooth == ADDK_AUTO):
        corpus = corpus.expanded()  # folds of held-out items: a weighted item's copies too
    if is_addk(smooth):
        ngrams = sum(len(k) for k in counts.keys)  # every order's, derived here once
        memory.require(ADDK_BYTES * ngrams, f"the estimate of {ngrams:,} n-grams")
    singleton = counts.vocab.unk and (is_addk(smooth) or METHODS[smooth].witten_bell)
    m = unk_mass(counts) if singleton else 0.0
    if not is_addk(smooth):
        return fit_tables(METHODS[smooth], corpus, counts, **options, unk_mass=m)
    if options["discount"] is not None or options["tune"]:
        raise OptionError(
            "discount and tune apply to kn, mkn, abs (add-k: smooth='auto')",
            cli="--discount and --tune apply to kn, mkn, abs (add-k: --smooth auto)",
        )
    if isinstance(smooth, str):
        assert corpus is not None
        smooth = tune_k(corpus, counts, options["folds"], options["dev_fraction"])
    learned = {"k": smooth, **({"unk_mass": m} if m else {})}
    return AddK.fit(*counts.top(), counts.vocab_size, counts.order, smooth, m), learned


def unk_mass(counts: NgramCounts) -> float:
    """The singleton estimate of p(unknown token): max(N1, 1) / N.

    N: predicted training tokens; N1: symbols (not the boundary, not the
    unknown token) predicted exactly once. Good-Turing's estimate of the mass
    of unseen symbols is N1 / N; with no singleton one is assumed, so the
    estimate is never 0. ["ab", "b"] with a V=4 vocabulary (. a b unk): N = 5
    tokens, N1 = 1 (a), m = 0.2.
    """
    import torch

    V = counts.vocab_size
    keys, cnt = counts.top()
    per_token = torch.zeros(V, dtype=torch.long).index_add_(0, keys % V, cnt)  # (V,)
    n1 = int((per_token[1 : V - 1] == 1).sum())
    return max(n1, 1) / max(counts.tokens, 1)
