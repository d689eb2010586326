"""Thresholds calibrated to a false-positive rate, ROC curves and their AUC.

A *score* says how much an item looks like the real items (higher = more
plausible); an item is flagged when its score is below the threshold.
Three scores, from an item's total log p (nats) and its tokens T = L + 1:

- "logprob":  log p(x), the total. Long items score lower for being long.
- "nll":      log p(x) / T, minus the NLL per token (so higher is better);
              shown and stored as the NLL itself, flagged above the threshold.
- "adjusted": log p(x) - (a + b T), where a + b T is the least-squares line
              through the real reference items' (T, log p): the log p the
              model expects for an item of that length. Fitted on the
              calibration list and stored with the threshold.

Calibration (`calibrate`) sorts the n real items' scores s_(1) <= ... <=
s_(n) and puts the threshold at s_(k+1), k = floor(fpr n): the items
strictly below it, at most k, are flagged, so the reference's own FPR is at
most the rate asked for (less under ties). A rate needs enough reference
items to mean anything: at least ceil(3 / fpr) (`min_reference`), the
"rule of three": with fewer, even a sample with no real item flagged could
not show the rate to be below fpr at 95% confidence.

AUC is the rank statistic P(s_real > s_bad) + P(tie) / 2 (Mann-Whitney U
with average ranks), exact, O(n log n). Items a model cannot score (OOV)
have no score: they are counted and left out of calibration and AUC.

This module reads no word lists and formats nothing (cli/threshold.py, report/decide.py).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .container import atomic_write
from .errors import DataError, ModelFileError, OptionError

if TYPE_CHECKING:
    from .results import Batch, ItemScore

SCORES = ("logprob", "nll", "adjusted")
DEFAULT_SCORE = "nll"  # best held-out AUC on names.txt (README, "Decisions")
ROC_POINTS = 201  # points kept of a ROC curve for reports and JSON
SIDECAR_SUFFIX = ".threshold.json"
FORMAT = "ngramkit-threshold"


def check_fpr(fpr: float) -> None:
    if not 0 < fpr < 1:
        raise OptionError(f"--fpr {fpr}: a false-positive rate must lie in (0, 1)")


def min_reference(fpr: float) -> int:
    """Real items needed to calibrate rate `fpr`: ceil(3 / fpr) (0.01 -> 300)."""
    return math.ceil(3 / fpr - 1e-9)


@dataclass(frozen=True)
class LengthFit:
    """Expected log p of an item of T tokens: intercept + slope T (nats)."""

    intercept: float = 0.0
    slope: float = 0.0

    @classmethod
    def of(cls, tokens: torch.Tensor, logprob: torch.Tensor) -> LengthFit:
        """Least squares over the finite (T, log p) pairs; a flat line when T never varies."""
        ok = logprob.isfinite()
        t, y = tokens[ok].double(), logprob[ok].double()
        if len(y) == 0:
            return cls()
        tc = t - t.mean()
        var = float((tc * tc).sum())
        slope = float((tc * (y - y.mean())).sum()) / var if var > 0 else 0.0
        return cls(float(y.mean()) - slope * float(t.mean()), slope)


def plausibility(score: str, logprob: Any, tokens: Any, fit: LengthFit | None = None) -> Any:
    """The score of items with total `logprob` (nats) and `tokens` (L + 1): floats or tensors."""
    if score == "logprob":
        return logprob
    if score == "nll":
        return logprob / tokens
    if score == "adjusted":
        f = fit or LengthFit()
        return logprob - (f.intercept + f.slope * tokens)
    raise OptionError(f"unknown score {score!r} (choose {', '.join(SCORES)})")


def scores(batch: Batch, score: str, fit: LengthFit | None = None) -> torch.Tensor:
    """float64 [N] plausibility of each item (higher = more like the real ones), nan if OOV."""
    return plausibility(score, batch.logprob, (batch.lengths + 1).double(), fit)


def shown(score: str, value: float) -> float:
    """A plausibility in the score's own units: the NLL for "nll", else unchanged."""
    return -value if score == "nll" else value


def auc(real: torch.Tensor, bad: torch.Tensor) -> float:
    """P(real scores above bad) + P(tie)/2 by average ranks: auc([2, 3], [1, 2]) == 0.875."""
    real, bad = real.double(), bad.double()
    if len(real) == 0 or len(bad) == 0:
        return math.nan
    both = torch.cat([real, bad])
    _, inverse, counts = torch.unique(both, return_inverse=True, return_counts=True)
    top = counts.cumsum(0).double()  # (U,) rank of each value's last copy, 1-based
    ranks = (top - (counts.double() - 1) / 2)[inverse]  # (n_real + n_bad,) average ranks
    nr, nb = len(real), len(bad)
    u = float(ranks[:nr].sum()) - nr * (nr + 1) / 2
    return u / (nr * nb)


def roc(real: torch.Tensor, bad: torch.Tensor) -> list[tuple[float, float, float]]:
    """(threshold, fpr, tpr) as the cut rises, flagging scores below it; from (0, 0) to (1, 1).

    At most ROC_POINTS points, evenly spaced along the distinct thresholds.
    """
    real, bad = real.double().sort().values, bad.double().sort().values
    cuts = torch.unique(torch.cat([real, bad]))  # (U,) ascending
    fpr = torch.searchsorted(real, cuts, right=False).double() / max(len(real), 1)
    tpr = torch.searchsorted(bad, cuts, right=False).double() / max(len(bad), 1)
    keep = torch.linspace(0, len(cuts) - 1, min(ROC_POINTS - 1, len(cuts))).round().long()
    points = [(float(c), float(f), float(t)) for c, f, t in zip(cuts[keep], fpr[keep], tpr[keep])]
    return [*points, (math.inf, 1.0, 1.0)]


@dataclass(frozen=True)
class Threshold:
    """A calibrated cut: items whose score is below `value` are flagged.

    value: in plausibility units (see `scores`); `shown(score, value)` gives the
    score's own units. fpr: the rate asked for; model: the model file's
    header_sha256 (so a threshold is never applied to another model).
    """

    score: str
    value: float
    fpr: float
    reference: int  # real items it was calibrated on
    fit: LengthFit
    model: str = ""

    def flag(self, batch: Batch) -> list[bool | None]:
        """Per item: below the threshold (True), not (False), or no score (None: OOV)."""
        s = scores(batch, self.score, self.fit).tolist()
        return [None if math.isnan(x) else x < self.value for x in s]

    def flag_row(self, row: ItemScore) -> bool | None:
        """One eval row: below the threshold, or None when it has no score (OOV)."""
        if row.oov:
            return None
        return bool(plausibility(self.score, row.logprob, row.tokens, self.fit) < self.value)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": 1,
            "score": self.score,
            "threshold": shown(self.score, self.value),
            "flag": "above" if self.score == "nll" else "below",
            "fpr": self.fpr,
            "reference_items": self.reference,
            "length_fit": {"intercept": self.fit.intercept, "slope": self.fit.slope},
            "model_header_sha256": self.model,
        }

    @classmethod
    def from_json(cls, data: Any, name: str) -> Threshold:
        """Rebuild from to_json's object; ModelFileError naming `name` when it is not one."""
        try:
            if data["format"] != FORMAT or data["score"] not in SCORES:
                raise ValueError
            fit = LengthFit(
                float(data["length_fit"]["intercept"]), float(data["length_fit"]["slope"])
            )
            value = shown(data["score"], float(data["threshold"]))
            return cls(
                data["score"],
                value,
                float(data["fpr"]),
                int(data["reference_items"]),
                fit,
                str(data.get("model_header_sha256", "")),
            )
        except (KeyError, TypeError, ValueError):
            raise ModelFileError(f"{name}: not an ngramkit threshold file") from None


def sidecar(model_path: str | Path) -> Path:
    """Where a model's threshold is kept: names.ngk -> names.ngk.threshold.json."""
    p = Path(model_path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def save(threshold: Threshold, path: str | Path) -> Path:
    """Write the threshold as JSON, atomically (container.atomic_write)."""
    text = json.dumps(threshold.to_json(), indent=2, allow_nan=False) + "\n"
    return atomic_write(Path(path), lambda f: f.write(text.encode()), ModelFileError)


def load(path: str | Path, model_sha: str = "") -> Threshold:
    """Read a threshold file; ModelFileError when missing, damaged or for another model."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{p}: no threshold file; run `ngramkit threshold` first") from None
    except (OSError, ValueError) as e:
        raise ModelFileError(f"{p}: cannot read threshold ({e})") from None
    t = Threshold.from_json(data, str(p))
    if model_sha and t.model and t.model != model_sha:
        raise ModelFileError(f"{p}: calibrated for another model; run `ngramkit threshold` again")
    return t


def calibrate(real: Batch, fpr: float, score: str = DEFAULT_SCORE, model: str = "") -> Threshold:
    """The threshold flagging about `fpr` of the real items (at most, see the module doc)."""
    check_fpr(fpr)
    ok = ~real.oov
    need = min_reference(fpr)
    if int(ok.sum()) < need:
        raise DataError(
            f"{int(ok.sum()):,} scored real items cannot estimate a false-positive rate of "
            f"{fpr:g}: at least {need:,} are needed (ceil(3 / fpr))"
        )
    fit = (
        LengthFit.of(real.lengths[ok] + 1, real.logprob[ok]) if score == "adjusted" else LengthFit()
    )
    s = scores(real, score, fit)[ok].sort().values  # (n,) ascending
    k = math.floor(fpr * len(s) + 1e-9)
    if not math.isfinite(float(s[k])):
        zero = int(s.isinf().sum())
        raise DataError(
            f"{zero:,} of {len(s):,} real items have probability 0 under this model, more than "
            f"the rate {fpr:g} allows: no finite threshold (fit with smoothing)"
        )
    return Threshold(score, float(s[k]), fpr, len(s), fit, model)


@dataclass(frozen=True)
class Calibration:
    """What `threshold` reports: the cut, its rates, and with bad items the ROC and AUCs."""

    threshold: Threshold
    real: int  # scored real items
    real_oov: int
    real_flagged: int
    bad: int = 0
    bad_oov: int = 0
    bad_flagged: int = 0
    aucs: dict[str, float] | None = None  # score -> AUC, every score
    curve: list[tuple[float, float, float]] | None = None  # the chosen score's ROC

    @property
    def fpr(self) -> float:
        return self.real_flagged / self.real

    @property
    def tpr(self) -> float:
        return self.bad_flagged / self.bad if self.bad else math.nan

    def to_json(self) -> dict[str, Any]:
        from .results import finite_or_none

        score = self.threshold.score
        out: dict[str, Any] = {
            "threshold": self.threshold.to_json(),
            "real": {
                "items": self.real,
                "oov": self.real_oov,
                "flagged": self.real_flagged,
                "fpr": self.fpr,
            },
            "bad": None,
            "auc": None,
            "roc": None,
        }
        if self.aucs is not None:  # --bad given (its items may all be OOV)
            out["bad"] = {
                "items": self.bad,
                "oov": self.bad_oov,
                "flagged": self.bad_flagged,
                "tpr": finite_or_none(self.tpr),
            }
            out["auc"] = {k: finite_or_none(v) for k, v in (self.aucs or {}).items()}
            out["roc"] = [
                {"threshold": finite_or_none(shown(score, c)), "fpr": f, "tpr": t}
                for c, f, t in self.curve or []
            ]
        return out


def calibration(
    real: Batch, bad: Batch | None, fpr: float, score: str = DEFAULT_SCORE, model: str = ""
) -> Calibration:
    """calibrate on `real`, then the rates, and with `bad` every score's AUC and the ROC."""
    t = calibrate(real, fpr, score, model)
    flagged = sum(f is True for f in t.flag(real))
    n_real, real_oov = int((~real.oov).sum()), int(real.oov.sum())
    if bad is None:
        return Calibration(t, n_real, real_oov, flagged)
    aucs = {}
    ok_r, ok_b = ~real.oov, ~bad.oov
    fit = LengthFit.of(real.lengths[ok_r] + 1, real.logprob[ok_r])
    for name in SCORES:
        aucs[name] = auc(scores(real, name, fit)[ok_r], scores(bad, name, fit)[ok_b])
    curve = roc(scores(real, score, t.fit)[ok_r], scores(bad, score, t.fit)[ok_b])
    bad_flagged = sum(f is True for f in t.flag(bad))
    return Calibration(
        t, n_real, real_oov, flagged, int(ok_b.sum()), int(bad.oov.sum()), bad_flagged, aucs, curve
    )
