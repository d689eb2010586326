"""Tests of the wavenet backend: ngramkit's conformance kit, then the network's own maths.

Everything trains for a few dozen steps of a tiny network on a handful of
names (well under a second each); the makemore-split figure lives in
bench/makemore_nll.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from ngramkit import Corpus, load, save
from ngramkit.cli import cli
from ngramkit.errors import ModelFileError, OptionError, TrainingError
from ngramkit.testing import Backend, Check, parametrize_checks

from ngramkit_wavenet import network, train
from ngramkit_wavenet.model import WaveNetLM
from ngramkit_wavenet.train import Plan

QUICK = {"steps": 40, "emb": 4, "hidden": 8, "batch_size": 8}
NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "ella", "luna", "zoe"]


@parametrize_checks(("wavenet", QUICK), ("wavenet", {**QUICK, "order": 4}))
def test_conformance(backend: Backend, check: Check) -> None:
    check(backend)


# -- the network ------------------------------------------------------------


def test_the_lecture_sizes_have_76579_parameters() -> None:
    # makemore part 5: V 27, context 8, n_embd 24, n_hidden 128 -> 76,579 parameters
    shapes = network.shapes(27, 8, 24, 128)
    assert sum(math.prod(s) for s in shapes.values()) == 76_579
    assert (shapes["W0"], shapes["W1"], shapes["W2"]) == ((48, 128), (256, 128), (256, 128))
    assert "W3" not in shapes and shapes["Wout"] == (128, 27)


def test_contexts_are_padded_to_a_power_of_two() -> None:
    assert [network.width(k) for k in (1, 2, 3, 5, 8, 9)] == [2, 2, 4, 8, 8, 16]
    assert [network.levels(k) for k in (1, 4, 8, 9)] == [1, 2, 3, 4]
    assert network.pad(torch.tensor([[3, 4, 5]]), 8).tolist() == [[0, 0, 0, 0, 0, 3, 4, 5]]


def _plain_logits(p: dict, b: dict, ctx: list[int]) -> list[float]:
    """The forward pass in eval mode, number by number (lists of floats, no torch ops)."""

    def value(t: torch.Tensor, *ix: int) -> float:
        return float(t[ix])

    E = p["C"].shape[1]
    n_levels = sum(n.startswith("gamma") for n in p)
    padded = [0] * (2**n_levels - len(ctx)) + ctx
    xs = [[value(p["C"], t, e) for e in range(E)] for t in padded]  # one vector per position
    for lv in range(n_levels):
        W, H = p[f"W{lv}"], p[f"W{lv}"].shape[1]
        pairs = [xs[i] + xs[i + 1] for i in range(0, len(xs), 2)]  # concatenated neighbours
        xs = []
        for x in pairs:
            out = []
            for j in range(H):
                a = sum(x[i] * value(W, i, j) for i in range(len(x)))
                norm = (a - value(b[f"mean{lv}"], j)) / math.sqrt(value(b[f"var{lv}"], j) + 1e-5)
                out.append(math.tanh(norm * value(p[f"gamma{lv}"], j) + value(p[f"beta{lv}"], j)))
            xs.append(out)
    (h,) = xs
    V = p["Wout"].shape[1]
    return [
        sum(h[j] * value(p["Wout"], j, v) for j in range(len(h))) + value(p["bout"], v)
        for v in range(V)
    ]


def test_eval_logits_match_a_plain_loop() -> None:
    g = torch.Generator().manual_seed(0)
    V, k, E, H = 5, 3, 2, 3
    p = network.init_params(V, k, E, H, g)
    for name in p:  # init leaves gamma 1 and beta, bout 0: make every number count
        p[name] = torch.randn(p[name].shape, generator=g)
    b = {n: torch.rand(t.shape, generator=g) + 0.5 for n, t in network.init_buffers(k, H).items()}
    contexts = [[1, 4, 2], [0, 0, 3]]
    got = network.logits(p, b, torch.tensor(contexts), training=False).tolist()
    for row, ctx in zip(got, contexts):
        assert row == pytest.approx(_plain_logits(p, b, ctx), abs=1e-5)


def test_training_mode_updates_the_running_statistics() -> None:
    # one batch of B contexts gives level 0 B * width/2 rows; the running mean moves
    # 10% of the way to their mean, the variance 10% of the way to their unbiased variance
    g = torch.Generator().manual_seed(1)
    p, b = network.init_params(6, 4, 3, 5, g), network.init_buffers(4, 5)
    ctx = torch.randint(0, 6, (7, 4), generator=g)
    rows = network.pad(ctx, 4)
    pre = p["C"][rows].reshape(7 * 2, 6) @ p["W0"]  # (14, 5): level 0 before batchnorm
    network.logits(p, b, ctx, training=True)
    assert b["mean0"].tolist() == pytest.approx((0.1 * pre.mean(0)).tolist(), abs=1e-6)
    assert b["var0"].tolist() == pytest.approx((0.9 + 0.1 * pre.var(0)).tolist(), abs=1e-6)


def test_schedule_and_budget_fractions() -> None:
    plan = Plan(steps=200, batch_size=4, minutes=None, lr=0.1, lr_decay=0.1, decay_at=0.75)
    assert [plan.lr_at(plan.done(s, 0.0)) for s in (0, 149, 150, 199)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.01]
    )
    timed = Plan(steps=200, batch_size=4, minutes=1.0, lr=0.1, lr_decay=0.5, decay_at=0.75)
    assert timed.done(10, 45.0) == 0.75 and timed.lr_at(timed.done(10, 45.0)) == 0.05
    assert timed.done(100, 6.0) == 0.5  # the steps, not the clock, are further along


# -- training -----------------------------------------------------------------


def test_the_first_loss_is_a_uniform_guess() -> None:
    # the output layer starts at 0.1 / sqrt(H) scale with bout = 0: loss about ln V
    model = WaveNetLM(**{**QUICK, "steps": 1}).fit(NAMES)
    assert model.loss_curve_[0] == pytest.approx(math.log(len(model.vocab)), abs=0.1)


def test_training_learns_the_names() -> None:
    model = WaveNetLM(steps=300, emb=8, hidden=32, order=5, lr=0.3).fit(NAMES)
    nll = -sum(model.logprob(s) for s in NAMES) / sum(len(s) + 1 for s in NAMES)
    assert nll < 1.2 < math.log(len(model.vocab))  # ten names, far below ln V = 2.77
    assert len(model.loss_curve_) == 300


def test_seeded_training_is_deterministic_on_the_cpu() -> None:
    a = WaveNetLM(**QUICK, init_seed=1).fit(NAMES)
    b = WaveNetLM(**QUICK, init_seed=1).fit(NAMES)
    c = WaveNetLM(**QUICK, init_seed=2).fit(NAMES)
    for name in (*a.params_, *a.buffers_):
        got = {**a.params_, **a.buffers_}[name]
        assert torch.equal(got, {**b.params_, **b.buffers_}[name]), name
    assert a.loss_curve_ == b.loss_curve_
    assert not torch.equal(a.params_["W0"], c.params_["W0"])


def test_progress_reports_the_live_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train, "REPORT_EVERY", 20)  # a call every 20 steps, not 500
    calls: list[tuple[int, int, float]] = []
    model = WaveNetLM(**{**QUICK, "steps": 50})
    model.fit(NAMES, progress=lambda done, total, loss: calls.append((done, total, loss)))
    assert [(d, t) for d, t, _ in calls] == [(20, 50), (40, 50), (50, 50)]
    means = [sum(model.loss_curve_[a:b]) / (b - a) for a, b in ((0, 20), (20, 40), (40, 50))]
    assert [loss for *_, loss in calls] == pytest.approx(means, rel=1e-12)


def test_a_time_budget_stops_training() -> None:
    model = WaveNetLM(**{**QUICK, "steps": 10**9, "minutes": 0.005}).fit(NAMES)  # 0.3 s
    assert 0 < len(model.loss_curve_) < 10**9
    assert model.summary()["steps trained"] == len(model.loss_curve_)


def test_a_budget_too_small_for_one_step_is_a_clear_error() -> None:
    with pytest.raises(TrainingError, match=r"^--minutes 1e-09 is too short to finish one"):
        WaveNetLM(**QUICK, minutes=1e-9).fit(NAMES)


def test_divergence_is_a_clear_error() -> None:
    with pytest.raises(TrainingError, match=r"training diverged at step \d+ .*lower --lr"):
        WaveNetLM(**QUICK, lr=1000).fit(NAMES)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_without_a_gpu_is_one_line() -> None:
    with pytest.raises(TrainingError, match=r"^--device cuda: no CUDA GPU is available"):
        WaveNetLM(**QUICK, device="cuda").fit(NAMES)


@pytest.mark.parametrize(
    "hparams, message",
    [
        ({"device": "tpu"}, "^device must be one of"),
        ({"order": 1}, "^order must be between 2 and 65, got 1"),
        ({"batch_size": 1}, "^batch_size must be >= 2, got 1"),
        ({"minutes": 0}, "^minutes must be > 0, got 0"),
        ({"decay_at": 1.5}, "^decay_at must be between 0 and 1, got 1.5"),
        ({"lr": 0}, "^lr must be > 0, <= 1000, got 0"),
        ({"steps": "many"}, "^steps must be an integer, got 'many'"),
        ({"smooth": 1}, "backend 'wavenet' does not take smooth"),
    ],
)
def test_bad_hyperparameters(hparams: dict, message: str) -> None:
    with pytest.raises(OptionError, match=message):
        WaveNetLM(**hparams)


# -- scoring and files -----------------------------------------------------------


def test_scores_use_running_statistics_row_by_row() -> None:
    model = WaveNetLM(**QUICK).fit(NAMES)
    for item in ("emma", "zoe", "lia"):
        grams = model.windows_of(item)  # (L+1, order)
        batch = model.next_logprobs(grams[:, :-1])  # (L+1, V): the whole item at once
        by_step = 0.0
        for i, gram in enumerate(grams):
            alone = model.next_logprobs(gram[None, :-1])[0]  # one context, batch of 1
            assert torch.allclose(alone, batch[i], atol=1e-6)
            by_step += float(alone[gram[-1]])
        assert model.logprob(item) == pytest.approx(by_step, abs=1e-6)
        tokens = model.token_logprobs(grams[:, :-1], grams[:, -1])
        assert model.logprob(item) == pytest.approx(float(tokens.sum()), abs=1e-9)


def test_save_and_load_give_equal_numbers_and_the_loss_curve(tmp_path: Path) -> None:
    model = WaveNetLM(**QUICK).fit(NAMES)
    save(model, tmp_path / "m.ngk")
    back = load(tmp_path / "m.ngk").model
    grams = Corpus.from_items(NAMES, model.vocab).grams(model.order)
    assert torch.equal(back.next_logprobs(grams[:, :-1]), model.next_logprobs(grams[:, :-1]))
    assert back.loss_curve_ == pytest.approx(model.loss_curve_, rel=1e-7)  # float32 in the file
    assert len(back.loss_curve_) == QUICK["steps"] and back.device_ == "cpu"


def test_from_state_refuses_damaged_tensors() -> None:
    model = WaveNetLM(**QUICK).fit(NAMES)
    config, tensors = model.state()
    with pytest.raises(ModelFileError, match=r"tensor W1 is missing or not \(16, 8\) float32"):
        WaveNetLM.from_state(config, {**tensors, "W1": torch.zeros(3, 3)})
    with pytest.raises(ModelFileError, match="tensor mean0 is missing"):
        WaveNetLM.from_state(config, {k: v for k, v in tensors.items() if k != "mean0"})
    with pytest.raises(ModelFileError, match="running variance that is not positive"):
        WaveNetLM.from_state(config, {**tensors, "var1": -tensors["var1"]})
    with pytest.raises(ModelFileError, match="tensor C holds NaN"):
        WaveNetLM.from_state(config, {**tensors, "C": tensors["C"] * math.nan})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_a_cuda_trained_model_loads_and_scores_on_the_cpu(tmp_path: Path) -> None:
    model = WaveNetLM(**QUICK, device="cuda").fit(NAMES)
    assert model.device_.startswith("cuda")
    assert all(t.device.type == "cpu" for t in (*model.params_.values(), *model.buffers_.values()))
    save(model, tmp_path / "gpu.ngk")
    back = load(tmp_path / "gpu.ngk").model
    grams = Corpus.from_items(NAMES, back.vocab).grams(back.order)
    rows = back.next_logprobs(grams[:, :-1])
    assert rows.device.type == "cpu" and torch.equal(rows, model.next_logprobs(grams[:, :-1]))
    assert torch.allclose(rows.logsumexp(1), torch.zeros(len(rows), dtype=rows.dtype))
    cpu = WaveNetLM(**QUICK, device="cpu").fit(NAMES)  # same seed, same batches
    assert back.loss_curve_[0] == pytest.approx(cpu.loss_curve_[0], abs=1e-4)


# -- the command line -----------------------------------------------------------


def test_cli_fit_show_and_bad_budget(tmp_path: Path) -> None:
    data = tmp_path / "names.txt"
    data.write_text("\n".join(NAMES * 3) + "\n")
    out = tmp_path / "m.ngk"
    args = ["fit", str(data), "--backend", "wavenet", "--steps", "60", "--hidden", "8"]
    result = CliRunner().invoke(cli, [*args, "--emb", "5", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["backend"], report["order"]) == ("wavenet", 9)
    saved = load(out)
    assert saved.model.hparams["emb"] == 5 and len(saved.model.loss_curve_) == 60
    sampled = CliRunner().invoke(cli, ["sample", str(out), "-n", "3", "--json"])
    assert len(json.loads(sampled.stdout)["samples"]) == 3
    fresh = tmp_path / "never.ngk"
    bad = CliRunner().invoke(cli, [*args, "--minutes", "1e-9", "-o", str(fresh)])
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: --minutes 1e-09 is too short")
    assert len(bad.stderr.strip().splitlines()) == 1 and not fresh.exists()
    device = CliRunner().invoke(cli, [*args, "--device", "tpu", "-o", str(fresh)])
    assert device.exit_code != 0 and "tpu" in device.stderr and not fresh.exists()
