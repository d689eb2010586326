"""One exit-status convention (README, "Exit status"): 2 for a command line that
cannot work as given (click's usage errors and OptionError), 1 for data, files,
models and output; every NgramkitError is in the table with the status it gets."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from ngramkit import errors
from ngramkit.backends.count import CountLM
from ngramkit.cli import EXIT_FAILED, EXIT_USAGE, cli, exit_status
from ngramkit.data import train_val_split
from ngramkit.persist import save
from ngramkit.tabular import ListFormat

README = Path(__file__).resolve().parents[1] / "README.md"


def _table() -> dict[int, str]:
    """Exit status -> its README row."""
    rows = re.findall(r"^\| (\d+) \| (.*)$", README.read_text(encoding="utf-8"), re.M)
    return {int(code): row for code, row in rows}


def test_every_error_class_is_in_the_table_with_its_status() -> None:
    table = _table()
    assert set(table) == {0, 1, 2, 141}
    classes = [
        c
        for _, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, errors.NgramkitError) and c is not errors.NgramkitError
    ]
    assert len(classes) >= 12
    for cls in classes:
        error = cls("x", []) if cls is errors.SamplingError else cls("x")
        status = exit_status(error)
        assert f"`{cls.__name__}`" in table[status], (cls.__name__, status)
        others = [row for code, row in table.items() if code != status]
        assert all(f"`{cls.__name__}`" not in row for row in others), cls.__name__


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("exit")
    (d / "names.txt").write_text("emma\nava\n")
    (d / "bad.ngk").write_bytes(b"not a model")
    (d / "run.yaml").write_text("smoth: 1\n")
    model = save(CountLM().fit(["emma", "ava"]), d / "m.ngk")
    return {"dir": str(d), "names": str(d / "names.txt"), "model": str(model)}


CASES = [  # (arguments, status): one of each kind
    (["fit", "{names}", "--no-such-flag"], EXIT_USAGE),  # click: unknown flag
    (["eval", "{model}"], EXIT_USAGE),  # click: missing argument
    (["compare", "{model}", "--on", "{names}", "--bootstrap", "-1"], EXIT_USAGE),  # click range
    (["fit", "{names}", "--order", "0", "-o", "{dir}/o.ngk"], EXIT_USAGE),  # OptionError
    (["fit", "{names}", "--smooth", "lots", "-o", "{dir}/o.ngk"], EXIT_USAGE),
    (["fit", "{names}", "--config", "{dir}/run.yaml", "-o", "{dir}/o.ngk"], EXIT_USAGE),
    (["eval", "{model}", "{names}", "--top", "1", "--bottom", "1"], EXIT_USAGE),
    (["eval", "{model}", "{names}", "--export", "{dir}/r.pdf"], EXIT_USAGE),
    (["fit", "{dir}/missing.txt", "-o", "{dir}/o.ngk"], EXIT_FAILED),  # DataError
    (["show", "{dir}/bad.ngk"], EXIT_FAILED),  # ModelFileError
    (["fit", "{names}", "--backend", "nope", "-o", "{dir}/o.ngk"], EXIT_FAILED),  # BackendError
    (["import", "{names}", "-o", "{dir}/o.ngk"], EXIT_FAILED),  # ArpaError
    (["eval", "{model}", "{names}"], 0),
]


@pytest.mark.parametrize("args, status", CASES, ids=[" ".join(a[:3]) for a, _ in CASES])
def test_each_kind_of_mistake_gets_its_status(files: dict[str, str], args, status) -> None:
    result = CliRunner().invoke(cli, [a.format(**files) for a in args])
    assert result.exit_code == status, result.output
    if status:
        assert "Error:" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(
    "call, python, flag",
    [
        (lambda m: m.sample(1, top_k=0), "top_k must be >= 1", "--top-k"),
        (lambda m: m.sample(1, top_p=2.0), "top_p must be in (0, 1]", "--top-p"),
        (lambda m: CountLM(order=1, smooth="kn").fit(["ab"]), "smooth='kn' needs order", None),
        (lambda m: CountLM(smooth="kn", discount=[2.0]).fit(["ab"]), "discount: kn needs", None),
        (lambda m: CountLM(smooth="wb", tune=True).fit(["ab"]), "tune: wb", None),
        (lambda m: train_val_split([1], 1.0, 0), "val_fraction", None),
        (lambda m: ListFormat.of("0"), "column 0: columns", None),
    ],
)
def test_library_messages_name_python_parameters(call, python: str, flag: str | None) -> None:
    """The library names a parameter as Python spells it; `.cli` is the flag's words."""
    model = CountLM().fit(["emma", "ava"])
    with pytest.raises(errors.OptionError) as info:
        call(model)
    assert str(info.value).startswith(python) and "--" not in str(info.value)
    assert info.value.cli.startswith("--" + (flag or "")[2:])  # the CLI's words


def test_user_text_in_a_message_is_not_rewritten() -> None:
    with pytest.raises(errors.OptionError) as info:
        ListFormat.of(delimiter="<tab>x", column="1")
    assert "'<tab>x'" in str(info.value) and "'<tab>x'" in info.value.cli
