"""YAML run configs: parsed safely, every mistake named with its key and line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ngramkit.backends.count import CountLM
from ngramkit.config import GENERAL, MAX_BYTES, check, load_config
from ngramkit.errors import OptionError

COUNT = {o.name: o for o in CountLM.options}


def write(tmp_path: Path, text: str, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_values_and_their_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "# a run\nbackend: count\n\norder: 3\nsmooth: 0.5\nval-fraction: 0\n")
    config = load_config(path)
    assert config.values == {"backend": "count", "order": 3, "smooth": 0.5, "val_fraction": 0}
    assert config.lines == {"backend": 2, "order": 4, "smooth": 5, "val_fraction": 6}
    assert check(config, COUNT, "count") == {
        "backend": "count",
        "order": 3,
        "smooth": 0.5,
        "val_fraction": 0.0,
    }


def test_an_empty_file_is_an_empty_config(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "# nothing yet\n")).values == {}


def test_an_unknown_key_names_the_key_the_line_and_the_known_keys(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "order: 3\nsmoth: 0.5\n"))
    with pytest.raises(OptionError) as info:
        check(config, COUNT, "count")
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'run.yaml'}:2: unknown key 'smoth' for backend 'count'")
    assert "smooth" in message.split("known keys:")[1]


@pytest.mark.parametrize(
    "text, line, expected",
    [
        (
            "order: 3\nsmooth: lots\n",
            2,
            "smooth: --smooth: must be a number >= 0 (add-k) or one of abs, kn, mkn, wb, auto, "
            "got 'lots'",
        ),
        ("order: 2.5\n", 1, "order: --order must be an integer, got 2.5"),
        ("order: true\n", 1, "order: --order must be an integer, got True"),
        ("order: 0\n", 1, "order: --order must be between 1 and 32, got 0"),
        ("\n\nsmooth: -1\n", 3, "smooth: --smooth: add-k needs a finite number >= 0, got -1"),
        ("tokenizer: bytes\n", 1, "tokenizer: --tokenizer must be one of char, word, got 'bytes'"),
        (
            "val_fraction: 1.5\n",
            1,
            "val_fraction: --val-fraction must be between 0 and 0.99, got 1.5",
        ),
    ],
)
def test_a_wrong_type_or_value_names_key_and_line(
    tmp_path: Path, text: str, line: int, expected: str
) -> None:
    config = load_config(write(tmp_path, text))
    with pytest.raises(OptionError) as info:
        check(config, COUNT, "count")
    assert str(info.value) == f"{tmp_path / 'run.yaml'}:{line}: {expected}"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("order: 3\norder: 4\n", ":2: key 'order' is given twice"),
        ("- order\n- 3\n", ":1: a config is a mapping of key: value"),
        ("order:\n  deep: 3\n", ":1: 'order' must be a single value"),
        ("order: [3, 4]\n", ":1: 'order' must be a single value"),
        ("base: &b 3\norder: *b\n", ":2: YAML aliases are not allowed in configs"),
        ("order: 3\nsmooth: [1\n", ":3: "),
        ("? [a, b]\n: 3\n", ":1: keys must be plain names"),
    ],
)
def test_malformed_yaml_is_one_line_with_the_line_number(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(OptionError) as info:
        load_config(write(tmp_path, text))
    message = str(info.value)
    assert message.startswith(str(tmp_path / "run.yaml") + expected)
    assert "\n" not in message


def test_unsafe_tags_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match=r"run\.yaml:1: 'order' must be a single value"):
        load_config(write(tmp_path, "order: !!python/object/apply:os.system ['true']\n"))
    with pytest.raises(OptionError, match=r"run\.yaml:2: 'smooth' has a value plain YAML cannot"):
        load_config(write(tmp_path, "order: 3\nsmooth: !!python/name:os.system\n"))
    config = load_config(write(tmp_path, "smooth: !!binary aGk=\n"))
    with pytest.raises(OptionError, match=r"run\.yaml:1: smooth: --smooth: must be a number"):
        check(config, COUNT, "count")


def test_files_that_are_not_configs(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="no such config file"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "latin1.yaml").write_bytes(b"order: 3 # caf\xe9\n")
    with pytest.raises(OptionError, match="not valid UTF-8"):
        load_config(tmp_path / "latin1.yaml")
    (tmp_path / "huge.yaml").write_bytes(b"#" * (MAX_BYTES + 1))
    with pytest.raises(OptionError, match="larger than"):
        load_config(tmp_path / "huge.yaml")


@settings(deadline=None)  # a first example can pay an import: 0.7 s on a loaded machine
@given(
    order=st.integers(1, 32),
    smooth=st.floats(0, 1e6, allow_nan=False),
    seed=st.integers(0, 2**63 - 1),
    tokenizer=st.sampled_from(["char", "word"]),
)
def test_any_valid_config_round_trips(
    tmp_path_factory: pytest.TempPathFactory, order: int, smooth: float, seed: int, tokenizer: str
) -> None:
    values = {"order": order, "smooth": smooth, "seed": seed, "tokenizer": tokenizer}
    path = tmp_path_factory.mktemp("cfg") / "run.yaml"
    path.write_text(yaml.safe_dump(values))
    assert check(load_config(path), COUNT, "count") == values


def test_general_keys_do_not_collide_with_the_fit_flags() -> None:
    # Every general key is a flag of `ngramkit fit`, so the file and the flags agree.
    from ngramkit.options import RESERVED

    assert set(GENERAL) <= RESERVED


def test_list_options_are_keys_flags_win(tmp_path: Path) -> None:
    from ngramkit.config import fit_settings

    config = write(tmp_path, "column: 2\nweight_column: count\ndelimiter: ';'\nnormalize: nfkc\n")
    s = fit_settings({"config": str(config), "data": ["people.csv"]})
    fmt = s.list_format
    assert fmt is not None and (fmt.item, fmt.weight, fmt.delimiter, fmt.header) == (
        1,  # column 2, counted from 0
        "count",
        ";",
        True,  # a column name implies a header line
    )
    assert s.normalization.form == "NFKC"
    dedup = write(tmp_path, "dedup: true\nheader: false\n", "dedup.yaml")
    assert fit_settings({"config": str(dedup)}).dedup
    assert not fit_settings({"config": str(dedup), "dedup": False}).dedup  # the flag wins


@pytest.mark.parametrize(
    "text, line, expected",
    [
        ("column: 0\n", 1, "--column 0: columns are numbered from 1"),
        ("order: 2\ndelimiter: xx\ncolumn: 1\n", 2, "--delimiter 'xx': give one character"),
        ("weighted: maybe\n", 1, "weighted: --weighted must be true or false, got 'maybe'"),
        ("dedup: 3\n", 1, "dedup: --dedup must be true or false, got 3"),
        ("column: 1.5\n", 1, "column: --column: must be a column number from 1 or a header"),
    ],
)
def test_bad_list_keys_name_their_line(tmp_path: Path, text: str, line: int, expected: str) -> None:
    from ngramkit.config import fit_settings

    with pytest.raises(OptionError) as info:
        fit_settings({"config": str(write(tmp_path, text))})
    assert str(info.value).startswith(f"{tmp_path / 'run.yaml'}:{line}: {expected}")
