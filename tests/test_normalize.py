"""The normalization rule: resolved at fit, stored in the model, applied wherever text enters."""

from __future__ import annotations

import json
import math
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from ngramkit import CountLM, NeuralLM
from ngramkit.cli import cli
from ngramkit.config import Engine
from ngramkit.corpus import Corpus
from ngramkit.errors import ModelFileError, OOVError, OptionError
from ngramkit.evaluate import breakdown, corpus_metrics, score_batch, token_breakdown
from ngramkit.fitting import count_parts
from ngramkit.normalize import NONE, Normalization, remedy_line, strip_accents
from ngramkit.persist import load, save
from ngramkit.tokenizer import Vocabulary

# Capitalized first names whose only non-ASCII-letters are diacritics (or letters
# such as ł, ß that the accent table maps): none holds a hyphen, space or apostrophe.
NAMES_BY_LANGUAGE = {
    "English": "Emma Olivia Ava Isabella Sophia Charlotte Amelia Harper Evelyn Abigail "
    "James William Benjamin Lucas Henry Alexander Zoë Chloë Renée Noël",
    "German": "Jürgen Günter Jörg Björn Käthe Bärbel Dörte Sören Ludwig Friedrich "
    "Heike Uwe Lüder Jürgen Grete Hänsel Ännchen Öskar Ümit Gisela",
    "Spanish": "José María Jesús Ramón Sofía Lucía Martín Íñigo Begoña Ángel Inés Raúl "
    "Nuño Iñaki Zoé Álvaro Joaquín Adrián Mónica Verónica",
    "French": "Émile Hélène Françoise Zoé Chloé Anaïs Noël Jérôme Gaëlle Loïc Cécile Léa "
    "Mathéo Ève Honoré Benoît Maëlys Céleste Aurélie Clémence",
    "Polish": "Łukasz Małgorzata Paweł Wojciech Zofia Jędrzej Bożena Grzegorz Katarzyna "
    "Krzysztof Michał Józef Agnieszka Stanisław Żaneta Przemysław Bolesław Władysław "
    "Mieczysław Łucja Ćwikła Ścibor Źdźisław",
}
RULES = [
    Normalization(f, c, a)
    for f in ("NFC", "NFKC", "none")
    for c in ("keep", "lower")
    for a in ("keep", "strip")
]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "100"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def lecture(names: list[str]) -> CountLM:
    """examples/names.txt with the default flags: the rule resolves to NFC, lower, strip."""
    return CountLM(order=2, smooth=1).fit(names)


# -- the rule ------------------------------------------------------------------


def test_defaults_resolve_from_the_training_symbols() -> None:
    assert Vocabulary.build(["emma", "ava"]).normalization == Normalization("NFC", "lower", "strip")
    assert Vocabulary.build(["Emma"]).normalization == Normalization("NFC", "keep", "strip")
    assert Vocabulary.build(["zoë"]).normalization == Normalization("NFC", "lower", "keep")
    assert Vocabulary.build(["straße"]).normalization.accents == "keep"  # ß -> ss is a change
    explicit = Vocabulary.build(["Emma"], normalization=Normalization(case="lower"))
    assert explicit.symbols == ("a", "e", "m") and explicit.normalization.case == "lower"


def test_each_part_by_hand() -> None:
    lower_strip = Normalization("NFC", "lower", "strip")
    pairs = [("Zoë", "zoe"), ("Łukasz", "lukasz"), ("Øystein", "oystein"), ("Weiß", "weiss")]
    pairs += [("Æsa", "aesa"), ("ΣΑΣ", "σας"), ("ﬁona", "ﬁona")]
    for given_, want in pairs:
        assert lower_strip.apply(given_) == want
    assert Normalization("NFKC", "keep", "keep").apply("ﬁona") == "fiona"
    assert Normalization("NFC", "lower", "keep").apply("Weiß") == "weiß"  # lower, not casefold
    assert Normalization("none", "keep", "keep").apply("zoe\u0308") == "zoe\u0308"
    assert strip_accents("Łódź Dvořák Ðuro") == "Lodz Dvorak Duro"


def test_nfd_and_nfc_spellings_are_one_item() -> None:
    nfc, nfd = "zoë", unicodedata.normalize("NFD", "zoë")
    assert nfc != nfd and Normalization().apply(nfd) == nfc
    corpus = Corpus.from_items([nfc, nfd, "zoe"])
    assert corpus.items == [nfc, nfc, "zoe"] and corpus.changes["form"] == 1
    assert "\u0308" not in corpus.vocab.symbols
    model = CountLM(order=2, smooth=1).fit(corpus)
    assert model.logprob(nfd) == model.logprob(nfc)
    batch = score_batch(model, [nfd, nfc])
    assert batch.items == [nfd, nfc] and batch.normalized == 1  # rows keep the text given
    assert batch.in_train == [True, True]


def test_nfkc_on_request() -> None:
    nfc = CountLM(order=2, smooth=1).fit(["fiona", "finn"])
    nfkc = CountLM(order=2, smooth=1).fit(
        Corpus.from_items(["fiona", "finn"], normalization=Normalization("NFKC"))
    )
    assert nfc.require_fitted().normalization.form == "NFC"
    with pytest.raises(OOVError):
        nfc.logprob("ﬁona")  # U+FB01 decomposes only by compatibility
    assert nfkc.logprob("ﬁona") == nfkc.logprob("fiona")


def test_unknown_names_are_one_line() -> None:
    for kwargs in ({"form": "NFD"}, {"case": "upper"}, {"accents": "remove"}):
        with pytest.raises(OptionError, match=r"unknown .* \(choose"):
            Normalization(**kwargs)
    assert Normalization("nfkc").form == "NFKC"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12), st.sampled_from(RULES))
def test_apply_is_idempotent(text: str, rule: Normalization) -> None:
    once = rule.apply(text)
    assert rule.apply(once) == once


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=6), max_size=6), st.sampled_from(RULES))
def test_apply_all_is_apply_per_item(items: list[str], rule: Normalization) -> None:
    out, changed = rule.apply_all(items)
    assert out == [rule.apply(s) for s in items]
    assert changed == sum(a != b for a, b in zip(items, out))


def test_counted_per_part() -> None:
    items = ["Émile", "emile", unicodedata.normalize("NFD", "zoë"), "ANNA"]
    out, changed = Normalization("NFC", "lower", "strip").counted(items)
    assert out == ["emile", "emile", "zoe", "anna"]
    # form: the NFD zoë; case: Émile and ANNA; accents: émile and zoë (after the form).
    assert changed == {"form": 1, "case": 2, "accents": 2}


# -- the model file ------------------------------------------------------------


def test_rule_round_trips_and_old_files_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = CountLM(order=2, smooth=1).fit(["emma", "ava", "zoe"])
    path = tmp_path / "m.ngk"
    save(model, path)
    back = load(path).model
    assert back.require_fitted().normalization == Normalization("NFC", "lower", "strip")
    assert back.logprob("Zoë") == model.logprob("zoe")
    # A file written before the rule was stored: no "normalization" key, rule NONE.
    plain = Vocabulary.to_json

    def old_json(self: Vocabulary) -> dict:
        return {k: v for k, v in plain(self).items() if k != "normalization"}

    monkeypatch.setattr(Vocabulary, "to_json", old_json)
    save(model, tmp_path / "old.ngk")
    monkeypatch.undo()
    old = load(tmp_path / "old.ngk").model
    assert old.require_fitted().normalization == NONE
    assert old.logprob("zoe") == model.logprob("zoe")
    with pytest.raises(OOVError):
        old.logprob("Zoë")


@pytest.mark.parametrize(
    "bad",
    [
        {"form": "NFX", "case": "keep", "accents": "keep"},
        {"form": "NFC"},
        "NFC",
        {"form": "NFC", "case": "auto", "accents": "keep"},
    ],
)
def test_damaged_rule_in_a_model_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: object
) -> None:
    model = CountLM(order=2, smooth=1).fit(["emma", "ava"])
    plain = Vocabulary.to_json
    monkeypatch.setattr(Vocabulary, "to_json", lambda self: {**plain(self), "normalization": bad})
    save(model, tmp_path / "bad.ngk")
    monkeypatch.undo()
    with pytest.raises(ModelFileError, match="normalization") as e:
        load(tmp_path / "bad.ngk")
    assert "\n" not in str(e.value)


# -- the lecture and the user --------------------------------------------------


@pytest.mark.parametrize(("k", "expected"), [(0.0, 2.454014), (1.0, 2.454577)])
def test_lecture_figures_unchanged(names: list[str], k: float, expected: float) -> None:
    model = CountLM(order=2, smooth=k).fit(names)
    assert len(model.require_fitted()) == 27
    assert model.require_fitted().normalization == Normalization("NFC", "lower", "strip")
    assert round(corpus_metrics(model, names).nll, 6) == expected
    plain = CountLM(order=2, smooth=k).fit(Corpus.from_items(names, normalization=NONE))
    assert model.sample(20, seed=2147483647) == plain.sample(20, seed=2147483647)


@pytest.mark.parametrize("language", NAMES_BY_LANGUAGE)
def test_capitalized_names_are_all_scored(lecture: CountLM, language: str) -> None:
    items = NAMES_BY_LANGUAGE[language].split()
    batch = score_batch(lecture, items)
    assert not bool(batch.oov.any()), [s for s, o in zip(items, batch.oov.tolist()) if o]
    assert bool(batch.logprob.isfinite().all()) and batch.normalized == len(items)
    rule = lecture.require_fitted().normalization
    for item, lp in zip(items, batch.logprob.tolist()):
        assert lp == pytest.approx(lecture.logprob(rule.apply(item)), abs=1e-9)


def test_cli_eval_of_capitalized_names(tmp_path: Path, names_path: Path) -> None:
    model = tmp_path / "names.ngk"
    code, _, err = run("fit", str(names_path), "-o", str(model), "--json")
    assert code == 0, err
    lst = tmp_path / "caps.txt"
    everyone = [s for v in NAMES_BY_LANGUAGE.values() for s in v.split()]
    lst.write_text("\n".join(everyone) + "\n", encoding="utf-8")
    code, out, err = run("eval", str(model), str(lst), "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["summary"]["oov"] == 0 and err == ""
    assert data["summary"]["normalized"] == len(everyone)
    assert [r["item"] for r in data["items"]] == everyone  # rows keep the text as given


# -- a model that keeps case or accents: the hint --------------------------------


def test_oov_only_because_of_case_or_accents(tmp_path: Path, names_path: Path) -> None:
    items = ["Emma", "Ben", "Olivia", "Ava", "eve"]
    cased = CountLM(order=2, smooth=1).fit(
        Corpus.from_items(items, normalization=Normalization(accents="keep"))
    )
    assert cased.require_fitted().normalization == Normalization("NFC", "keep", "keep")
    batch = score_batch(cased, ["EMMA", "ben", "Zoë", "Émma", "ÉMMA"])
    assert batch.remedies == {0: ("case",), 3: ("accents",), 4: ("case", "accents")}
    line = remedy_line(batch.metrics().remedies)
    assert line is not None and "--case lower --accents strip" in line and "3 OOV" in line
    # Through the CLI: the note on stderr, the counts in the summary JSON.
    model = tmp_path / "keep.ngk"
    code, _, err = run("fit", str(names_path), "-o", str(model), "--accents", "keep")
    assert code == 0, err
    lst = tmp_path / "acc.txt"
    lst.write_text("zoë\nemma\nJosé\n", encoding="utf-8")
    code, out, err = run("eval", str(model), str(lst), "--format", "json")
    summary = json.loads(out)["summary"]
    assert code == 0 and summary["oov"] == 2 and summary["oov_by_rule"] == {"accents": 2}
    assert "--accents strip" in err and len(err.strip().splitlines()) == 1


# -- fit flags, config, show ------------------------------------------------------


def test_fit_flags_report_and_show(tmp_path: Path) -> None:
    data = tmp_path / "d.txt"
    data.write_text("Émile\nemile\nANNA\nbob\n", encoding="utf-8")
    model = tmp_path / "d.ngk"
    code, out, err = run(
        "fit", str(data), "-o", str(model), "--case", "lower", "--accents", "strip", "--json",
        "--val-fraction", "0",
    )  # fmt: skip
    assert code == 0, err
    fit = json.loads(out)
    assert fit["normalization"] == {"form": "NFC", "case": "lower", "accents": "strip"}
    assert fit["data"]["normalized"] == {"form": 0, "case": 2, "accents": 1}  # Émile, ANNA
    assert fit["data"]["vocab_size"] == len(".abeilmno")
    code, out, _ = run("show", str(model), "--json")
    card = json.loads(out)["card"]
    assert card["vocabulary"]["text rule"] == "NFC, lower-case, accents stripped"
    assert card["training_data"]["normalized items"] == "form 0, case 2, accents 1"
    code, out, _ = run("show", str(model))
    assert "accents stripped" in out and "case 2" in out


def test_bad_rule_names_at_fit(tmp_path: Path, names_path: Path) -> None:
    for flag, value in (("--normalize", "nfd"), ("--case", "upper"), ("--accents", "no")):
        code, out, err = run("fit", str(names_path), "-o", str(tmp_path / "x.ngk"), flag, value)
        assert code != 0 and "Traceback" not in err + out
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and flag in lines[0], lines
        assert not (tmp_path / "x.ngk").exists()
    config = tmp_path / "run.yaml"
    config.write_text(f"data: {names_path}\ncase: upper\n")
    code, _, err = run("fit", "--config", str(config), "-o", str(tmp_path / "x.ngk"))
    assert code != 0 and "run.yaml:2" in err
    config.write_text(f"data: {names_path}\naccents: keep\nnormalize: nfkc\n")
    code, out, err = run("fit", "--config", str(config), "-o", str(tmp_path / "y.ngk"), "--json")
    assert code == 0, err
    assert json.loads(out)["normalization"] == {"form": "NFKC", "case": "lower", "accents": "keep"}


def test_sharded_counting_resolves_the_same_rule(tmp_path: Path) -> None:
    items = ["Émile", "anna", "zoe\u0308", "bob"] * 50
    data = tmp_path / "d.txt"
    data.write_text("\n".join(items) + "\n", encoding="utf-8")
    one = Corpus.from_items(items).vocab
    done = count_parts([str(data)], 2, Engine(shards=3))
    assert done.table.vocab == one and one.normalization == Normalization("NFC", "keep", "keep")
    lower = Normalization("NFC", "lower", "strip")
    done = count_parts([str(data)], 2, Engine(shards=3), normalization=lower)
    assert done.table.vocab == Corpus.from_items(items, normalization=lower).vocab


# -- one OOV rule for the Python API, and next_tokens ---------------------------------


def test_one_oov_rule_per_kind_of_call(lecture: CountLM) -> None:
    """Calls that give numbers for one item raise; calls that give results mark OOV."""
    with pytest.raises(OOVError, match="а н"):
        lecture.logprob("Анна")
    with pytest.raises(OOVError):
        token_breakdown(lecture, "mary-jane")
    with pytest.raises(OOVError, match="outside the vocabulary"):
        lecture.next_tokens("Ан")
    with pytest.raises(OOVError):
        lecture.sample(1, prefix="Ан")
    b = breakdown(lecture, "Анна")
    assert b.tokens == () and b.unknown == ("а", "н")
    batch = score_batch(lecture, ["emma", "Анна"])
    assert math.isfinite(batch.logprob[0]) and math.isnan(batch.logprob[1])
    assert batch.unknown == {1: ("а", "н")}
    m = corpus_metrics(lecture, ["emma", "Анна"])
    assert m.oov == 1 and m.tokens == 5


def brute_next(items: list[str], prefix: str) -> dict[str, float]:
    """p(next | last symbol of prefix) of an unsmoothed bigram, from a plain loop."""
    counts: dict[str, int] = {}
    last = prefix[-1] if prefix else "."
    for w in items:
        chs = [".", *w, "."]
        for a, b in zip(chs, chs[1:]):
            if a == last:
                counts[b] = counts.get(b, 0) + 1
    total = sum(counts.values())
    return {s: c / total for s, c in counts.items()}


@pytest.mark.parametrize("prefix", ["", "a", "ab", "B"])
def test_next_tokens_match_a_plain_loop(prefix: str) -> None:
    items = ["ab", "abb", "b", "ba", "a"]
    model = CountLM(order=2, smooth=0).fit(items)
    got = model.next_tokens(prefix)
    want = brute_next(items, prefix.lower())
    assert [t for t, _ in got] == [".", "a", "b"] or len(got) == 3
    assert {t: p for t, p in got if p > 0} == pytest.approx(want, abs=1e-7)
    assert [p for _, p in got] == sorted((p for _, p in got), reverse=True)
    assert model.next_tokens(prefix, k=1) == got[:1]


def test_next_tokens_for_a_neural_model_and_higher_orders(names: list[str]) -> None:
    import torch

    model = NeuralLM(order=3, steps=5).fit(names[:200])
    got = dict(model.next_tokens("Em"))
    ctx = torch.tensor([[model.vocab.stoi["e"], model.vocab.stoi["m"]]])
    want = model.next_logprobs(ctx)[0].double().exp()
    assert sum(got.values()) == pytest.approx(1.0, abs=1e-6)
    for i, token in enumerate(model.vocab.tokens):
        assert got[token] == pytest.approx(float(want[i]), abs=1e-7)
    counted = CountLM(order=3, smooth=1).fit(names[:200])
    start = dict(counted.next_tokens(""))  # context (., .): no item is empty, add-one only
    assert start["."] == pytest.approx(1 / (200 + len(counted.require_fitted())))
