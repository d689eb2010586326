"""Tests of the mlp backend: ngramkit's conformance kit, then the MLP's own maths.

Everything trains for a few hundred steps on a handful of names (well under a
second each); the full names.txt run lives in bench/names_nll.py.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from ngramkit import Corpus, load
from ngramkit.cli import cli
from ngramkit.errors import ModelFileError, OptionError, TrainingError
from ngramkit.testing import Backend, Check, parametrize_checks

from ngramkit_mlp import network
from ngramkit_mlp.model import MLPLM
from ngramkit_mlp.train import Schedule

QUICK = {"steps": 100, "emb": 4, "hidden": 16}
NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "ella", "luna", "zoe"]


@parametrize_checks("mlp", hparams=QUICK)
def test_conformance(backend: Backend, check: Check) -> None:
    check(backend)


def test_logits_match_a_plain_loop() -> None:
    g = torch.Generator().manual_seed(0)
    V, k, E, H = 5, 2, 3, 4
    p = network.init_params(V, k, E, H, g)
    p["b2"] = torch.randn(V, generator=g)  # init leaves it 0; make it count
    ctx = [3, 1]
    emb = [float(p["C"][t, e]) for t in ctx for e in range(E)]  # concatenated embeddings
    h = [
        math.tanh(sum(emb[i] * float(p["W1"][i, j]) for i in range(k * E)) + float(p["b1"][j]))
        for j in range(H)
    ]
    want = [
        sum(h[j] * float(p["W2"][j, v]) for j in range(H)) + float(p["b2"][v]) for v in range(V)
    ]
    got = network.logits(p, torch.tensor([ctx]))[0].tolist()
    assert got == pytest.approx(want, abs=1e-5)


def test_shapes_follow_vocabulary_context_and_sizes() -> None:
    assert network.shapes(27, 3, 10, 200) == {
        "C": (27, 10),
        "W1": (30, 200),
        "b1": (200,),
        "W2": (200, 27),
        "b2": (27,),
    }


def test_step_decay_schedule() -> None:
    one = Schedule(steps=200, lr=0.1, lr_decay=0.1, decays=1)
    assert [one.lr_at(s) for s in (0, 99, 100, 199)] == pytest.approx([0.1, 0.1, 0.01, 0.01])
    two = Schedule(steps=300, lr=0.2, lr_decay=0.5, decays=2)
    assert [two.lr_at(s) for s in (0, 99, 100, 199, 200, 299)] == pytest.approx(
        [0.2, 0.2, 0.1, 0.1, 0.05, 0.05]
    )
    assert Schedule(steps=10, lr=0.3, lr_decay=0.1, decays=0).lr_at(9) == 0.3


def test_the_first_loss_is_a_uniform_guess() -> None:
    # makemore part 3's init: small W2, zero b2, so the first loss is about ln V.
    model = MLPLM(steps=1, lr=1e-9).fit(NAMES)
    assert model.loss_ == pytest.approx(math.log(len(model.vocab)), abs=0.05)


def test_training_beats_the_uniform_guess_and_a_bigram_count_model() -> None:
    model = MLPLM(steps=2000, emb=8, hidden=64, lr=0.2).fit(NAMES)
    nll = -sum(model.logprob(s) for s in NAMES) / sum(len(s) + 1 for s in NAMES)
    assert nll < 1.2 < math.log(len(model.vocab))  # memorizes ten names far below ln V = 2.77


def test_seeded_init_and_minibatches() -> None:
    a = MLPLM(**QUICK, init_seed=1).fit(NAMES)
    b = MLPLM(**QUICK, init_seed=1).fit(NAMES)
    c = MLPLM(**QUICK, init_seed=2).fit(NAMES)
    assert all(torch.equal(a.params_[n], b.params_[n]) for n in network.NAMES)
    assert not torch.equal(a.params_["W1"], c.params_["W1"])


def test_threads_are_restored_after_training() -> None:
    before = torch.get_num_threads()
    MLPLM(**QUICK, threads=1).fit(NAMES)
    assert torch.get_num_threads() == before


def test_divergence_is_a_clear_error() -> None:
    with pytest.raises(TrainingError, match=r"training diverged at step \d+ .*lower --lr"):
        MLPLM(steps=1000, lr=100).fit(NAMES)


@pytest.mark.parametrize(
    "hparams, message",
    [
        # the library names parameters as Python spells them (the CLI shows its flags)
        ({"emb": 0}, "^emb must be between 1 and 4096, got 0"),
        ({"lr": 0}, "^lr must be > 0, <= 1000, got 0"),
        ({"lr": 1e300}, "^lr must be > 0, <= 1000, got 1e\\+300"),
        ({"lr_decay": 1.5}, "^lr_decay must be > 0, <= 1, got 1.5"),
        ({"steps": "many"}, "^steps must be an integer, got 'many'"),
        ({"smooth": 1}, "backend 'mlp' does not take smooth"),
    ],
)
def test_bad_hyperparameters(hparams: dict, message: str) -> None:
    with pytest.raises(OptionError, match=message.replace("(", r"\(")):
        MLPLM(**hparams)


def test_from_state_refuses_tensors_of_the_wrong_shape() -> None:
    model = MLPLM(**QUICK).fit(NAMES)
    config, tensors = model.state()
    with pytest.raises(ModelFileError, match=r"mlp model tensor W1 is missing or not \(12, 16\)"):
        MLPLM.from_state(config, {**tensors, "W1": torch.zeros(3, 3)})
    with pytest.raises(ModelFileError, match="tensor b2 is missing"):
        MLPLM.from_state(config, {k: v for k, v in tensors.items() if k != "b2"})


def test_word_items() -> None:
    items = ["the cat sat", "the dog sat", "a cat ran"]
    model = MLPLM(**QUICK, order=3).fit(Corpus.from_items(items, kind="word"))
    assert model.next_logprobs(torch.tensor([[0, 0]])).shape == (1, len(model.vocab))


def test_cli_fit_sample_and_help(tmp_path: Path) -> None:
    data = tmp_path / "names.txt"
    data.write_text("\n".join(NAMES * 3) + "\n")
    out = tmp_path / "m.ngk"
    args = ["fit", str(data), "--backend", "mlp", "--steps", "300", "--hidden", "32"]
    result = CliRunner().invoke(cli, [*args, "--emb", "5", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["backend"], report["order"]) == ("mlp", 4)
    assert load(out).model.hparams["emb"] == 5
    assert load(out).header["config"]["hparams"]["hidden"] == 32
    sampled = CliRunner().invoke(cli, ["sample", str(out), "-n", "3", "--json"])
    assert len(json.loads(sampled.stdout)["samples"]) == 3
    bad = CliRunner().invoke(cli, [*args, "--emb", "0", "-o", str(out)])
    assert (bad.exit_code, bad.stderr) == (2, "Error: --emb must be between 1 and 4096, got 0\n")
    helptext = CliRunner().invoke(cli, ["fit", "--help"]).output
    assert "Options of backend 'mlp'" in helptext and "--hidden INT" in helptext


def test_listing_backends_does_not_import_torch() -> None:
    probe = "import sys, ngramkit_mlp.model; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
