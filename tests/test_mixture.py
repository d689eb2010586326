"""Mixtures (mixture.py, cli/mix.py): EM against a grid, rows that sum to one, the
model mixed with itself, files, every command on a mixture, and each bad input."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from ngramkit import persist
from ngramkit.backends.count import CountLM
from ngramkit.cli import cli
from ngramkit.corpus import Corpus
from ngramkit.errors import DataError, NgramkitError, OptionError
from ngramkit.mixture import MixtureLM, bucket_of, em_weights, mix, parse_components
from ngramkit.testing import parametrize_checks

SPEC = "count order=2; count order=3 smooth=kn"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def data(names: list[str]) -> tuple[list[str], list[str]]:
    return names[:400], names[400:600]  # train, dev


@pytest.fixture(scope="module")
def pair(data: tuple[list[str], list[str]]) -> list[CountLM]:
    train, _ = data
    return [CountLM(order=2, smooth=0.5).fit(train), CountLM(order=3, smooth="kn").fit(train)]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, data, pair) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("mix")
    out = {"dev": folder / "dev.txt", "train": folder / "train.txt"}
    out["train"].write_text("\n".join(data[0]) + "\n")
    out["dev"].write_text("\n".join(data[1]) + "\n")
    for name, model in zip(("a", "b"), pair):
        out[name] = persist.save(model, folder / f"{name}.ngk")
    out["mix"] = folder / "mix.ngk"
    code, _, err = run("mix", str(out["a"]), str(out["b"]), "--tune-on", str(out["dev"]),
                       "-o", str(out["mix"]))  # fmt: skip
    assert code == 0, err
    return out


@parametrize_checks("mixture", hparams={"components": SPEC})
def test_conformance(backend, check) -> None:
    check(backend)


def test_bucket_of_worked_example() -> None:
    got = bucket_of(torch.tensor([0, 1, 2, 3, 4, 100]), 4)
    assert got.tolist() == [0, 1, 2, 2, 3, 3]


def test_em_equals_a_fine_grid_search(pair, data) -> None:
    """Two components, global weights: EM's held-out NLL is the grid's best within 1e-4."""
    dev = Corpus.from_items(data[1], pair[0].vocab).grams(3)
    lp = torch.stack(
        [m.token_logprobs(dev[:, 3 - m.order : -1], dev[:, -1]).double() for m in pair], 1
    )  # (T, 2)
    w, _ = em_weights(lp, torch.zeros(len(lp), dtype=torch.long), 1)

    def nll(grid: torch.Tensor) -> torch.Tensor:  # (G,) weights of component 1 -> (G,)
        mixed = torch.logaddexp(
            grid.log()[:, None] + lp[:, 0], (1 - grid).log()[:, None] + lp[:, 1]
        )
        return -mixed.mean(1)

    coarse = torch.linspace(0, 1, 1001, dtype=torch.float64)[1:-1]  # steps of 1e-3
    at = float(coarse[nll(coarse).argmin()])
    fine = torch.linspace(at - 1e-3, at + 1e-3, 2001, dtype=torch.float64)  # steps of 1e-6
    best = nll(fine).min()
    em = -torch.logaddexp(w[0, 0].log() + lp[:, 0], w[0, 1].log() + lp[:, 1]).mean()
    assert abs(float(em - best)) < 1e-4
    assert float(w.sum()) == pytest.approx(1.0, abs=1e-12)
    assert 0.0 < float(w[0, 0]) < 1.0  # neither component alone is best here


@pytest.mark.parametrize("weighting", ["linear", "loglinear"])
def test_rows_sum_to_one(pair, data, weighting: str) -> None:
    m = mix(pair, data[1][:80], weighting=weighting, buckets=4)
    ctx = torch.randint(
        0, len(m.vocab), (64, m.order - 1), generator=torch.Generator().manual_seed(0)
    )
    rows = m.next_logprobs(ctx).double()  # (64, V)
    assert rows.logsumexp(1).abs().max() < 1e-5
    targets = torch.arange(64) % len(m.vocab)
    gathered = rows.gather(1, targets[:, None]).squeeze(1)
    assert torch.allclose(m.token_logprobs(ctx, targets).double(), gathered, atol=1e-5)


def test_mixed_with_itself_is_the_model(pair, data) -> None:
    a = pair[1]
    for m in (mix([a, a], data[1], buckets=4), mix([a, a], weights=[0.3, 0.7])):
        for item in data[1][:50]:
            assert m.logprob(item) == pytest.approx(a.logprob(item), abs=1e-5)


def test_context_buckets_beat_global_weights_on_dev(pair, data) -> None:
    one = mix(pair, data[1], buckets=1).tuning_
    eight = mix(pair, data[1], buckets=8).tuning_
    assert eight.nll <= one.nll + 1e-9  # more weights, fitted on the same tokens
    assert one.nll < min(one.component_nll)


def test_unknown_token_aligns_vocabularies(names: list[str]) -> None:
    """A component with the unknown token lacking 'q' shares that token's mass evenly."""
    no_q = [s for s in names[:400] if "q" not in s]
    with_q = names[:400] + ["qa"]
    a = CountLM(order=2, smooth=0.5).fit(Corpus.from_items(no_q, unk=True))
    b = CountLM(order=2, smooth=0.5).fit(Corpus.from_items(with_q, unk=True))
    m = mix([a, b], weights=[0.5, 0.5])
    assert "q" in m.vocab.symbols and "q" not in a.vocab.symbols
    ctx = torch.arange(len(m.vocab))[:, None]  # every one-token context
    assert m.next_logprobs(ctx).double().logsumexp(1).abs().max() < 1e-5
    closed = CountLM(order=2, smooth=0.5).fit(no_q)
    with pytest.raises(DataError, match="lacks the symbol 'q'"):
        mix([closed, CountLM(order=2).fit(with_q)], weights=[0.5, 0.5], labels=["A", "B"])


def test_file_round_trip_and_show(files: dict[str, Path], data) -> None:
    m = persist.load(files["mix"]).model
    assert isinstance(m, MixtureLM) and len(m) == 2
    a = persist.load(files["a"]).model
    again = mix([a, persist.load(files["b"]).model], data[1])
    for item in data[1][:20]:
        assert m.logprob(item) == pytest.approx(again.logprob(item), abs=1e-6)
    code, out, _ = run("show", str(files["mix"]))
    assert code == 0 and "component 1" in out and "weight" in out and "a.ngk" in out
    code, out, _ = run("show", str(files["mix"]), "--json")
    assert code == 0 and '"mixture"' in out


def test_every_command_takes_a_mixture(files: dict[str, Path]) -> None:
    mixf, dev = str(files["mix"]), str(files["dev"])
    for args in (
        ("sample", mixf, "-n", "3"),
        ("eval", mixf, dev),
        ("score", mixf, "emma"),
        ("compare", mixf, str(files["a"]), "--on", dev),
        ("classify", "--model", f"m={mixf}", "--model", f"a={files['a']}", dev),
    ):
        code, _, err = run(*args)
        assert code == 0, (args, err)


def test_cross_fitting_from_a_config(tmp_path: Path, files: dict[str, Path]) -> None:
    config = tmp_path / "mix.yaml"
    config.write_text(
        "backend: mixture\nval_fraction: 0\nbuckets: 4\ncomponents:\n"
        "  - {backend: count, order: 2, smooth: 0.5}\n  - backend: count\n    order: 3\n"
        "    smooth: kn\n"
    )
    out = tmp_path / "cf.ngk"
    code, _, err = run("fit", str(files["train"]), "--config", str(config), "-o", str(out))
    assert code == 0, err
    m = persist.load(out).model
    assert m.tuning_.source == "cross-fit" and m.tuning_.refit
    assert m.tuning_.items == 40  # 10% of the 400 training items held out
    assert m.components_[0].training.items == 400  # then refitted on all of them
    assert m.hparams["components"] == "count order=2 smooth=0.5; count order=3 smooth=kn"


def test_spec_forms_agree() -> None:
    listed = parse_components(
        [{"backend": "count", "order": 3, "tune": True}, {"backend": "count"}]
    )
    assert (
        listed
        == parse_components("count order=3 tune=true; count")
        == ("count order=3 tune=true; count")
    )


# -- bad input: one clear line, exit 1 (data) or 2 (options), nothing written -------


def _refused(tmp_path: Path, *args: str, status: int = 1) -> str:
    out = tmp_path / "never.ngk"
    code, _, err = run("mix", *args, "-o", str(out))
    assert code == status and not out.exists(), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_refuses_components_of_different_tokenizers(tmp_path: Path, files) -> None:
    words = persist.save(CountLM(order=2).fit(Corpus.from_items(["a b", "b a"], kind="word")),
                         tmp_path / "w.ngk")  # fmt: skip
    err = _refused(tmp_path, str(files["a"]), str(words), "--weights", "0.5,0.5")
    assert "one tokenizer" in err


def test_refuses_a_missing_or_damaged_component(tmp_path: Path, files) -> None:
    err = _refused(tmp_path, str(files["a"]), str(tmp_path / "gone.ngk"), "--weights", "0.5,0.5")
    assert "gone.ngk" in err and "no such" in err
    bad = tmp_path / "bad.ngk"
    bad.write_bytes(files["b"].read_bytes()[:-10])
    err = _refused(tmp_path, str(files["a"]), str(bad), "--weights", "0.5,0.5")
    assert "bad.ngk" in err and "damaged" in err


@pytest.mark.parametrize(
    "weights, words", [("-0.5,1.5", ">= 0"), ("0.3,0.3", "sum to one"), ("1", "1 weights")]
)
def test_refuses_bad_hand_weights(tmp_path: Path, files, weights: str, words: str) -> None:
    assert words in _refused(
        tmp_path, str(files["a"]), str(files["b"]), "--weights", weights, status=2
    )


def test_refuses_a_dev_list_with_no_scorable_items(tmp_path: Path, files) -> None:
    dev = tmp_path / "oov.txt"
    dev.write_text("123\n$$$\n")
    err = _refused(tmp_path, str(files["a"]), str(files["b"]), "--tune-on", str(dev))
    assert "no scorable items" in err


def test_refuses_a_mixture_of_one(tmp_path: Path, files) -> None:
    err = _refused(tmp_path, str(files["a"]), "--tune-on", str(files["dev"]), status=2)
    assert "at least two" in err
    with pytest.raises(OptionError, match="at least two"):
        MixtureLM(components="count order=2").fit(["emma", "ava", "mia"] * 20)


def test_refuses_a_mixture_as_component(tmp_path: Path, files) -> None:
    err = _refused(tmp_path, str(files["mix"]), str(files["a"]), "--tune-on", str(files["dev"]))
    assert "itself a mixture" in err
    with pytest.raises(OptionError, match="cannot be a mixture"):
        MixtureLM(components="mixture; count")


def test_weights_and_tune_on_exclude_each_other(tmp_path: Path, files) -> None:
    err = _refused(tmp_path, str(files["a"]), str(files["b"]), status=2)
    assert "either --tune-on" in err


def test_equal_weights_when_nothing_can_be_held_out() -> None:
    m = MixtureLM(components=SPEC).fit(["ab"])
    assert m.weights_.tolist() == [[0.5, 0.5]] and math.isfinite(m.logprob("ab"))
    with pytest.raises(NgramkitError):
        MixtureLM(components="count order=2; nosuch order=3")


def test_refuses_a_time_budget_too_small_for_one_step(tmp_path: Path, files) -> None:
    """The config path with a neural component that takes a budget (the wavenet plugin's
    --minutes): its own one-line error comes through, and nothing is written."""
    from ngramkit import registry

    entry = registry.installed().get("wavenet")
    if entry is None or not entry.ok:
        pytest.skip("the wavenet plugin (a component with a time budget) is not installed")
    config = tmp_path / "budget.yaml"
    config.write_text(
        "backend: mixture\nval_fraction: 0\ncomponents:\n  - {backend: count, order: 2}\n"
        "  - {backend: wavenet, order: 3, minutes: 1.0e-9}\n"
    )
    out = tmp_path / "never.ngk"
    code, _, err = run("fit", str(files["train"]), "--config", str(config), "-o", str(out))
    assert code == 1 and not out.exists(), err
    assert "too short" in err and len(err.strip().splitlines()) == 1


def test_report_reads_at_80_columns(pair, data) -> None:
    import io

    from rich.console import Console

    from ngramkit.report.mixture import mix_report, weights_text

    m = mix(pair, data[1], buckets=8, labels=["a-rather-long-file-name-of-a-model.ngk", "b.ngk"])
    con = Console(file=io.StringIO(), width=80)
    con.print(mix_report(m.to_json(), "mix.ngk"))
    text = con.file.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "mixture" in text and "8 context-count bucket(s)" in text and "b.ngk" in text
    assert weights_text([0.25]) == "0.2500"
    assert weights_text([0.1, 0.9]) == "0.10 0.90"
    assert weights_text([0.1, 0.5, 0.2, 0.3, 0.9]) == "0.10..0.90 (5 buckets)"


def test_a_crafted_mixture_file_is_one_clear_error(tmp_path: Path, pair) -> None:
    from ngramkit.errors import ModelFileError

    m = mix(pair, weights=[0.5, 0.5])
    m.weights_ = torch.tensor([[-0.5, 1.5]], dtype=torch.float64)  # as a crafted file holds
    path = persist.save(m, tmp_path / "crafted.ngk")
    with pytest.raises(ModelFileError, match=r"crafted\.ngk.*negative or do not sum to one"):
        persist.load(path)
