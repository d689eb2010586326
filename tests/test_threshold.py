"""Thresholds: AUC by ranks against a double loop, calibration, the figures, the CLI."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from ngramkit import CountLM
from ngramkit.cli import cli
from ngramkit.errors import DataError, OptionError
from ngramkit.evaluate import score_batch
from ngramkit.persist import save
from ngramkit.threshold import (
    DEFAULT_SCORE,
    SCORES,
    LengthFit,
    auc,
    calibrate,
    calibration,
    min_reference,
    roc,
    scores,
)


def auc_by_loop(real: list[float], bad: list[float]) -> float:
    """P(real > bad) + P(tie)/2 over every pair."""
    wins = sum((r > b) + 0.5 * (r == b) for r in real for b in bad)
    return wins / (len(real) * len(bad))


small = st.lists(st.integers(-5, 5).map(float), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(small, small)
def test_auc_is_the_pairwise_rank_statistic(real: list[float], bad: list[float]) -> None:
    got = auc(torch.tensor(real), torch.tensor(bad))
    assert got == pytest.approx(auc_by_loop(real, bad), abs=1e-12)


def test_auc_known_values_and_infinities() -> None:
    assert auc(torch.tensor([2.0, 3.0]), torch.tensor([1.0, 2.0])) == 0.875
    inf = math.inf
    assert auc(torch.tensor([-1.0, 0.0]), torch.tensor([-inf, -inf])) == 1.0
    assert math.isnan(auc(torch.tensor([1.0]), torch.tensor([])))


@settings(max_examples=100, deadline=None)
@given(small, small)
def test_roc_runs_from_corner_to_corner_and_rises(real: list[float], bad: list[float]) -> None:
    curve = roc(torch.tensor(real), torch.tensor(bad))
    assert curve[0][1:] == (0.0, 0.0) or min(real + bad) < curve[0][0]
    assert curve[-1][1:] == (1.0, 1.0)
    for (_, f0, t0), (_, f1, t1) in zip(curve, curve[1:]):
        assert f1 >= f0 and t1 >= t0
    r = sorted(real)
    for cut, fpr, _ in curve[:-1]:  # flag below the cut: fpr = share of real below it
        assert fpr == sum(x < cut for x in r) / len(r)


def test_length_fit_is_least_squares() -> None:
    """Points (2, -5), (3, -7), (4, -9): the line -1 - 2T exactly."""
    fit = LengthFit.of(
        torch.tensor([2, 3, 4]), torch.tensor([-5.0, -7.0, -9.0], dtype=torch.float64)
    )
    assert fit.intercept == pytest.approx(-1) and fit.slope == pytest.approx(-2)
    flat = LengthFit.of(torch.tensor([3, 3]), torch.tensor([-4.0, -6.0], dtype=torch.float64))
    assert (flat.intercept, flat.slope) == (-5.0, 0.0)


def test_min_reference() -> None:
    assert min_reference(0.01) == 300 and min_reference(0.05) == 60 and min_reference(0.3) == 10


@pytest.fixture(scope="module")
def splits(names: list[str]) -> dict[str, list[str]]:
    """names.txt shuffled (seed 0): 20,000 to train, 6,000 to calibrate, the rest fresh;
    'gibberish': for each fresh name, a string of its length, letters uniform over a-z."""
    rng = random.Random(0)
    shuffled = names[:]
    rng.shuffle(shuffled)
    fresh = shuffled[26000:]
    letters = "abcdefghijklmnopqrstuvwxyz"
    gibberish = ["".join(rng.choice(letters) for _ in w) for w in fresh]
    return {
        "train": shuffled[:20000],
        "cal": shuffled[20000:26000],
        "fresh": fresh,
        "gibberish": gibberish,
    }


@pytest.fixture(scope="module")
def bigram(splits: dict[str, list[str]]) -> CountLM:
    return CountLM(order=2, smooth=1).fit(splits["train"])


def test_figure_gibberish_auc(bigram: CountLM, splits: dict[str, list[str]]) -> None:
    """Held-out names vs length-matched random strings, bigram add-one.

    Measured: logprob 0.9348, nll 0.9918, adjusted 0.9899: nll is best and is the default.
    """
    c = calibration(score_batch(bigram, splits["cal"]), None, 0.01)
    real, bad = score_batch(bigram, splits["fresh"]), score_batch(bigram, splits["gibberish"])
    fit = LengthFit.of(
        score_batch(bigram, splits["cal"]).lengths + 1, score_batch(bigram, splits["cal"]).logprob
    )
    aucs = {s: auc(scores(real, s, fit), scores(bad, s, fit)) for s in SCORES}
    assert max(aucs.values()) > 0.95
    assert max(aucs, key=aucs.get) == DEFAULT_SCORE == "nll"
    assert aucs["nll"] == pytest.approx(0.9918, abs=5e-4)
    assert aucs["logprob"] < aucs["adjusted"] < aucs["nll"]
    assert c.real == 6000


def binomial_interval(n: int, p: float, level: float = 0.99) -> tuple[int, int]:
    """The central `level` interval of Binomial(n, p) counts, from the pmf summed in a loop."""
    tail = (1 - level) / 2

    def log_pmf(k: int) -> float:
        log_comb = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
        return log_comb + k * math.log(p) + (n - k) * math.log1p(-p)

    pmf = [math.exp(log_pmf(k)) for k in range(n + 1)]
    lo, acc = 0, 0.0
    while acc + pmf[lo] < tail:
        acc += pmf[lo]
        lo += 1
    hi, acc = n, 0.0
    while acc + pmf[hi] < tail:
        acc += pmf[hi]
        hi -= 1
    return lo, hi


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize("fpr", [0.01, 0.05])
def test_calibrated_fpr_holds_on_fresh_items(
    bigram: CountLM, splits: dict[str, list[str]], score: str, fpr: float
) -> None:
    """Calibrated on 6,000 held-out names, the share of 6,033 fresh ones flagged lies in the
    99% binomial interval of the rate asked for; on the reference itself it is at most fpr."""
    t = calibrate(score_batch(bigram, splits["cal"]), fpr, score)
    fresh = score_batch(bigram, splits["fresh"])
    flagged = sum(f is True for f in t.flag(fresh))
    lo, hi = binomial_interval(len(splits["fresh"]), fpr)
    assert lo <= flagged <= hi
    own = sum(f is True for f in t.flag(score_batch(bigram, splits["cal"])))
    assert own <= math.floor(fpr * 6000)


def test_calibrate_refuses_bad_rates_and_small_lists(bigram: CountLM) -> None:
    real = score_batch(bigram, ["emma", "olivia"] * 100)
    for fpr in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(OptionError, match=r"must lie in \(0, 1\)"):
            calibrate(real, fpr)
    with pytest.raises(DataError, match="at least 300 are needed"):
        calibrate(real, 0.01)
    assert calibrate(real, 0.05).reference == 200


# -- the command line -----------------------------------------------------


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args), env={"COLUMNS": "80"})
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def files(
    tmp_path_factory: pytest.TempPathFactory, bigram: CountLM, splits: dict[str, list[str]]
) -> Path:
    root = tmp_path_factory.mktemp("thr")
    save(bigram, root / "names.ngk")
    for key in ("cal", "fresh", "gibberish"):
        (root / f"{key}.txt").write_text("\n".join(splits[key]) + "\n")
    return root


def test_cli_threshold_then_eval_flag(files: Path) -> None:
    model = str(files / "names.ngk")
    code, out, err = run(
        "threshold",
        model,
        "--real",
        str(files / "cal.txt"),
        "--bad",
        str(files / "gibberish.txt"),
        "--fpr",
        "0.01",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["threshold"]["score"] == "nll" and data["threshold"]["flag"] == "above"
    assert data["real"]["fpr"] <= 0.01 and data["bad"]["tpr"] > 0.8
    assert set(data["auc"]) == set(SCORES) and data["roc"][-1]["fpr"] == 1.0
    side = json.loads((files / "names.ngk.threshold.json").read_text())
    assert side["threshold"] == data["threshold"]["threshold"]
    code, out, err = run("eval", model, str(files / "gibberish.txt"), "--flag", "--json")
    assert code == 0, err
    items = json.loads(out)["items"]
    by_hand = [r["nll"] > side["threshold"] for r in items]
    assert [r["flagged"] for r in items] == by_hand
    assert sum(by_hand) == data["bad"]["flagged"]
    code, out, _ = run("eval", model, str(files / "fresh.txt"), "--flag", "--format", "tsv")
    rows = out.splitlines()
    assert rows[0].split("\t")[-1] == "flagged" and len(rows) == 6034


def test_cli_threshold_report_at_80_columns(files: Path, tmp_path: Path) -> None:
    code, out, err = run(
        "threshold",
        str(files / "names.ngk"),
        "--real",
        str(files / "cal.txt"),
        "--bad",
        str(files / "gibberish.txt"),
        "--hist",
        "--score",
        "adjusted",
        "-o",
        str(tmp_path / "t.json"),
    )
    assert code == 0, err
    assert "ROC" in out and "adjusted (used)" in out and "AUC" in out
    assert max(map(len, out.splitlines())) <= 80
    assert json.loads((tmp_path / "t.json").read_text())["score"] == "adjusted"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fpr", "0"], "must lie in (0, 1)"),
        (["--fpr", "1"], "must lie in (0, 1)"),
        (["--fpr", "0.0001"], "at least 30,000 are needed"),
    ],
)
def test_cli_threshold_bad_input_writes_nothing(
    files: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    model = tmp_path / "m.ngk"
    model.write_bytes((files / "names.ngk").read_bytes())
    code, out, err = run("threshold", str(model), "--real", str(files / "cal.txt"), *args)
    assert code == (2 if "(0, 1)" in message else 1) and out == ""  # an option; the data
    assert message in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.ngk"]


def test_cli_eval_flag_needs_this_models_threshold(files: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.ngk"
    save(CountLM(order=2, smooth=1).fit(["ab", "ba"]), other)
    code, _, err = run("eval", str(other), str(files / "fresh.txt"), "--flag")
    assert code == 1 and "no threshold file" in err
    (tmp_path / "other.ngk.threshold.json").write_text(
        (files / "names.ngk.threshold.json").read_text()
    )
    code, _, err = run("eval", str(other), str(files / "fresh.txt"), "--flag")
    assert code == 1 and "calibrated for another model" in err


def test_calibrate_refuses_probability_zero_beyond_the_rate() -> None:
    """Unsmoothed: 'zz' has p = 0; with half the items like it no finite cut exists."""
    model = CountLM(order=2, smooth=0).fit(["ab", "ba", "zb"])
    real = score_batch(model, ["ab", "az"] * 50)
    with pytest.raises(DataError, match="50 of 100 real items have probability 0"):
        calibrate(real, 0.05)


def test_bad_items_all_oov_are_reported_not_hidden(bigram: CountLM, splits: dict) -> None:
    c = calibration(score_batch(bigram, splits["cal"]), score_batch(bigram, ["яя", "12"]), 0.01)
    out = c.to_json()
    assert out["bad"] == {"items": 0, "oov": 2, "flagged": 0, "tpr": None}
    assert out["auc"] == {"logprob": None, "nll": None, "adjusted": None}
