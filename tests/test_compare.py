"""compare: paired scores, the bootstrap interval, and the CLI."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from ngramkit import CountLM
from ngramkit.cli import cli
from ngramkit.compare import paired_bootstrap, score_models, verdict
from ngramkit.persist import save

SPLIT = Path("/work/shared/data/makemore-split")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def split(names: list[str]) -> tuple[list[str], list[str]]:
    """A seeded 90/10 split of names.txt (train, held out)."""
    order = list(range(len(names)))
    random.Random(0).shuffle(order)
    cut = len(names) // 10
    return [names[i] for i in order[cut:]], [names[i] for i in order[:cut]]


@pytest.fixture(scope="module")
def models(split: tuple[list[str], list[str]]) -> list[CountLM]:
    train, _ = split
    return [CountLM(order=2, smooth=1).fit(train), CountLM(order=3, smooth=0.1).fit(train)]


def plain_nll(model: CountLM, items: list[str]) -> float:
    return -sum(model.logprob(s) for s in items) / sum(len(s) + 1 for s in items)


def plain_bootstrap(model_a: CountLM, model_b: CountLM, items: list[str], n: int) -> list[float]:
    """NLL_b - NLL_a over resampled items, drawn with Python's random (independent)."""
    rows = [(-model_a.logprob(s), -model_b.logprob(s), len(s) + 1) for s in items]
    rng = random.Random(1)
    out = []
    for _ in range(n):
        draw = rng.choices(rows, k=len(rows))
        tokens = sum(t for _, _, t in draw)
        out.append(sum(b for _, b, _ in draw) / tokens - sum(a for a, _, _ in draw) / tokens)
    return sorted(out)


def test_difference_and_interval_match_plain_loops(models: list[CountLM], split) -> None:
    held = split[1][:600]
    cmp = score_models(models, ["bigram", "trigram"], held)
    assert bool(cmp.shared.all())
    assert cmp.metrics(0).nll == pytest.approx(plain_nll(models[0], held), rel=1e-10)
    d = paired_bootstrap(cmp, 1, resamples=2000, seed=3)
    assert d.delta == pytest.approx(plain_nll(models[1], held) - plain_nll(models[0], held))
    ref = plain_bootstrap(models[0], models[1], held, 1000)
    # Two bootstraps of the same statistic: their 95% bounds agree to Monte Carlo error.
    assert d.low == pytest.approx(ref[25], abs=0.01)
    assert d.high == pytest.approx(ref[974], abs=0.01)
    assert d.low < d.delta < d.high < 0  # the trigram is better, and the interval says so
    assert d.better == 1.0
    assert "trigram is better than bigram" in verdict(cmp.names, 1, d)


def test_same_model_twice_has_a_zero_interval(models: list[CountLM], split) -> None:
    cmp = score_models([models[0], models[0]], ["a", "b"], split[1][:300])
    d = paired_bootstrap(cmp, 1, resamples=200)
    assert d.delta == d.low == d.high == 0.0
    assert "no clear difference" in verdict(cmp.names, 1, d)


def test_seeded(models: list[CountLM], split) -> None:
    cmp = score_models(models, ["a", "b"], split[1][:300])
    assert paired_bootstrap(cmp, 1, seed=5) == paired_bootstrap(cmp, 1, seed=5)


def test_oov_and_zero_probability_items_are_not_shared(split) -> None:
    train = split[0][:3000]
    raw = CountLM(order=2, smooth=0).fit(train)
    smooth = CountLM(order=2, smooth=1).fit(train)
    # "зоя" is OOV ("zoë" is scored as "zoe" under the default rule)
    cmp = score_models([smooth, raw], ["smooth", "raw"], ["emma", "зоя", "andrejq", "ava"])
    assert cmp.shared.tolist() == [True, False, False, True]
    assert cmp.oov[0].tolist() == [False, True, False, False]
    assert cmp.metrics(1, shared_only=True).tokens == 5 + 4


def test_cli_report_and_json(tmp_path: Path, models: list[CountLM], split) -> None:
    paths = []
    for name, m in zip(("bigram", "trigram"), models):
        paths.append(str(save(m, tmp_path / f"{name}.ngk")))
    held = tmp_path / "held.txt"
    held.write_text("\n".join(split[1]) + "\n")
    runner = CliRunner()
    args = ["compare", *paths, "--on", str(held), "--bootstrap", "300"]
    res = runner.invoke(cli, [*args, "--json"])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert [m["name"] for m in data["models"]] == ["bigram", "trigram"]
    assert data["models"][0]["nll"] == pytest.approx(plain_nll(models[0], split[1]))
    diff = data["differences"][0]
    assert diff["ci"][0] < diff["delta_nll"] < diff["ci"][1] < 0
    assert len(diff["disagreements"]) == 10
    gaps = [abs(r["nll"] - r["nll_baseline"]) for r in diff["disagreements"]]
    assert gaps == sorted(gaps, reverse=True)
    out = tmp_path / "cmp.txt"
    res = runner.invoke(cli, [*args, "--export", str(out)], env={"COLUMNS": "120"})
    assert res.exit_code == 0
    assert "trigram is better than bigram" in out.read_text()


def test_cli_bad_input(tmp_path: Path, models: list[CountLM]) -> None:
    path = str(save(models[0], tmp_path / "m.ngk"))
    cyr = str(ROOT / "examples/wordlists/cyrillic.txt")
    for fmt in ([], ["--json"]):  # as eval: the rows, exit 0, one line on stderr naming --unk
        res = CliRunner().invoke(cli, ["compare", path, path, "--on", cyr, *fmt])
        lines = res.stderr.strip().splitlines()
        assert res.exit_code == 0 and len(lines) == 1 and "--unk" in lines[0]
        assert lines[0].startswith("no item of 5 is scored by every model (5 OOV under a model)")
        assert ("OOV" if not fmt else '"oov": 5') in res.stdout  # each model's OOV count
    res = CliRunner().invoke(cli, ["compare", path, path])
    assert res.exit_code == 2 and "--on" in res.stderr


def test_cli_coverage_side_by_side(tmp_path: Path, models: list[CountLM], split) -> None:
    """--coverage: each model's share of the list within K guesses; exact up to 10^4
    guesses, where it must equal the count of items among the K most probable."""
    from ngramkit.best import top_items

    paths = [str(save(m, tmp_path / f"{n}.ngk")) for n, m in zip(("bi", "tri"), models)]
    held = tmp_path / "held.txt"
    items = split[1][:200]
    held.write_text("\n".join(items) + "\n")
    args = ["compare", *paths, "--on", str(held), "--bootstrap", "0", "--coverage"]
    res = CliRunner().invoke(cli, [*args, "--samples", "500", "--json"])
    assert res.exit_code == 0, res.stderr
    cov = json.loads(res.stdout)["coverage"]
    assert list(cov) == ["bi", "tri"]
    for name, model in zip(("bi", "tri"), models):
        points = {p["guesses"]: p for p in cov[name]["points"]}
        assert cov[name]["items"] == 200 and cov[name]["exact_upto"] == 10_000
        for k in (100, 1000, 10_000):
            listed = {r.item for r in top_items(model, k)}
            assert points[k]["found"] == sum(1 for s in items if s in listed)
        fractions = [p["fraction"] for p in cov[name]["points"]]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0
    res = CliRunner().invoke(cli, [*args, "--samples", "500", "--hist"], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    assert "Coverage of 200 items" in out and "NLL per item (nats/token), each model" in out
    assert max(map(len, out.splitlines())) <= 80


def test_cli_coverage_plot(tmp_path: Path, models: list[CountLM], split) -> None:
    pytest.importorskip("matplotlib")
    path = str(save(models[0], tmp_path / "bi.ngk"))
    held = tmp_path / "held.txt"
    held.write_text("\n".join(split[1][:50]) + "\n")
    args = ["compare", path, "--on", str(held), "--bootstrap", "0"]
    res = CliRunner().invoke(cli, [*args, "--plot", str(tmp_path / "c.png")])
    assert res.exit_code == 2 and "add --coverage" in res.stderr
    res = CliRunner().invoke(cli, [*args, "--coverage", "--plot", str(tmp_path / "c.gif")])
    assert res.exit_code == 2 and ".png or .svg" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bi.ngk", "held.txt"]
    res = CliRunner().invoke(
        cli, [*args, "--coverage", "--samples", "300", "--plot", str(tmp_path / "c.png")]
    )
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_histograms_share_bins_and_scale() -> None:
    """a = [0, 0, 1], b = [1] on 2 bins of width 8: a's bin of 2 is a full bar, and
    b's one item draws 4 cells, as a's does: one scale for every model."""
    from ngramkit.report.decide import histograms

    lines = histograms([("a", [0, 0, 1]), ("b", [1])], "t", bins=2, width=8).plain.splitlines()
    assert lines == [
        "t",
        "a",
        "     0.000 ████████ 2",
        "     0.500 ████     1",
        "b",
        "     0.000          0",
        "     0.500 ████     1",
    ]
