"""ARPA files from strangers: damaged or crafted text ends in one clear error.

Mutations of a small, valid ARPA file (lines dropped, duplicated, swapped or
cut; numbers made garbage, huge, NaN; declared counts changed; random text
and bytes) go through what `ngramkit import` does: read, build the model,
save, load and score. Everything must either work or raise an NgramkitError,
never another exception or a hang.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ngramkit import CountLM, load, save
from ngramkit.errors import NgramkitError
from ngramkit.smoothing.arpa import read
from ngramkit.smoothing.arpa import save as save_arpa

ITEMS = ["ab", "abc", "ba", "cab", "a b", "bb"]


@pytest.fixture(scope="module")
def arpa_lines(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    path = tmp_path_factory.mktemp("arpa") / "m.arpa"
    save_arpa(CountLM(order=3, smooth="mkn").fit(ITEMS), path)
    return path.read_text(encoding="utf-8").split("\n")


GARBAGE = ["", "x", "-1e400", "nan", "inf", "-inf", "1e308", "99999999999999999999", "\t", "<s>"]


def mutate(lines: list[str], rng: random.Random) -> str:
    lines = list(lines)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines))
        kind = rng.randrange(7)
        if kind == 0:
            del lines[i]
        elif kind == 1:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif kind == 2:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == 3:
            fields = lines[i].split("\t")
            fields[rng.randrange(len(fields))] = rng.choice(GARBAGE)
            lines[i] = "\t".join(fields)
        elif kind == 4 and lines[i].startswith("ngram "):
            lines[i] = f"ngram {rng.randint(1, 5)}={rng.choice([0, 1, 7, 10**9, -3])}"
        elif kind == 5:
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
        else:
            lines[i] = "".join(
                rng.choice("abc<>\\-=.0123456789 \t") for _ in range(rng.randint(0, 12))
            )
    return "\n".join(lines)


def import_and_use(text: bytes, tmp_path: Path) -> None:
    src = tmp_path / "f.arpa"
    src.write_bytes(text)
    try:
        got = read(src)
        model = CountLM.from_tables(got.tables, got.vocab, {"source": str(src)})
        loaded = load(save(model, tmp_path / "f.ngk")).model
        for item in ("ab", "ba", "c"):
            if not loaded.vocab.unknown(item):
                loaded.logprob(item)
        loaded.sample(3, seed=1, cut=20)
    except NgramkitError as e:
        assert str(e) and "\n" not in str(e)


@settings(max_examples=150, deadline=None)
@given(st.randoms(use_true_random=False))
def test_mutated_arpa_files(arpa_lines: list[str], tmp_path_factory, rng: random.Random) -> None:
    import_and_use(mutate(arpa_lines, rng).encode("utf-8"), tmp_path_factory.mktemp("f"))


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes(tmp_path_factory, data: bytes) -> None:
    import_and_use(b"\\data\\\n" + data, tmp_path_factory.mktemp("b"))


def test_the_valid_file_imports(arpa_lines: list[str], tmp_path: Path) -> None:
    src = tmp_path / "ok.arpa"
    src.write_text("\n".join(arpa_lines), encoding="utf-8")
    got = read(src)
    assert got.tables.sizes[0] > 0
