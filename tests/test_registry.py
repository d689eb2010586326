"""Backend discovery, tested with fake distributions as pluggy does: nothing installed.

`FakeDist` is an importlib.metadata.Distribution whose METADATA and
entry_points.txt are strings, so its entry points carry a real `.dist`. The
plugin modules they point at are written to a temporary folder on sys.path.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from ngramkit import registry
from ngramkit.backends.count import CountLM
from ngramkit.cli import cli
from ngramkit.errors import BackendError

PLUGINS = {
    "ngk_fake_good": """
        from ngramkit.backends.count import CountLM

        class GoodLM(CountLM):
            name = "good"
            description = "a count model under another name\\nsecond line is not shown"

        class OtherLM(CountLM):
            name = "good"

        NOT_A_MODEL = 42
    """,
    "ngk_fake_mistakes": """
        from ngramkit.backends.count import CountLM
        from ngramkit.options import Option

        BASE = CountLM.options
        NO_ORDER = tuple(o for o in BASE if o.name != "order")

        def model(name, *options, base=BASE):
            fields = {"name": name, "options": (*base, *options)}
            return type(name.title() + "LM", (CountLM,), fields)

        StrType = model("strtype", Option("alpha", "float", 0.5, "a type given as a string"))
        Dashed = model("dashed", Option("Ex-clusion", bool, True, "not an identifier"))
        BadDefault = model("baddefault", Option("alpha", float, -1.0, "below its min", min=0))
        MinMax = model("minmax", Option("alpha", float, 0.5, "min above max", min=1, max=0))
        FloatOrder = model("floatorder", Option("order", float, 2.0, "order"), base=NO_ORDER)
        BoolDefault = model("booldefault", Option("exclusion", bool, "yes", "not a bool"))
        Twice = model("twice", Option("alpha", float, 0.5, "a"), Option("alpha", float, 0.5, "b"))
        NotAnOption = model("notanoption", ("alpha", float, 0.5))
        Misnamed = model("ppm")
    """,
    "ngk_fake_probs": """
        from ngramkit.backends.count import CountLM

        class ProbsLM(CountLM):
            \"\"\"Returns p where log p is due: every score is above 0.\"\"\"

            name = "probs"

            def next_logprobs(self, contexts):
                return super().next_logprobs(contexts).exp()

            def token_logprobs(self, contexts, targets):
                return super().token_logprobs(contexts, targets).exp()

            def corpus_logprobs(self, corpus):
                return super().corpus_logprobs(corpus).exp()

            def fit_metrics(self):
                return None
    """,
    "ngk_suite": """
        from ngramkit.backends.count import CountLM

        class MyCountLM(CountLM):
            name = "count"  # ngramkit's own name: shadowed, the kit would test the built-in

        class ReservedLM(CountLM):
            name = "reserved"

            def state(self):
                config, tensors = super().state()
                return config, {**tensors, "__cache__": next(iter(tensors.values()))}

            @classmethod
            def from_state(cls, config, tensors):
                rest = {k: v for k, v in tensors.items() if k != "__cache__"}
                return super().from_state(config, rest)

        class DenseLM(CountLM):
            name = "dense"

            def _fit(self, corpus, progress):
                import torch

                V = len(self.require_fitted())
                self.table_ = torch.zeros(V**self.order)  # no guard: V^order cells
                super()._fit(corpus, progress)
    """,
    "ngk_suite_heavy": """
        import torch  # at the top: every `ngramkit backends` pays for it

        from ngramkit.backends.count import CountLM

        class HeavyLM(CountLM):
            name = "heavy"
    """,
    "ngk_fake_abstract": """
        from ngramkit import LanguageModel

        class HalfDone(LanguageModel):
            name = "half"
    """,
    "ngk_fake_missing_dep": """
        import ngk_no_such_dependency_anywhere
    """,
    "ngk_fake_exits": """
        import sys
        sys.exit("plugin gave up")
    """,
    "ngk_fake_syntax": """
        def broken(:
    """,
}


def docs_blocks(*starts: str) -> str:
    """The python blocks of docs/plugins.md that begin with `starts`, joined: run as written."""
    text = (Path(__file__).parents[1] / "docs" / "plugins.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    return "\n\n".join(next(b for b in blocks if b.startswith(s)) for s in starts)


# section 1's MineLM, then section 5's hooks added to it
PLUGINS["ngk_docs_mine"] = docs_blocks(
    "from ngramkit import LanguageModel", "from ngramkit import N"
)


class FakeDist(md.Distribution):
    """A distribution that exists only in memory: name, version, entry points."""

    def __init__(self, name: str, entry_points: dict[str, str], version: str = "1.0") -> None:
        self._name, self._eps, self._version = name, entry_points, version

    def read_text(self, filename: str) -> str | None:
        if filename == "METADATA":
            return f"Metadata-Version: 2.1\nName: {self._name}\nVersion: {self._version}\n"
        if filename == "entry_points.txt":
            lines = "".join(f"{k} = {v}\n" for k, v in self._eps.items())
            return f"[{registry.GROUP}]\n{lines}"
        return None

    def locate_file(self, path: str | Path) -> Path:
        return Path(path)


def eps(*dists: FakeDist) -> list[md.EntryPoint]:
    return [ep for d in dists for ep in d.entry_points.select(group=registry.GROUP)]


HOME = FakeDist("ngramkit", {"count": "ngramkit.backends.count:CountLM"}, "0.1.0")


@pytest.fixture(scope="module", autouse=True)
def plugin_modules(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    folder = tmp_path_factory.mktemp("plugins")
    for module, source in PLUGINS.items():
        (folder / f"{module}.py").write_text(textwrap.dedent(source))
    sys.path.insert(0, str(folder))
    yield
    sys.path.remove(str(folder))
    for module in PLUGINS:
        sys.modules.pop(module, None)


@pytest.fixture
def fresh_options() -> Iterator[None]:
    """`fit`'s options are read from the installed backends once per process: re-read."""
    from ngramkit import config

    config.backend_options.cache_clear()
    yield
    config.backend_options.cache_clear()


def test_a_working_plugin_is_loaded_with_its_distribution() -> None:
    found = registry.discover(eps(HOME, FakeDist("ngk-good", {"good": "ngk_fake_good:GoodLM"})))
    assert list(found) == ["count", "good"]
    good = found["good"]
    assert good.ok and good.cls.__name__ == "GoodLM"
    assert (good.distribution, good.version, good.class_path) == (
        "ngk-good",
        "1.0",
        "ngk_fake_good.GoodLM",
    )
    assert good.description == "a count model under another name"
    assert found["count"].cls is CountLM


@pytest.mark.parametrize(
    "value, error",
    [
        ("ngk_fake_missing_dep:X", "import failed: ModuleNotFoundError: No module named"),
        ("ngk_fake_exits:X", "import failed: SystemExit: plugin gave up"),
        ("ngk_fake_syntax:X", "import failed: SyntaxError"),
        ("ngk_fake_good:NoSuchClass", "import failed: AttributeError"),
        ("ngk_fake_good:NOT_A_MODEL", "ngk_fake_good:NOT_A_MODEL is not a LanguageModel subclass"),
        ("ngramkit.options:Option", "is not a LanguageModel subclass"),
        ("ngk_fake_abstract:HalfDone", "is abstract: it does not implement _fit, from_state"),
    ],
)
def test_a_broken_plugin_is_kept_with_its_error_and_breaks_nothing(value: str, error: str) -> None:
    broken = FakeDist("ngk-broken", {"bad": value}, "2.0")
    found = registry.discover(eps(HOME, broken))
    assert found["count"].ok  # the others still work
    bad = found["bad"]
    assert not bad.ok and bad.status == "broken"
    assert error in (bad.error or "")
    assert "\n" not in (bad.error or "")
    with pytest.raises(BackendError, match=r"backend 'bad' from ngk-broken 2.0 is broken"):
        registry.get("bad", found)


MISTAKES = {  # entry-point name -> (class, what the error must say)
    "strtype": ("StrType", "option 'alpha' has type 'float'; declare one of int, float"),
    "dashed": ("Dashed", "option name 'Ex-clusion' is not a Python identifier"),
    "baddefault": ("BadDefault", "its default fails its own declaration (--alpha must be >= 0"),
    "minmax": ("MinMax", "option 'alpha' has min 1 above max 0"),
    "floatorder": ("FloatOrder", "option 'order' is declared float; it must be int"),
    "booldefault": ("BoolDefault", "declared bool but its default 'yes' is a str"),
    "twice": ("Twice", "option 'alpha' is declared twice"),
    "notanoption": ("NotAnOption", "which is not an ngramkit Option"),
    "pmm": ("Misnamed", "sets name = 'ppm' but its entry point is named 'pmm'; make the two"),
}
MISTAKEN = FakeDist(
    "ngk-mistakes", {n: f"ngk_fake_mistakes:{cls}" for n, (cls, _) in MISTAKES.items()}, "0.3"
)


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_a_declaration_mistake_marks_only_that_backend_broken(name: str) -> None:
    found = registry.discover(eps(HOME, MISTAKEN))
    assert found["count"].ok
    entry = found[name]
    assert not entry.ok and MISTAKES[name][1] in (entry.error or ""), entry.error
    assert entry.error.startswith(f"ngk_fake_mistakes:{MISTAKES[name][0]}: ")  # names the class
    assert "\n" not in entry.error
    with pytest.raises(BackendError, match=f"backend '{name}' from ngk-mistakes 0.3 is broken"):
        registry.get(name, found)


@pytest.mark.usefixtures("fresh_options")
def test_the_cli_works_for_every_other_backend_beside_declaration_mistakes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    found = registry.discover(eps(HOME, MISTAKEN))
    monkeypatch.setattr(registry, "installed", lambda: found)
    words = tmp_path / "w.txt"
    words.write_text("emma\nava\nolivia\n")
    model = tmp_path / "m.ngk"
    runner = CliRunner()
    helped = runner.invoke(cli, ["fit", "--help"])
    fitted = runner.invoke(cli, ["fit", str(words), "--smooth", "1", "-o", str(model)])
    listed = runner.invoke(cli, ["backends", "--json"])
    scored = runner.invoke(cli, ["eval", str(model), str(words), "--format", "json"])
    assert helped.exit_code == 0 and "--smooth" in helped.stdout, helped.output
    assert fitted.exit_code == 0 and model.exists(), fitted.output
    assert scored.exit_code == 0 and json.loads(scored.stdout)["summary"]["items"] == 3
    rows = {b["name"]: b for b in json.loads(listed.stdout)["backends"]}
    for name, (_, error) in MISTAKES.items():
        assert rows[name]["status"] == "broken" and error in rows[name]["error"]


def test_get_names_the_installed_backends_for_an_unknown_name() -> None:
    found = registry.discover(eps(HOME))
    assert registry.get("count", found) is CountLM
    with pytest.raises(BackendError, match=r"unknown backend 'nope' \(installed: count;"):
        registry.get("nope", found)


def test_ngramkit_own_backend_wins_a_name_clash_whatever_the_order() -> None:
    rival = FakeDist("aaa-first-alphabetically", {"count": "ngk_fake_good:GoodLM"})
    for order in ([HOME, rival], [rival, HOME]):
        found = registry.discover(eps(*order))
        assert found["count"].cls is CountLM
        assert [s.distribution for s in found["count"].shadows] == ["aaa-first-alphabetically"]
        warning = found["count"].conflict() or ""
        assert "backend 'count' is provided by ngramkit 0.1.0 and by aaa-first-alphabetically" in (
            warning
        )
        assert registry.RULE in warning


def test_between_plugins_the_distribution_sorting_first_wins_and_all_losers_are_kept() -> None:
    dists = [
        FakeDist("zeta-lm", {"good": "ngk_fake_good:OtherLM"}),
        FakeDist("Beta-lm", {"good": "ngk_fake_good:OtherLM"}),
        FakeDist("alpha-lm", {"good": "ngk_fake_good:GoodLM"}),
    ]
    good = registry.discover(eps(*dists))["good"]
    assert good.distribution == "alpha-lm" and good.cls.__name__ == "GoodLM"
    assert [s.distribution for s in good.shadows] == ["Beta-lm", "zeta-lm"]


@given(st.permutations(["zeta", "mid", "ngramkit", "alpha", "Beta"]))
def test_the_winner_does_not_depend_on_discovery_order(names: list[str]) -> None:
    dists = [FakeDist(n, {"x": "ngramkit.backends.count:CountLM"}) for n in names]
    x = registry.discover(eps(*dists))["x"]
    assert x.distribution == "ngramkit"
    assert [s.distribution for s in x.shadows] == ["alpha", "Beta", "mid", "zeta"]


def test_the_same_distribution_seen_twice_is_not_a_clash() -> None:
    found = registry.discover(eps(HOME, HOME))
    assert found["count"].shadows == [] and found["count"].conflict() is None


def test_provider_of_the_count_backend_is_ngramkit() -> None:
    assert registry.provider(CountLM)[0] == "ngramkit"


# -- `ngramkit backends` -----------------------------------------------------------


@pytest.fixture
def fake_installed(monkeypatch: pytest.MonkeyPatch) -> dict[str, registry.BackendEntry]:
    found = registry.discover(
        eps(
            HOME,
            FakeDist("ngk-good", {"good": "ngk_fake_good:GoodLM"}, "3.1"),
            FakeDist("ngk-broken", {"bad": "ngk_fake_missing_dep:X"}),
            FakeDist("ngk-rival", {"count": "ngk_fake_good:GoodLM"}),
        )
    )
    monkeypatch.setattr(registry, "installed", lambda: found)
    return found


def test_backends_table_lists_every_backend_with_its_status(
    fake_installed: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # Rich's width when not on a terminal
    result = CliRunner().invoke(cli, ["backends"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("count", "ngramkit.backends.count.CountLM", "ngk-good", "3.1", "good"):
        assert text in out
    assert "broken: import failed: ModuleNotFoundError" in out
    assert "shadowed by ngramkit" in out
    assert "warning: backend 'count' is provided by ngramkit 0.1.0 and by ngk-rival 1.0" in (
        result.stderr
    )


def test_backends_json_is_one_object_on_stdout(fake_installed: object) -> None:
    result = CliRunner().invoke(cli, ["backends", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    rows = {b["name"]: b for b in data["backends"]}
    assert list(rows) == ["bad", "count", "good"]
    assert rows["good"] == {
        "name": "good",
        "class": "ngk_fake_good.GoodLM",
        "distribution": "ngk-good",
        "version": "3.1",
        "description": "a count model under another name",
        "status": "ok",
        "error": None,
        "shadows": [],
    }
    assert rows["bad"]["status"] == "broken" and "ModuleNotFoundError" in rows["bad"]["error"]
    assert rows["count"]["shadows"] == [
        {"class": "ngk_fake_good.GoodLM", "distribution": "ngk-rival", "version": "1.0"}
    ]


def test_backends_lists_the_real_installation_without_importing_torch() -> None:
    probe = (
        "import sys, json; from ngramkit.cli import cli\n"
        "cli(['backends', '--json'], standalone_mode=False)\n"
        "print('torch' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    names = {b["name"] for b in json.loads(done.stdout)["backends"]}
    assert "count" in names
    assert done.stderr.strip() == "False"


# -- a backend returning probabilities, caught by the CLI ----------------------------


@pytest.mark.usefixtures("fresh_options")
def test_a_backend_returning_probabilities_is_one_clear_line_in_every_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ngramkit.persist import save

    found = registry.discover(eps(HOME, FakeDist("ngk-probs", {"probs": "ngk_fake_probs:ProbsLM"})))
    monkeypatch.setattr(registry, "installed", lambda: found)
    words = tmp_path / "w.txt"
    words.write_text("emma\nava\nolivia\nsophia\nmia\n")
    model = tmp_path / "probs.ngk"
    runner = CliRunner()
    fitted = runner.invoke(cli, ["fit", str(words), "--backend", "probs", "-o", str(model)])
    assert not model.exists()  # caught before the file is written
    probs = found["probs"].cls
    save(probs(order=2, smooth=1).fit(["emma", "ava", "olivia"]), model)
    count = tmp_path / "count.ngk"
    assert runner.invoke(cli, ["fit", str(words), "-o", str(count)]).exit_code == 0
    results = {
        "fit": fitted,
        "eval": runner.invoke(cli, ["eval", str(model), str(words)]),
        "eval tsv": runner.invoke(cli, ["eval", str(model), str(words), "--format", "tsv"]),
        "score": runner.invoke(cli, ["score", str(model), "emma"]),
        "compare": runner.invoke(cli, ["compare", str(count), str(model), "--on", str(words)]),
    }
    for command, result in results.items():
        assert result.exit_code == 1, (command, result.output)
        assert isinstance(result.exception, SystemExit), (command, result.exception)
        line = result.stderr.strip().splitlines()[-1]
        assert line.startswith("Error: backend 'probs' from ngk-probs 1.0 gives log-probabil")
        for part in ("perplexity", "< 1", "natural-log probabilities", "logsumexp 0", "fix"):
            assert part in line, (command, line)


def test_check_logprobs_passes_true_totals_and_rounding_but_not_probabilities() -> None:
    from ngramkit.registry import check_logprobs
    from ngramkit.results import LOGPROB_SLACK, Metrics

    good = CountLM(order=2, smooth=1).fit(["ab", "ba"])
    check_logprobs(
        type(good), [("train", Metrics(10, -3.0)), ("val", None), ("none", Metrics(0, 0))]
    )
    check_logprobs(CountLM, [("rounding", Metrics(10, 10 * LOGPROB_SLACK))])  # at the slack
    with pytest.raises(BackendError, match=r"backend 'count' from ngramkit .* on val\)"):
        check_logprobs(CountLM, [("train", Metrics(10, -3.0)), ("val", Metrics(4, 0.01))])


# -- the hooks of docs/plugins.md, as written there --------------------------------


@pytest.mark.usefixtures("fresh_options")
def test_the_documented_hooks_fit_from_counts_and_draw_the_lecture_matrix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, names: list[str]
) -> None:
    from ngramkit.counting import InProcess, count_files
    from ngramkit.fitting import fit_counted
    from ngramkit.persist import load

    mine = FakeDist("ngramkit-mine", {"mine": "ngk_docs_mine:MineLM"}, "0.1.0")
    found = registry.discover(eps(HOME, mine))
    monkeypatch.setattr(registry, "installed", lambda: found)
    assert found["mine"].ok, found["mine"].error
    hooked = found["mine"].cls
    plain = hooked.__mro__[1]  # section 1's MineLM
    assert plain.__module__ == "ngk_docs_mine" and plain.__name__ == "MineLM"
    assert plain is not hooked and issubclass(hooked, plain)
    want = plain(order=3, smooth=0.5).fit(names).logp_
    assert torch_equal(hooked(order=3, smooth=0.5).fit(names).logp_, want)
    halves = [tmp_path / "a.txt", tmp_path / "b.txt"]
    halves[0].write_text("\n".join(names[:16000]) + "\n")
    halves[1].write_text("\n".join(names[16000:]) + "\n")
    table = count_files([str(p) for p in halves], 3, InProcess()).table
    counted = fit_counted(hooked, table, {"smooth": 0.5})
    assert counted.training is None and torch_equal(counted.logp_, want)
    model = tmp_path / "mine.ngk"
    runner = CliRunner()
    args = [*map(str, halves), "--backend", "mine", "--order", "3", "--smooth", "0.5"]
    fitted = runner.invoke(cli, ["fit", *args, "-o", str(model)])  # counted as one table
    assert fitted.exit_code == 0, fitted.output
    assert "from counts" in fitted.stdout and "a.txt, " in fitted.stdout
    bigram = tmp_path / "bigram.ngk"
    args = [str(halves[0]), "--backend", "mine", "--order", "2", "--val-fraction", "0"]
    assert runner.invoke(cli, ["fit", *args, "-o", str(bigram)]).exit_code == 0  # every item
    shown = runner.invoke(cli, ["show", str(bigram), "--json"])
    matrix = json.loads(shown.stdout)["matrix"]
    assert matrix["kind"] == "count"  # the lecture's counts, kept through the model file
    expected = [[0] * 27 for _ in range(27)]
    for name in names[:16000]:
        ids = [0, *(ord(c) - 96 for c in name), 0]
        for a, b in zip(ids, ids[1:]):
            expected[a][b] += 1
    assert matrix["values"] == expected
    assert torch_equal(load(model).model.logp_, want)


def torch_equal(a: object, b: object) -> bool:
    import torch

    return bool(torch.equal(a, b))  # type: ignore[arg-type]


# -- the broken-plugin suite: one plugin per mistake of issue 13 -----------------

SUITE = {  # name -> (entry point, how `backends` lists it, the kit's finding: check, text)
    "nodep": ("ngk_fake_missing_dep:X", "import failed: ModuleNotFoundError", "check_registered"),
    "strtype": ("ngk_fake_mistakes:StrType", "option 'alpha' has type 'float'", "check_registered"),
    "pmm": ("ngk_fake_mistakes:Misnamed", "but its entry point is named 'pmm'", "check_registered"),
    "half": (
        "ngk_fake_abstract:HalfDone",
        "is abstract: it does not implement",
        "check_registered",
    ),
    "count": ("ngk_suite:MyCountLM", "shadowed by ngramkit", "check_registered"),
    "heavy": ("ngk_suite_heavy:HeavyLM", "ok", "check_import_is_light"),
    "reserved": ("ngk_suite:ReservedLM", "ok", "check_state_round_trip"),
    "dense": ("ngk_suite:DenseLM", "ok", "check_high_order"),
    "probs": ("ngk_fake_probs:ProbsLM", "ok", "check_fit_tiny"),
}
FINDINGS = {  # what the kit says, in one line
    "nodep": "import failed: ModuleNotFoundError: No module named 'ngk_no_such_dependency",
    "strtype": "is broken: ngk_fake_mistakes:StrType: option 'alpha' has type 'float'",
    "pmm": "sets name = 'ppm' but its entry point is named 'pmm'",
    "half": "is abstract: it does not implement _fit, from_state",
    "count": "the name 'count' is claimed twice: ngramkit.backends.count.CountLM from ngramkit",
    "heavy": "importing ngk_suite_heavy imports torch",
    "reserved": "'__cache__': names of the form __name__ are reserved",
    "dense": "fit at order 10 raised RuntimeError",
    "probs": "holds log-probabilities > 0 (max 0.3913): probabilities above 1; every value lies "
    "in [0, 1]: these are probabilities",
}


@pytest.mark.usefixtures("fresh_options")
@pytest.mark.parametrize("name", sorted(SUITE))
def test_a_broken_plugin_breaks_nothing_is_listed_and_fails_the_kit_once(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ngramkit.testing import ConformanceError, run_checks

    value, listed, check = SUITE[name]
    found = registry.discover(eps(HOME, FakeDist(f"ngk-suite-{name}", {name: value}, "0.9")))
    monkeypatch.setattr(registry, "installed", lambda: found)
    words, model = tmp_path / "w.txt", tmp_path / "m.ngk"
    words.write_text("emma\nava\nolivia\nmia\n")
    runner = CliRunner()
    helped = runner.invoke(cli, ["fit", "--help"])
    fitted = runner.invoke(cli, ["fit", str(words), "--backend", "count", "-o", str(model)])
    scored = runner.invoke(cli, ["eval", str(model), str(words), "--format", "json"])
    listing = runner.invoke(cli, ["backends"])
    assert helped.exit_code == 0 and "--smooth" in helped.stdout, helped.output
    assert fitted.exit_code == 0 and model.exists(), fitted.output
    assert scored.exit_code == 0 and json.loads(scored.stdout)["summary"]["items"] == 4
    assert listing.exit_code == 0, listing.output
    rows = json.loads(runner.invoke(cli, ["backends", "--json"]).stdout)["backends"]
    row = next(r for r in rows if r["name"] == name)
    if listed == "ok":  # loads and declares well: only running it shows the mistake
        assert row["status"] == "ok"
    elif name == "count":
        assert row["status"] == "ok" and row["shadows"][0]["distribution"] == "ngk-suite-count"
        assert listed in listing.stdout
    else:
        assert row["status"] == "broken" and listed in row["error"], row
        assert "broken:" in listing.stdout
    results = run_checks(name, {"smooth": 1}, entries=found)
    failed = {c: str(e) for c, e in results.items() if isinstance(e, ConformanceError)}
    first = next(iter(failed))
    assert first == check and FINDINGS[name] in failed[first], failed
    assert failed[first].startswith(f"backend '{name}' fails {check}\n  rule:  ")
    assert "\n  found: " in failed[first] and "\n  fix:   " in failed[first]
    if check == "check_registered":  # one root cause, one failure: the rest are skipped
        assert len(failed) == 1
