"""`ngramkit fit` options built from backend declarations, configs, and model files.

A fake plugin (`PluginLM`, a count model with extra declared options and a
default order of 3) is put in the registry with monkeypatch; nothing is
installed. Every user mistake must be one line and exit 1.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ngramkit import registry
from ngramkit.backends.count import CountLM
from ngramkit.cli import cli
from ngramkit.cli import fit as fit_cli
from ngramkit.container import seal
from ngramkit.errors import OptionError
from ngramkit.options import Option
from ngramkit.persist import MAGIC, read_header

NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "ella", "luna", "zoe"]


class PluginLM(CountLM):
    name = "plug"
    description = "a count model with a plugin's options"
    options = (
        Option("order", int, 3, "n-gram order", min=1, max=8),
        *(o for o in CountLM.options if o.name != "order"),
        Option("lr", float, 0.1, "learning rate (unused here)", min=0, min_exclusive=True),
        Option("warm_start", bool, False, "a boolean flag"),
        Option("mode", str, "fast", "how to run", choices=("fast", "slow")),
    )

    def __init__(self, **hparams: object) -> None:
        super().__init__(**hparams)
        if self.hparams["lr"] > 1 and self.hparams["mode"] == "fast":  # a check across options
            raise OptionError("--lr above 1 needs --mode slow")


@pytest.fixture(autouse=True)
def fake_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    entries = {
        "count": registry.BackendEntry(
            "count", "ngramkit.backends.count:CountLM", "ngramkit", "0.1.0", CountLM
        ),
        "plug": registry.BackendEntry("plug", "ngk_plug:PluginLM", "ngk-plug", "2.0", PluginLM),
        "gone": registry.BackendEntry("gone", "ngk_gone:X", "ngk-gone", "1.0", None, "boom"),
    }
    monkeypatch.setattr(registry, "installed", lambda: entries)
    fit_cli.backend_options.cache_clear()
    yield
    fit_cli.backend_options.cache_clear()


@pytest.fixture
def names(tmp_path: Path) -> Path:
    path = tmp_path / "names.txt"
    path.write_text("\n".join(NAMES) + "\n")
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def fit(names: Path, *args: str) -> tuple[Result, dict]:
    out = names.parent / "model.ngk"
    result = run("fit", str(names), "-o", str(out), "--samples", "0", *args)
    header = read_header(out)[0] if result.exit_code == 0 else {}
    return result, header


def one_line_error(result: Result, expected: str, code: int = 2) -> None:
    """One line, and exit status 2 for a command line refused (1: data, files, backends)."""
    assert result.exit_code == code, result.output
    assert result.stderr == f"Error: {expected}\n"


def test_help_groups_every_backends_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    text = run("fit", "--help").output
    count_part = text.split("Options of backend 'count'")[1].split("Options of backend")[0]
    plug_part = text.split("Options of backend 'plug'")[1]
    assert "--smooth K|abs|kn|mkn|wb|auto" in count_part and "add-k" in count_part
    for flag in ("--lr FLOAT", "--warm-start", "--mode STR", "--smooth K|abs|kn|mkn|wb|auto"):
        assert flag in plug_part
    assert "learning rate (unused here) [default: 0.1; > 0]" in plug_part
    assert "how to run [default: fast; fast|slow]" in plug_part
    assert "n-gram order [default: 3; between 1 and 8]" in plug_part  # its own default order
    assert "--order" not in count_part  # count's order is the usual one
    assert "--order N" in text.split("Options of backend")[0]


def test_plugin_options_reach_the_model_and_its_file(names: Path) -> None:
    result, header = fit(
        names, "--backend", "plug", "--lr", "0.5", "--warm-start", "--mode", "slow"
    )
    assert result.exit_code == 0, result.output
    assert header["backend"] == "plug"
    assert header["provider"] == {"distribution": "ngk-plug", "version": "2.0"}
    hparams = header["config"]["hparams"]
    plugin_own = {k: hparams[k] for k in ("order", "smooth", "lr", "warm_start", "mode")}
    assert plugin_own == {"order": 3, "smooth": 1.0, "lr": 0.5, "warm_start": True, "mode": "slow"}
    assert set(hparams) == {o.name for o in PluginLM.options}


def test_without_order_the_backend_default_applies(names: Path) -> None:
    assert fit(names, "--backend", "plug")[1]["config"]["hparams"]["order"] == 3
    assert fit(names, "--backend", "plug", "--order", "2")[1]["config"]["hparams"]["order"] == 2
    count_hparams = fit(names)[1]["config"]["hparams"]
    assert (count_hparams["order"], count_hparams["smooth"]) == (2, 1.0)


def test_another_backends_option_is_refused(names: Path) -> None:
    result, _ = fit(names, "--backend", "count", "--lr", "0.5")
    one_line_error(
        result,
        "--lr is an option of backend plug, not of 'count' (it takes --order, --smooth, "
        "--discount, --tune, --folds, --dev-fraction, --unk)",
    )


def test_an_unknown_flag_is_a_usage_error(names: Path) -> None:
    result, _ = fit(names, "--no-such-thing", "1")
    assert result.exit_code == 2
    assert "Error: No such option '--no-such-thing'." in result.stderr


@pytest.mark.parametrize(
    "args, expected",
    [  # OptionError: exit 2; the backends installed (BackendError): exit 1
        (("--smooth", "-1"), "--smooth: add-k needs a finite number >= 0, got '-1'"),
        (("--smooth", "lots"), "--smooth: must be a number >= 0 (add-k) or one of abs, kn, mkn"),
        (("--smooth", "inf"), "--smooth: add-k needs a finite number >= 0, got 'inf'"),
        (
            ("--smooth", "1e308"),
            "--smooth: add-k needs a number up to 1e300 (beyond it k * V overflows)",
        ),
        (("--backend", "plug", "--lr", "0"), "--lr must be > 0, got 0"),
        (("--backend", "plug", "--order", "9"), "--order must be between 1 and 8, got 9"),
        (("--backend", "plug", "--mode", "warp"), "--mode must be one of fast, slow, got 'warp'"),
        (("--order", "0"), "--order must be between 1 and 32, got 0"),
        (("--backend", "nope"), "unknown backend 'nope' (installed: count, plug; see "),
        (("--backend", "gone"), "backend 'gone' from ngk-gone 1.0 is broken: boom"),
    ],
)
def test_a_bad_value_is_one_line(names: Path, args: tuple[str, ...], expected: str) -> None:
    result, _ = fit(names, *args)
    assert result.exit_code == (1 if "backend '" in expected else 2)
    assert result.stderr.startswith(f"Error: {expected}")
    assert result.stderr.count("\n") == 1


def test_a_config_file_with_flags_overriding_it(names: Path) -> None:
    config = names.parent / "run.yaml"
    config.write_text(f"data: {names}\nbackend: plug\norder: 4\nlr: 0.25\nmode: slow\n")
    result, header = fit(names, "--config", str(config), "--order", "2")
    assert result.exit_code == 0, result.output
    hparams = header["config"]["hparams"]
    assert (hparams["order"], hparams["lr"], hparams["mode"]) == (2, 0.25, "slow")
    result, header = fit(names, "--config", str(config), "--lr", "0.75")
    assert (header["config"]["hparams"]["order"], header["config"]["hparams"]["lr"]) == (4, 0.75)


def test_a_config_key_of_another_backend_names_key_and_line(names: Path) -> None:
    config = names.parent / "run.yaml"
    config.write_text("backend: count\norder: 3\nlr: 0.1\n")
    result, _ = fit(names, "--config", str(config))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {config}:3: unknown key 'lr' for backend 'count'")


def test_a_config_value_of_the_wrong_type_names_key_and_line(names: Path) -> None:
    config = names.parent / "run.yaml"
    config.write_text("backend: plug\n\nlr: fast\n")
    result, _ = fit(names, "--config", str(config))
    one_line_error(result, f"{config}:3: lr: --lr must be a number, got 'fast'")


def rewrite_backend(path: Path, backend: str, distribution: str) -> None:
    """Point a model file's header at another backend (the payload checksum still holds)."""
    header, payload = read_header(path)
    header["backend"] = backend
    header["provider"] = {"distribution": distribution, "version": "9.9"}
    head = json.dumps(seal(header)).encode("utf-8")
    path.write_bytes(MAGIC + struct.pack("<Q", len(head)) + head + payload)


def test_a_model_whose_backend_is_not_installed_names_backend_and_distribution(
    names: Path,
) -> None:
    result, _ = fit(names)
    assert result.exit_code == 0
    model = names.parent / "model.ngk"
    rewrite_backend(model, "ghost", "ngramkit-ghost")
    one_line_error(
        run("sample", str(model)),
        f"{model}: needs backend 'ghost', which is not installed "
        "(it comes from the distribution 'ngramkit-ghost': pip install ngramkit-ghost)",
        code=1,
    )


def test_a_model_whose_backend_is_broken_says_so(names: Path) -> None:
    fit(names)
    model = names.parent / "model.ngk"
    rewrite_backend(model, "gone", "ngk-gone")
    one_line_error(
        run("sample", str(model)),
        f"{model}: backend 'gone' from ngk-gone 1.0 is broken: boom",
        code=1,
    )


def test_a_config_order_beyond_the_backends_own_range_names_the_line(names: Path) -> None:
    config = names.parent / "run.yaml"
    config.write_text("backend: plug\norder: 9\n")
    result, _ = fit(names, "--config", str(config))
    one_line_error(result, f"{config}:2: order: --order must be between 1 and 8, got 9")


class BusyLM(CountLM):
    name = "busy"
    description = "a count model declaring an option named like a fit flag"
    options = (*CountLM.options, Option("workers", int, 1, "threads of its own", min=1))


def test_an_option_named_like_a_fit_flag_fails_the_kit_and_is_refused_by_fit(
    names: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ngramkit.testing import CHECKS, Backend, ConformanceError

    check_options_declared = next(c for c in CHECKS if c.name == "check_options_declared")

    clash = "backend 'busy' declares option 'workers', which clashes with `ngramkit fit --workers`"
    entries = {
        **registry.installed(),
        "busy": registry.BackendEntry("busy", "b:B", "b", "1", BusyLM),
    }
    with pytest.raises(ConformanceError, match=clash):
        check_options_declared(Backend("busy", BusyLM, {}, entries))
    monkeypatch.setattr(registry, "installed", lambda: entries)
    fit_cli.backend_options.cache_clear()
    assert run("fit", "--help").output.count("--workers N") == 1  # fit's own flag, once
    result, _ = fit(names, "--backend", "busy")
    one_line_error(result, f"{clash}; rename the option")
    result, _ = fit(names, "--backend", "busy", "--workers", "2")  # not silently taken either
    one_line_error(result, f"{clash}; rename the option")


def test_help_spells_bool_options_as_flag_pairs_and_narrows_to_one_backend() -> None:
    both = run("fit", "--help").output
    assert "Options of backend 'count'" in both and "Options of backend 'plug'" in both
    assert "--tune/--no-tune" in both and "--warm-start/--no-warm-start" in both
    for asked in (["--backend", "count"], ["--backend=count"]):
        one = run("fit", *asked, "--help").output
        assert "Options of backend 'count'" in one and "--tune/--no-tune" in one
        assert "Options of backend 'plug'" not in one and "--warm-start" not in one
    assert "Options of backend 'plug'" in run("fit", "--backend", "nope", "--help").output


def test_a_check_across_options_in_a_backend_init_names_the_config_line(
    names: Path, tmp_path: Path
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("backend: plug\nmode: fast\nlr: 2\n")
    result, _ = fit(names, "--config", str(config))
    one_line_error(result, f"{config}:3: --lr above 1 needs --mode slow")
    result, _ = fit(names, "--backend", "plug", "--lr", "2")  # from flags: no file to name
    one_line_error(result, "--lr above 1 needs --mode slow")


def test_several_lists_fit_at_the_backends_own_default_order(names: Path, tmp_path: Path) -> None:
    more = tmp_path / "more.txt"
    more.write_text("noah\nliam\n")
    result, header = fit(names, str(more), "--backend", "plug")  # plug declares order 3
    assert result.exit_code == 0, result.output
    assert header["config"]["hparams"]["order"] == 3


def test_several_lists_for_a_backend_without_fit_counts_are_read_as_one(
    names: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ngramkit.backends.neural import NeuralLM

    entries = {**registry.installed()}
    entries["neural"] = registry.BackendEntry("neural", "n:N", "ngramkit", "0.1.0", NeuralLM)
    monkeypatch.setattr(registry, "installed", lambda: entries)
    fit_cli.backend_options.cache_clear()
    more = tmp_path / "more.txt"
    more.write_text("noah\nliam\n")
    result, header = fit(names, str(more), "--backend", "neural", "--steps", "3")
    assert result.exit_code == 0, result.output
    assert header["data"]["items"] == len(NAMES) + 2
    assert header["data"]["source"] == f"{names} + {more}"
    result, _ = fit(names, str(more), "--backend", "neural", "--steps", "3", "--workers", "2")
    one_line_error(
        result,
        "backend 'neural' cannot be fitted from count tables, which --workers, --shards, "
        "--dask and --from-counts make (the count backend can); fit it without them",
    )
