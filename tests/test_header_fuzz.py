"""Model-file headers by structure: every key set to every kind of JSON value, resealed.

The fast version of bench/fuzz_headers.py: for a few seed files, every path
of the header gets a few values of other JSON types (chosen by a seeded
generator, so the same every run) or is deleted, and the file is resealed.
Each variant is refused in one line, or loads into a model that computes what
the original does and whose header the test's own statement of the format
(tests/fuzzing.py: descriptive_problem, config_problem) calls consistent.
Then the cases issue 19 names, each through the CLI.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from fuzzing import DELETE, HEADER_VALUES, fingerprint, header_paths, judge, unpack, with_field

from ngramkit import registry
from ngramkit.cli import cli
from ngramkit.corpus import Corpus
from ngramkit.evaluate import corpus_metrics
from ngramkit.persist import load, save

ITEMS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "ab", "b"]
PLANS = {
    "count2": ("count", {"order": 2}),
    "kn3-unk": ("count", {"order": 3, "smooth": "kn", "unk": True}),
    "neural3": ("neural", {"order": 3, "steps": 3}),
}
PER_PATH = 2  # values tried at each path (besides deleting it)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("seeds")
    out = {}
    for plan, (backend, hp) in PLANS.items():
        model = registry.get(backend)(**hp).fit(Corpus.from_items(ITEMS))
        out[plan] = save(model, folder / f"{plan}.ngk", extra=_extra(model))
    return out


def _extra(model) -> dict:
    """The descriptive fields `ngramkit fit` writes (fitting.FitResult.save), for ITEMS."""
    n = len(ITEMS)
    data = {"source": "items.txt", "items": n, "train": n, "val": 0, "val_fraction": 0.0}
    train = corpus_metrics(model, ITEMS).to_json()
    return {"metrics": {"train": train, "val": None}, "data": data}


def _variants(data: bytes, seed: int) -> list[tuple[tuple, object]]:
    rng = random.Random(seed)
    header, _ = unpack(data)
    out = []
    for path in header_paths(header):
        out += [(path, v) for v in rng.sample(HEADER_VALUES, PER_PATH)]
        if isinstance(path[-1], str):
            out.append((path, DELETE))
    return out


@pytest.mark.parametrize("plan", list(PLANS))
def test_every_header_key_refused_or_consistent(
    seeds: dict[str, Path], tmp_path: Path, plan: str
) -> None:
    data = seeds[plan].read_bytes()
    original = load(seeds[plan]).model
    cls, ref = type(original), fingerprint(original)
    outcomes: dict[str, list[str]] = {}
    variants = _variants(data, seed=len(plan))
    for path, value in variants:
        out = judge(data, with_field(data, path, value), tmp_path / "v.ngk", cls, ref)
        outcomes.setdefault(out, []).append(f"{path}={value!r}")
    wrong = {k: v for k, v in outcomes.items() if k.startswith("WRONG")}
    assert not wrong, wrong
    assert len(variants) >= 100
    assert len(outcomes.get("refused", [])) > len(variants) // 2  # most of them are damage
    assert outcomes.get("accepted")  # and some are harmless (a source, a version string)


def _crafted(seeds: dict[str, Path], tmp_path: Path, plan: str, path: tuple, value) -> str:
    target = tmp_path / "crafted.ngk"
    target.write_bytes(with_field(seeds[plan].read_bytes(), path, value))
    return str(target)


@pytest.mark.parametrize(
    ("plan", "path", "value", "message"),
    [
        ("count2", ("metrics", "train", "tokens"), "x", "metrics.train.tokens is 'x'"),
        ("count2", ("metrics", "train", "nll"), "2.4", "metrics.train.nll is '2.4'"),
        ("count2", ("config", "hparams", "order"), 3, "not of order-3 n-grams"),
        ("count2", ("config", "hparams", "unk"), "yes", "'unk' must be true or false"),
        ("count2", ("config", "hparams", "order"), 2.0, "'order' must be an integer"),
        ("count2", ("config", "learned", "k"), 3.0, "fake count k 3.0 disagrees"),
        ("count2", ("training", "items"), 3, "data.train"),
        ("kn3-unk", ("config", "hparams", "order"), 2, "learned facts do not describe"),
        ("kn3-unk", ("config", "unk_logp"), 0.5, "unknown-symbol log-probability outside"),
        ("kn3-unk", ("provider",), None, "provider is not a mapping"),
        ("neural3", ("config", "hparams", "lr"), 2.0, "learned lr"),
        ("neural3", ("config", "trained_on"), 5, "trained_on"),
        ("neural3", ("tensors", "W", "offset"), 1, "overlap or leave gaps"),
    ],
)
@pytest.mark.parametrize("command", [["show"], ["show", "--json"], ["sample"], ["score"]])
def test_crafted_header_is_one_line(
    seeds: dict[str, Path], tmp_path: Path, plan, path, value, message, command
) -> None:
    model = _crafted(seeds, tmp_path, plan, path, value)
    args = [*command, model] + (["emma"] if command == ["score"] else [])
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {model}: ")
    assert message in lines[0]


def test_negative_items_refused_and_kept_out_of_saves(seeds: dict[str, Path], tmp_path) -> None:
    """data.items = -5 is refused on load, and save never writes such a header."""
    from ngramkit.errors import ModelFileError

    model = _crafted(seeds, tmp_path, "count2", ("data", "items"), -5)
    with pytest.raises(ModelFileError, match=r"data\.items is -5, not a count"):
        load(model)
    fitted = load(seeds["count2"]).model
    with pytest.raises(ModelFileError, match=r"not saved: data\.items is -5"):
        save(fitted, tmp_path / "out.ngk", extra={"data": {"items": -5}})
    assert not (tmp_path / "out.ngk").exists()


def test_harmless_fields_still_load(seeds: dict[str, Path], tmp_path: Path) -> None:
    """What a header may hold freely: a source, a version, no training info at all."""
    for path, value in [
        (("data",), {"source": "elsewhere.txt"}),
        (("provider", "version"), "9.9"),
        (("training",), None),
        (("metrics",), DELETE),
    ]:
        loaded = load(_crafted(seeds, tmp_path, "count2", path, value))
        assert fingerprint(loaded.model) == fingerprint(load(seeds["count2"]).model)


def test_a_tensor_the_model_does_not_use_is_refused(seeds: dict[str, Path], tmp_path) -> None:
    """An order-3 backoff file cut to order 2 by hand (its learned rows too) keeps
    keys3/logp3/...: loading would ignore them, so the file is refused."""
    from fuzzing import repack

    from ngramkit.errors import ModelFileError

    header, payload = unpack(seeds["kn3-unk"].read_bytes())
    header["config"]["hparams"]["order"] = 2
    header["config"]["learned"]["discounts"] = header["config"]["learned"]["discounts"][:2]
    target = tmp_path / "cut.ngk"
    target.write_bytes(repack(header, payload))
    with pytest.raises(ModelFileError, match="holds tensor 'bow3', which this model does not"):
        load(target)
