"""Model files from strangers: every damaged or crafted file ends in one ModelFileError.

The fast version of bench/fuzz_persist.py: hypothesis drives tests/fuzzing.py's
mutations (truncation, bit flips, header-length rewrites, odd header values,
reshaped and retyped tensors, crafted payloads with a valid checksum) over a
valid file of each installed backend, and raw bytes straight at the loader.
A file either loads into a model that scores and samples without error, or is
refused with ModelFileError in one line. Then one test per backend for the
crafted tensors its from_state must refuse.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
import torch
from fuzzing import MUTATIONS, mutate, probe, rebuilt, repack, tensors_of, unpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ngramkit import registry
from ngramkit.corpus import Corpus
from ngramkit.errors import ModelFileError
from ngramkit.persist import MAGIC, load, save

ITEMS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "ab", "b"]
SPARSE = ["".join(chr(0x61 + (i * 7 + j) % 50) for j in range(6)) for i in range(60)]
"""50 symbols at order 4: V^4 > 4M cells, so the count backend keeps a sparse table."""
PLANS = {
    "count1": ("count", {"order": 1, "smooth": 0.0}, ITEMS),
    "count3": ("count", {"order": 3}, ITEMS),
    "count-sparse": ("count", {"order": 4}, SPARSE),
    "neural": ("neural", {"steps": 3}, ITEMS),
    "neural3": ("neural", {"steps": 3, "order": 3}, ITEMS),
    "mlp": ("mlp", {"steps": 3, "hidden": 8, "emb": 2, "order": 3}, ITEMS),
}
FUZZ = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,  # the same inputs on every run: a finding never comes and goes
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ROWS_UNCHECKED: set[str] = set()  # backends whose from_state cannot yet vouch for their rows


def _model(plan: str):
    backend, hp, items = PLANS[plan]
    entry = registry.installed().get(backend)
    if entry is None or entry.cls is None:
        pytest.skip(f"backend {backend} is not installed")
    return entry.cls(**hp).fit(Corpus.from_items(items))


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("seeds")
    out = {}
    for plan, (backend, _, _) in PLANS.items():
        entry = registry.installed().get(backend)
        if entry is not None and entry.cls is not None:
            out[plan] = save(_model(plan), folder / f"{plan}.ngk").read_bytes()
    return out


def _probe(path: Path, plan: str) -> str:
    # No clock here (tests are not timed): bench/fuzz_persist.py reports the slowest input.
    return probe(path, check_rows=PLANS[plan][0] not in ROWS_UNCHECKED)


@pytest.mark.parametrize("plan", list(PLANS))
@FUZZ
@given(rng=st.randoms(use_true_random=False))
def test_mutated_files_are_refused_or_usable(
    seeds: dict[str, bytes], tmp_path: Path, plan: str, rng: random.Random
) -> None:
    if plan not in seeds:
        pytest.skip("backend not installed")
    kind, data = mutate(seeds[plan], rng)
    path = tmp_path / "fuzzed.ngk"
    path.write_bytes(data)
    assert _probe(path, plan) in ("refused", "loaded"), kind


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_every_mutation_refuses_something(
    seeds: dict[str, bytes], tmp_path: Path, mutation: str
) -> None:
    """Each mutation is live: on some seed it yields a file the loader refuses."""
    rng, path = random.Random(0), tmp_path / "m.ngk"
    outcomes = set()
    for i in range(30):
        plan = sorted(seeds)[i % len(seeds)]
        path.write_bytes(MUTATIONS[mutation](seeds[plan], rng))
        outcomes.add(_probe(path, plan))
    assert "refused" in outcomes


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=4096), magic=st.booleans())
def test_random_bytes_are_refused(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, magic: bool
) -> None:
    path = tmp_path_factory.mktemp("raw") / "raw.ngk"
    path.write_bytes((MAGIC if magic else b"") + data)
    with pytest.raises(ModelFileError) as e:
        load(path)
    assert "\n" not in str(e.value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(head=st.binary(max_size=512) | st.text(max_size=200).map(str.encode))
def test_random_headers_are_refused(tmp_path_factory: pytest.TempPathFactory, head: bytes) -> None:
    """A length field that agrees with the header, then any header bytes at all."""
    path = tmp_path_factory.mktemp("head") / "h.ngk"
    path.write_bytes(MAGIC + struct.pack("<Q", len(head)) + head)
    with pytest.raises(ModelFileError):
        load(path)


def test_declared_sizes_are_checked_before_reading(seeds: dict[str, bytes], tmp_path: Path) -> None:
    """A tensor declared 2^40 bytes long: refused from the header, nothing that big is read."""
    header, payload = unpack(seeds["count3"])
    header["tensors"]["keys"] = {"dtype": "uint8", "shape": [2**40], "offset": 0, "nbytes": 2**40}
    path = tmp_path / "big.ngk"
    path.write_bytes(repack(header, payload))
    with pytest.raises(ModelFileError, match="header declares 1099511627776"):
        load(path)


@pytest.mark.parametrize("depth", [33, 10_000, 1_000_000])
def test_deep_json_is_refused(tmp_path: Path, depth: int) -> None:
    """33 levels: over MAX_DEPTH; a million: past Python's recursion limit."""
    raw = b'{"format": "ngramkit-model", "x": ' + b"[" * depth + b"]" * depth + b"}"
    path = tmp_path / "deep.ngk"
    path.write_bytes(MAGIC + struct.pack("<Q", len(raw)) + raw)
    with pytest.raises(ModelFileError, match=r"nested too deeply|not valid JSON"):
        load(path)


def _with_tensor(data: bytes, name: str, t: torch.Tensor) -> bytes:
    """The file with tensor `name` replaced by `t` (dtype, shape and values), laid out
    and checksummed as save writes it: only the crafted values are wrong."""
    header, tensors = tensors_of(data)
    return rebuilt(header, {**tensors, name: t.contiguous()})


def _tensor(data: bytes, name: str) -> torch.Tensor:
    return tensors_of(data)[1][name]


def _refused(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "crafted.ngk"
    path.write_bytes(data)
    with pytest.raises(ModelFileError):
        load(path)


@pytest.mark.parametrize(
    "craft",
    [
        lambda W: W.clone().fill_(float("nan")),
        lambda W: torch.where(torch.arange(W.numel()).reshape(W.shape) == 5, float("inf"), W),
        lambda W: W.flatten(),
        lambda W: W[:-1],
        lambda W: W.to(torch.int64),
        lambda W: W.T.contiguous() if W.shape[0] != W.shape[1] else W[:, :-1],
    ],
    ids=["nan", "one-inf", "flat", "row-short", "int64", "transposed"],
)
@pytest.mark.parametrize("plan", ["neural", "neural3"])
def test_neural_refuses_crafted_weights(
    seeds: dict[str, bytes], tmp_path: Path, plan: str, craft
) -> None:
    W = _tensor(seeds[plan], "W")
    _refused(_with_tensor(seeds[plan], "W", craft(W)), tmp_path)


def test_neural_refuses_crafted_loss_curve(seeds: dict[str, bytes], tmp_path: Path) -> None:
    _refused(_with_tensor(seeds["neural"], "loss_curve", torch.zeros(2, 3, 4)), tmp_path)


@pytest.mark.parametrize(
    "craft",
    [
        lambda k, c: (k.flip(0), c),  # unsorted keys
        lambda k, c: (k, -c),  # negative counts
        lambda k, c: (k.to(torch.int32), c),  # wrong dtype
        lambda k, c: (k, c[:-1]),  # lengths differ
        lambda k, c: (k + 10**12, c),  # keys past V^order
    ],
    ids=["unsorted", "negative", "int32", "short", "out-of-range"],
)
def test_count_refuses_crafted_tables(seeds: dict[str, bytes], tmp_path: Path, craft) -> None:
    data = seeds["count3"]
    keys, counts = craft(_tensor(data, "keys"), _tensor(data, "counts"))
    _refused(_with_tensor(_with_tensor(data, "keys", keys), "counts", counts), tmp_path)


def test_count_refuses_counts_that_overflow(seeds: dict[str, bytes], tmp_path: Path) -> None:
    """Counts of 2^62 on one context's two continuations: its total wraps negative.

    Where the loader's smoke test (the boundary context) does not look, the
    sparse table then scores that context with NaN. from_state should refuse
    counts whose sum exceeds 2^53 (exact in float64, where scoring happens).
    """
    data = seeds["count-sparse"]
    keys, counts = _tensor(data, "keys"), _tensor(data, "counts").clone()
    V = len(_model("count-sparse").vocab)
    ctx = keys // V
    ids, n = torch.unique_consecutive(ctx, return_counts=True)
    target = int(ids[(n >= 2) & (ids != 0)][0])
    counts[ctx == target] = 2**62
    _refused(_with_tensor(data, "counts", counts), tmp_path)


def test_mlp_refuses_nan_weights(seeds: dict[str, bytes], tmp_path: Path) -> None:
    if "mlp" not in seeds:
        pytest.skip("mlp not installed")
    C = _tensor(seeds["mlp"], "C").clone()
    C[-1, 0] = float("nan")  # the last symbol's embedding: not the boundary's
    _refused(_with_tensor(seeds["mlp"], "C", C), tmp_path)


def test_cli_reports_a_crafted_file_in_one_line(seeds: dict[str, bytes], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ngramkit.cli import cli

    header, payload = unpack(seeds["count3"])
    header["tensors"]["keys"]["shape"] = [2**40, 0]  # 0 elements, but nbytes says more
    path = tmp_path / "crafted.ngk"
    path.write_bytes(repack(header, payload))
    result = CliRunner().invoke(cli, ["sample", str(path)])
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: ")
    assert len(result.output.strip().splitlines()) == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("plan", ["count1", "count3", "neural"])
def test_an_empty_vocabulary_is_refused(seeds: dict[str, bytes], tmp_path: Path, plan: str) -> None:
    """Found by bench/fuzz_persist.py: V = 1 looped forever in counts.max_order."""
    header, payload = unpack(seeds[plan])
    header["config"]["vocab"]["symbols"] = []
    path = tmp_path / "empty.ngk"
    path.write_bytes(repack(header, payload))
    with pytest.raises(ModelFileError, match="vocabulary is malformed"):
        load(path)
