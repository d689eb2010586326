"""YAML configs from strangers: any file ends in a config or one OptionError line.

Hypothesis throws arbitrary text, arbitrary bytes and YAML-shaped text built
from hostile fragments (aliases, tags, nesting, documents, huge numbers,
impossible dates) at load_config + check, for every installed backend's
options. Then the classic attacks, one test each: an alias bomb, deep nesting,
Python object tags, an oversized file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ngramkit import registry
from ngramkit.config import MAX_BYTES, check, load_config
from ngramkit.errors import OptionError

BACKENDS = {
    name: {o.name: o for o in entry.cls.options}
    for name, entry in registry.installed().items()
    if entry.cls is not None
}
FRAGMENTS = [
    "order",
    "smooth",
    "backend",
    "steps",
    "lr",
    "seed",
    "x",
    ": ",
    ":",
    "\n",
    "  ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "!!python/object/apply:os.system ",
    "!!python/name:os.system",
    "!!binary ",
    "!!int ",
    "!!float ",
    "!!timestamp ",
    "!custom ",
    "? ",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "%TAG ! tag:x,2000:\n",
    "|\n",
    ">\n",
    '"',
    "'",
    "#",
    "\t",
    "\x00",
    "\ufeff",
    "\U0001f600",
    "3",
    "-1",
    "0x1F",
    "0o17",
    "1e999",
    ".nan",
    ".inf",
    "9" * 5000,
    "2024-13-45",
    "2001-12-14t21:59:43.10-05:00",
    "true",
    "null",
    "~",
    "<<: ",
    "auto",
]
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def outcome(path: Path) -> str:
    """'ok' or 'refused'; anything but OptionError (or a second line) fails the test."""
    try:
        config = load_config(path)
        for backend, options in BACKENDS.items():
            try:
                check(config, options, backend)
            except OptionError as e:
                assert "\n" not in str(e), repr(str(e))
        result = "ok"
    except OptionError as e:
        assert "\n" not in str(e), repr(str(e))
        result = "refused"
    return result


@FUZZ
@given(text=st.text(max_size=300))
def test_any_text_is_a_config_or_one_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    outcome(path)


@FUZZ
@given(data=st.binary(max_size=300))
def test_any_bytes_are_a_config_or_one_line(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "run.yaml"
    path.write_bytes(data)
    outcome(path)


@FUZZ
@given(parts=st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_hostile_yaml_fragments(tmp_path: Path, parts: list[str]) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("".join(parts), encoding="utf-8", errors="surrogatepass")
    outcome(path)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    """Billion laughs: 9 levels of 9 aliases would compose to 9^9 = 387M scalars."""
    lines = ['a0: &a0 ["lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(OptionError, match=r"run\.yaml:2: YAML aliases are not allowed"):
        load_config(path)


@pytest.mark.parametrize("depth", [9, 100_000])
def test_deep_nesting_is_refused(tmp_path: Path, depth: int) -> None:
    path = write(tmp_path, "order: " + "[" * depth + "]" * depth + "\n")
    with pytest.raises(OptionError, match="nested deeper than 8 levels"):
        load_config(path)


@pytest.mark.parametrize(
    "text",
    [
        "order: !!python/object/apply:os.system ['echo pwned']\n",
        "order: !!python/name:os.system\n",
        "!!python/object/new:os.system [echo]\n",
        "order: " + "9" * 5000 + "\n",
        "seed: 2024-13-45\n",
        "order: !!int 2024-13-45\n",
    ],
    ids=["apply", "name", "top-level", "5000-digits", "bad-date", "tagged-date"],
)
def test_values_yaml_cannot_hold_safely_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(OptionError) as e:
        load_config(write(tmp_path, text))
    assert "\n" not in str(e.value)


def test_a_key_with_a_newline_is_reported_on_one_line(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '"sm\\nooth": 1\n'))
    with pytest.raises(OptionError, match=r"unknown key 'sm\\nooth'") as e:
        check(config, BACKENDS["count"], "count")
    assert "\n" not in str(e.value)


def test_an_oversized_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * MAX_BYTES + b"\n")
    with pytest.raises(OptionError, match="larger than"):
        load_config(path)
