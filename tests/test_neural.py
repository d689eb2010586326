"""The neural backend against the lecture's one-hot loop, the count model and bad input.

The references here are written out in the test: the lecture's float32 loop
(one-hot xenc @ W, exp, normalize, -log, mean, + 0.01 * mean(W**2), W -= 50 *
grad) and a float64 one-hot autograd loss built token by token.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from ngramkit import Corpus, CountLM, TrainingError, fitting, persist
from ngramkit.backends.neural import Events, NeuralLM, Objective, default_lr
from ngramkit.cli import cli
from ngramkit.errors import ModelFileError, OptionError
from ngramkit.evaluate import corpus_metrics
from ngramkit.reader import read_items
from ngramkit.report.curve import LossCurve, chart_rows, resample


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def lecture_losses(words: list[str], steps: int) -> list[float]:
    """The lecture's neural bigram loop, float32; the loss after 0..steps updates.

    The lecture's `xenc @ W` gives row xs[i] of W exactly (one-hot), and exp and the
    row normalization act row by row, so `probs[i]` is row xs[i] of the same ops on
    W itself: computed once per distinct context (27 rows, not 228,146), then
    gathered per token, the loss values are the lecture's bit for bit; only the
    gradient sums in another order (float32 rounding).
    """
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    xs, ys = [], []
    for w in words:
        chs = [".", *w, "."]
        for ch1, ch2 in zip(chs, chs[1:]):
            xs.append(stoi[ch1])
            ys.append(stoi[ch2])
    xs_t, ys_t = torch.tensor(xs), torch.tensor(ys)
    g = torch.Generator().manual_seed(2147483647)
    W = torch.randn((27, 27), generator=g, requires_grad=True)
    losses = []
    for k in range(steps + 1):
        logits = W  # xenc @ W for the 27 one-hot contexts: W's rows (log-counts)
        counts = logits.exp()
        probs = counts / counts.sum(1, keepdims=True)
        loss = -probs[xs_t, ys_t].log().mean() + 0.01 * (W**2).mean()
        losses.append(loss.item())
        if k == steps:
            break
        W.grad = None
        loss.backward()
        W.data += -50 * W.grad  # type: ignore[operator]
    return losses


def test_the_lecture_loop_by_rows_is_the_one_hot_loop(names: list[str]) -> None:
    """lecture_losses' shortcut against the lecture's literal one-hot loop, 3 steps."""
    chars = sorted(set("".join(names)))
    stoi = {s: i + 1 for i, s in enumerate(chars)} | {".": 0}
    pairs = [(stoi[a], stoi[b]) for w in names for a, b in zip("." + w, w + ".")]
    xs, ys = torch.tensor(pairs).T
    W = torch.randn((27, 27), generator=torch.Generator().manual_seed(2147483647))
    W.requires_grad_()
    xenc = F.one_hot(xs, num_classes=27).float()
    literal = []
    for _ in range(3):
        probs = (xenc @ W).exp()
        probs = probs / probs.sum(1, keepdims=True)
        loss = -probs[torch.arange(len(xs)), ys].log().mean() + 0.01 * (W**2).mean()
        literal.append(loss.item())
        W.grad = None
        loss.backward()
        W.data += -50 * W.grad  # type: ignore[operator]
    shortcut = lecture_losses(names, 2)
    assert shortcut[0] == literal[0]  # bit for bit before any update
    assert shortcut == pytest.approx(literal, abs=1e-6)


def onehot_loss(words: list[str], corpus: Corpus, order: int, W: torch.Tensor, reg: float):
    """float64 loss of concatenated one-hot contexts @ W, built token by token."""
    V = len(corpus.vocab)
    rows, ys = [], []
    for w in words:
        ids = [0] * (order - 1) + corpus.vocab.encode(w) + [0]
        for i in range(order - 1, len(ids)):
            x = torch.zeros(W.shape[0], dtype=torch.float64)
            if order == 1:
                x[0] = 1.0
            for k in range(order - 1):
                x[k * V + ids[i - order + 1 + k]] = 1.0
            rows.append(x)
            ys.append(ids[i])
    logits = torch.stack(rows) @ W
    return F.cross_entropy(logits, torch.tensor(ys)) + reg * (W**2).mean()


def objective_of(corpus: Corpus, order: int, reg: float) -> Objective:
    ev = Events.of(corpus, order)
    return Objective(ev.contexts, ev.counts, ev.counts.sum(1, keepdim=True), ev.tokens, reg)


# -- the lecture -------------------------------------------------------------


@pytest.fixture(scope="module")
def lecture(names: list[str]) -> list[float]:
    return lecture_losses(names, 200)


def test_lecture_parity_through_cli(lecture: list[float], names_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "lecture.ngk"
    code, _, stderr = run(
        "fit", str(names_path), "--backend", "neural", "--val-fraction", "0",
        "--optimizer", "gd", "--lr", "50", "--reg", "0.01", "--steps", "200",
        "-o", str(out), "--json",
    )  # fmt: skip
    assert code == 0, stderr
    curve = persist.load(out).model.loss_curve_
    assert len(curve) == 201
    assert round(lecture[0], 4) == round(curve[0], 4) == 3.7686
    for step in (0, 100, 200):
        assert curve[step] == pytest.approx(lecture[step], abs=1e-4)
    assert curve[200] < 2.49  # the lecture's ~2.483 after 200 steps


# -- the loss and its gradient -----------------------------------------------


def test_events_worked_example() -> None:
    ev = Events.of(Corpus.from_items(["ab", "b"]), 2)
    assert ev.contexts.tolist() == [[0], [1], [2]]
    assert ev.counts.tolist() == [[0, 1, 1], [0, 0, 1], [2, 0, 0]]
    assert ev.tokens == 5


@settings(max_examples=30, deadline=None)
@given(
    words=st.lists(st.text("abc", min_size=1, max_size=6), min_size=1, max_size=8),
    order=st.integers(1, 4),
    reg=st.sampled_from([0.0, 0.01, 0.5]),
    seed=st.integers(0, 2**31),
)
def test_objective_is_the_onehot_loss(words: list[str], order: int, reg: float, seed: int) -> None:
    """Same loss and gradient as the one-hot loss over every token, at any order."""
    corpus = Corpus.from_items(words)
    V = len(corpus.vocab)
    g = torch.Generator().manual_seed(seed)
    W = torch.randn((max(order - 1, 1) * V, V), generator=g, dtype=torch.float64)
    loss, grad = objective_of(corpus, order, reg)(W)
    Wr = W.clone().requires_grad_()
    ref = onehot_loss(words, corpus, order, Wr, reg)
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), abs=1e-12)
    assert torch.allclose(grad, Wr.grad, atol=1e-12)  # type: ignore[arg-type]


# -- equivalence with counting -----------------------------------------------


def test_converges_to_the_count_mle(names: list[str]) -> None:
    corpus = Corpus.from_items(names)
    count = CountLM(order=2, smooth=0).fit(corpus)
    neural = NeuralLM(order=2, optimizer="lbfgs", reg=0, steps=300).fit(corpus)
    assert corpus_metrics(count, names).nll == pytest.approx(2.4540, abs=5e-5)
    assert abs(corpus_metrics(neural, names).nll - 2.4540) < 0.002
    ctx = torch.arange(27).unsqueeze(1)
    diff = (count.next_logprobs(ctx).exp() - neural.next_logprobs(ctx).exp()).abs()
    assert float(diff.max()) < 0.005  # row by row, every one of the 27 x 27 probabilities


def row_entropy(model: CountLM | NeuralLM) -> float:
    """Mean entropy (nats) of the 27 next-token distributions of an order-2 model."""
    lp = model.next_logprobs(torch.arange(27).unsqueeze(1))
    return float(-(lp.exp() * lp).sum(1).mean())


def test_reg_flattens_rows_as_smoothing_does(names: list[str]) -> None:
    corpus = Corpus.from_items(names)
    neural = [
        row_entropy(NeuralLM(optimizer="lbfgs", reg=r, steps=40).fit(corpus))
        for r in (0.01, 1.0, 10.0)
    ]
    count = [row_entropy(CountLM(smooth=k).fit(corpus)) for k in (1, 100, 1000)]
    assert neural == sorted(neural) and count == sorted(count)
    assert neural[-1] > 0.9 * math.log(27)  # nearly uniform, as add-1000 is
    assert count[-1] > 0.9 * math.log(27)


def test_order3_validates_below_order2(names_path: Path) -> None:
    words = read_items(names_path)
    hp = {"optimizer": "lbfgs", "steps": 60}  # the defaults (gd, 500 steps) agree, slower
    nll = {
        o: fitting.train(NeuralLM, words, hp | {"order": o}, val_fraction=0.1, n_samples=0).val.nll  # type: ignore[union-attr]
        for o in (2, 3)
    }
    assert nll[3] < nll[2] - 0.05, nll


# -- the contract --------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> list[str]:
    return ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "ella", "lily"]


@pytest.mark.parametrize("order", [1, 2, 3])
def test_conformance(small: list[str], order: int, tmp_path: Path) -> None:
    model = NeuralLM(order=order, optimizer="adam", steps=30).fit(small)
    V = len(model.vocab)  # type: ignore[arg-type]
    ctx = torch.randint(0, V, (50, order - 1), generator=torch.Generator().manual_seed(1))
    rows = model.next_logprobs(ctx)
    assert rows.shape == (50, V)
    assert torch.allclose(rows.logsumexp(1), torch.zeros(50, dtype=rows.dtype), atol=1e-12)
    # logprob is the sum over the item's tokens of log_softmax(sum of W rows), by hand:
    W, ids = model.W_, [0] * (order - 1) + model.vocab.encode("emma") + [0]  # type: ignore[union-attr]
    total = 0.0
    for i in range(order - 1, len(ids)):
        logits = (
            W[0] if order == 1 else sum(W[k * V + ids[i - order + 1 + k]] for k in range(order - 1))
        )  # type: ignore[index]
        total += float(torch.log_softmax(logits, 0)[ids[i]])
    assert model.logprob("emma") == pytest.approx(total, abs=1e-10)
    path = persist.save(model, tmp_path / "m.ngk")
    back = persist.load(path).model
    assert back.logprob("emma") == model.logprob("emma")
    assert torch.equal(back.next_logprobs(ctx), rows)
    assert back.loss_curve_ == model.loss_curve_ and len(back.loss_curve_) == 31
    assert back.sample(5, seed=3) == model.sample(5, seed=3)


def test_progress_reports_each_step_with_its_loss(small: list[str]) -> None:
    seen: list[tuple[int, int, float]] = []
    model = NeuralLM(steps=7).fit(small, progress=lambda d, t, **i: seen.append((d, t, i["loss"])))
    assert [(d, t) for d, t, _ in seen] == [(i, 7) for i in range(1, 8)]
    assert [loss for *_, loss in seen] == model.loss_curve_[:-1]


def test_same_seed_same_model(small: list[str]) -> None:
    a = NeuralLM(steps=20, init_seed=5).fit(small)
    b = NeuralLM(steps=20, init_seed=5).fit(small)
    c = NeuralLM(steps=20, init_seed=6).fit(small)
    assert torch.equal(a.W_, b.W_) and not torch.equal(a.W_, c.W_)  # type: ignore[arg-type]


def test_lr_auto_per_optimizer_and_order(small: list[str]) -> None:
    """'auto' stays the hyperparameter (as clone() needs); fit records the rate used."""
    assert NeuralLM().hparams["lr"] == "auto"
    assert NeuralLM(steps=1).fit(small).lr_ == 50.0  # the lecture's
    assert NeuralLM(order=3, steps=1).fit(small).lr_ == 25.0 == default_lr("gd", 3)
    assert NeuralLM(optimizer="lbfgs", steps=1).fit(small).lr_ == 1.0
    assert NeuralLM(optimizer="adam", lr="0.2", steps=1).fit(small).lr_ == 0.2
    config, tensors = NeuralLM(steps=1).fit(small).state()
    assert (config["hparams"]["lr"], config["learned"]["lr"]) == ("auto", 50.0)
    assert NeuralLM.from_state(config, tensors).lr_ == 50.0


def test_damaged_weights_are_a_model_file_error(small: list[str]) -> None:
    config, tensors = NeuralLM(steps=2).fit(small).state()
    with pytest.raises(ModelFileError, match="shape"):
        NeuralLM.from_state(config, {"W": tensors["W"][:-1]})
    with pytest.raises(ModelFileError, match="lacks"):
        NeuralLM.from_state(config, {})


def test_huge_vocabulary_is_refused_clearly() -> None:
    items = [f"w{i}" for i in range(9000)]  # word tokens: W would be 9001 x 9001
    with pytest.raises(OptionError, match="count backend"):
        NeuralLM().fit(Corpus.from_items(items, kind="word"))


# -- the CLI: every command on a neural model, and bad input ----------------------


@pytest.fixture(scope="module")
def words_file(tmp_path_factory: pytest.TempPathFactory, names: list[str]) -> Path:
    path = tmp_path_factory.mktemp("d") / "names.txt"
    path.write_text("\n".join(names[:2000]) + "\n", encoding="utf-8")
    return path


def test_every_command_works_on_a_neural_model(words_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "n.ngk"
    code, stdout, stderr = run("fit", str(words_file), "--backend", "neural", "-o", str(out))
    assert code == 0, stderr
    assert "Training loss" in stdout and "neural" in stdout
    code, stdout, _ = run("sample", str(out), "-n", "3", "--seed", "7", "--json")
    assert code == 0 and json.loads(stdout)["samples"] == persist.load(out).model.sample(3, seed=7)
    code, stdout, _ = run("eval", str(out), str(words_file), "--format", "json")
    assert code == 0 and 2.0 < json.loads(stdout)["summary"]["nll"] < 3.0
    code, stdout, _ = run("score", str(out), "emma", "--json")
    data = json.loads(stdout)
    assert code == 0 and len(data["tokens"]) == 5
    assert data["logprob"] == pytest.approx(persist.load(out).model.logprob("emma"))


def test_yaml_config_sets_neural_options(words_file: Path, tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(f"data: {words_file}\nbackend: neural\nsteps: 4\noptimizer: adam\nlr: 0.3\n")
    out = tmp_path / "c.ngk"
    code, _, stderr = run("fit", "--config", str(config), "-o", str(out), "--json")
    assert code == 0, stderr
    hp = persist.load(out).model.hparams
    assert (hp["steps"], hp["optimizer"], hp["lr"]) == (4, "adam", 0.3)


def test_divergence_stops_and_saves_nothing(words_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "d.ngk"
    code, stdout, stderr = run(
        "fit", str(words_file), "--backend", "neural", "--lr", "1e30", "-o", str(out)
    )
    assert code == 1 and not out.exists()
    assert stderr.startswith("Error: training diverged") and "--lr" in stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stdout + stderr
    with pytest.raises(TrainingError, match="diverged"):
        NeuralLM(optimizer="adam", lr=1e300).fit(["ab", "ba"])


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--lr", "0"], "--lr"),
        (["--lr", "-1"], "--lr"),
        (["--lr", "fast"], "--lr"),
        (["--steps", "0"], "--steps"),
        (["--steps", "1.5"], "--steps"),
        (["--reg", "-0.1"], "--reg"),
        (["--optimizer", "sgd"], "--optimizer"),
        (["--device", "tpu"], "--device"),
        (["--smooth", "1"], "--smooth"),
    ],
)
def test_bad_input_is_one_line(
    words_file: Path, tmp_path: Path, flags: list[str], message: str
) -> None:
    out = tmp_path / "bad.ngk"
    code, stdout, stderr = run(
        "fit", str(words_file), "--backend", "neural", *flags, "-o", str(out)
    )
    assert code != 0 and not out.exists()
    assert stderr.startswith("Error:") and message in stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stdout + stderr


@pytest.mark.parametrize(
    ("device", "available"),
    [
        ("cuda", torch.cuda.is_available()),
        ("mps", torch.backends.mps.is_available()),
    ],
)
def test_missing_device_is_a_clear_error(
    words_file: Path, tmp_path: Path, device: str, available: bool
) -> None:
    if available:
        pytest.skip(f"{device} is available here")
    out = tmp_path / "dev.ngk"
    code, _, stderr = run(
        "fit", str(words_file), "--backend", "neural", "--device", device, "-o", str(out)
    )
    assert code == 1 and not out.exists()
    assert stderr.startswith(f"Error: --device {device}") and len(stderr.strip().splitlines()) == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_model_loads_and_runs_on_cpu(small: list[str], tmp_path: Path) -> None:
    gpu = NeuralLM(order=3, steps=50, device="cuda").fit(small)
    cpu = NeuralLM(order=3, steps=50, device="cpu").fit(small)
    back = persist.load(persist.save(gpu, tmp_path / "g.ngk")).model
    assert back.W_.device.type == "cpu" and back.device_.startswith("cuda")
    assert back.logprob("emma") == pytest.approx(cpu.logprob("emma"), abs=1e-6)
    assert back.sample(3, seed=1) == cpu.sample(3, seed=1)


# -- the loss curve in the report -------------------------------------------------


def test_curve_drawing_known_answers() -> None:
    assert resample([1, 2, 3, 4], 2) == [1.5, 3.5]
    assert resample([1, 2], 5) == [1, 2]
    assert chart_rows([4.0, 3.0, 2.0, 2.0], width=4, height=2) == ["█   ", "██▁▁"]
    flat = chart_rows([1.0] * 3, width=3, height=2)
    assert flat == ["   ", "▁▁▁"]


def test_curve_renders_its_range() -> None:
    buf = io.StringIO()
    Console(file=buf, width=60).print(LossCurve([3.7686, 3.0, 2.5, 2.4829]))
    text = buf.getvalue()
    assert "3.7686 → 2.4829 in 3 steps" in text
    assert "3.769 ┤" in text and "2.483 ┤" in text and "step 3" in text


def test_an_oscillating_fit_is_flagged() -> None:
    """gd with the lecture's lr 50 on a tiny word corpus ends in a 2-cycle: say so."""
    from ngramkit import Corpus, NeuralLM

    items = ["spaced out", "far out", "way out", "out there"] * 3
    corpus = Corpus.from_items(items, kind="word")
    model = NeuralLM(steps=60, lr=50.0, reg=0.01).fit(corpus)
    lbfgs = NeuralLM(steps=60, optimizer="lbfgs", reg=0.01).fit(corpus)
    assert model.loss_curve_[-1] > min(model.loss_curve_) + 0.1  # seeded: it does oscillate
    assert "try --optimizer lbfgs" in model.summary()["warning"]
    assert "warning" not in lbfgs.summary()
