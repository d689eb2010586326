"""Classification among models: posteriors, OOV models out, evaluation, the figure, the CLI."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from ngramkit import Corpus, CountLM
from ngramkit.classify import (
    Candidate,
    Confusion,
    check_candidates,
    classify,
    resolve_priors,
    split_labels,
)
from ngramkit.cli import cli
from ngramkit.errors import DataError, OptionError
from ngramkit.persist import save

# Five made-up "languages" of first names, each a syllable grammar: a name is 1-2
# syllables (onset + nucleus + coda, each drawn uniformly) and then an ending. The
# letter sets overlap a lot, so letter frequencies alone (a unigram) tell them apart
# less well than letter sequences do. Drawn with random.Random(f"{lang}-{seed}").
GRAMMARS: dict[str, tuple[list[str], list[str], list[str], list[str]]] = {
    "ja": (
        ["k", "s", "t", "n", "h", "m", "y", "r", "sh", "ch", ""],
        ["a", "i", "u", "e", "o"],
        [""],
        ["ko", "ro", "ta", "mi", "ki", "ka", "ya"],
    ),
    "fi": (
        ["k", "l", "m", "n", "p", "r", "s", "t", "v", "j", "h", ""],
        ["a", "aa", "i", "ii", "u", "e", "o", "y"],
        ["", "", "k", "n", "l"],
        ["nen", "o", "kki", "ja", "ri", "tta"],
    ),
    "de": (
        ["b", "d", "f", "g", "h", "k", "l", "m", "r", "s", "sch", "w", "st"],
        ["a", "e", "i", "o", "u", "ei", "au"],
        ["n", "r", "l", "t", "ch", "rt", "nd", ""],
        ["er", "hard", "bert", "mann", "fried", "helm"],
    ),
    "pl": (
        ["b", "cz", "d", "g", "k", "m", "p", "rz", "s", "sz", "w", "z"],
        ["a", "e", "i", "o", "u", "y"],
        ["", "", "sz", "k", "n"],
        ["ek", "ka", "slaw", "mir", "usz", "ota"],
    ),
    "it": (
        ["b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v", "gi", "ch"],
        ["a", "e", "i", "o", "u"],
        ["", "", "", "l", "n", "r"],
        ["o", "a", "ella", "etto", "ino", "ina"],
    ),
}


def made_up_names(lang: str, n: int, seed: int = 0) -> list[str]:
    """n names of `lang` from its syllable grammar (deterministic)."""
    onsets, nuclei, codas, endings = GRAMMARS[lang]
    rng = random.Random(f"{lang}-{seed}")
    out = []
    for _ in range(n):
        syllables = rng.randint(1, 2)
        stem = "".join(
            rng.choice(onsets) + rng.choice(nuclei) + rng.choice(codas) for _ in range(syllables)
        )
        out.append(stem + rng.choice(endings))
    return out


def split_languages(n: int = 300) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """Per language: the last four fifths to train on; the first fifth held out (items, gold)."""
    train, test, gold = {}, [], []
    for lang in GRAMMARS:
        items = made_up_names(lang, n)
        cut = n // 5
        train[lang] = items[cut:]
        test += items[:cut]
        gold += [lang] * cut
    return train, test, gold


def accuracy(train: dict[str, list[str]], test: list[str], gold: list[str], order: int) -> float:
    models = [Candidate(k, CountLM(order=order, smooth=0.1).fit(v), k) for k, v in train.items()]
    return Confusion.of(classify(models, test), gold).accuracy


def test_figure_ngram_beats_majority_and_unigram() -> None:
    """Held-out fifth of five 300-name lists: trigram (add-0.1) vs unigram vs majority."""
    train, test, gold = split_languages()
    majority = max(gold.count(g) for g in set(gold)) / len(gold)  # 0.2: five equal classes
    unigram = accuracy(train, test, gold, order=1)
    trigram = accuracy(train, test, gold, order=3)
    assert majority == pytest.approx(0.2)
    assert trigram >= 0.95  # measured 0.973
    assert trigram >= unigram + 0.10  # unigram measured 0.827
    assert trigram >= majority + 0.7


def two_models() -> list[Candidate]:
    return [
        Candidate("ab", CountLM(order=2, smooth=1).fit(["ab", "abab", "ba"]), "ab"),
        Candidate("abz", CountLM(order=2, smooth=1).fit(["az", "zab", "zz"]), "abz"),
    ]


def test_posterior_matches_bayes_by_hand() -> None:
    """Posterior = p_m pi_m / sum_k p_k pi_k, from model.logprob in a plain loop."""
    models, priors = two_models(), [0.3, 0.7]
    items = ["ab", "ba", "aab", "b"]
    r = classify(models, items, priors)
    post = r.posterior()
    for n, item in enumerate(items):
        joint = [math.exp(c.model.logprob(item)) * p for c, p in zip(models, priors)]
        for m in range(2):
            assert post[n, m].item() == pytest.approx(joint[m] / sum(joint), rel=1e-9)
        best = max(range(2), key=lambda m: joint[m])
        assert r.predicted()[n].item() == best
        assert r.margin()[n].item() == pytest.approx(abs(math.log(joint[0] / joint[1])), rel=1e-9)
    assert torch.allclose(post.sum(dim=1), torch.ones(len(items), dtype=torch.float64))


def test_oov_model_is_out_never_favoured() -> None:
    """'zab' is OOV for 'ab' (no z): out, and 'abz' wins alone; 'q' is OOV for both."""
    r = classify(two_models(), ["zab", "q", "ab"])
    rows = r.rows_json()
    assert rows[0]["out"] == ["ab"] and rows[0]["label"] == "abz"
    assert rows[0]["posterior"] == {"ab": None, "abz": 1.0}
    assert rows[0]["margin"] is None  # one model scores it: no runner-up
    assert rows[1]["label"] is None and rows[1]["out"] == ["ab", "abz"]
    assert rows[1]["reason"].startswith("OOV for every model")
    assert rows[2]["out"] == [] and sum(rows[2]["posterior"].values()) == pytest.approx(1)
    assert r.summary_json()["out"] == {"ab": 2, "abz": 1}


def test_priors() -> None:
    assert resolve_priors(["en", "de", "fr"], {"en": 0.5}) == [0.5, 0.25, 0.25]
    assert resolve_priors(["en", "de"], {}) == [0.5, 0.5]
    with pytest.raises(OptionError, match="no model has that label"):
        resolve_priors(["en", "de"], {"fr": 0.5})
    with pytest.raises(OptionError, match="must sum to 1"):
        resolve_priors(["en", "de"], {"en": 0.6, "de": 0.6})
    with pytest.raises(OptionError, match=r"lie in \(0, 1\)"):
        resolve_priors(["en", "de"], {"en": 0.0})


def test_a_prior_moves_a_close_call() -> None:
    """'ab' scores about the same under two copies; a prior of 0.9 decides."""
    m = CountLM(order=2, smooth=1).fit(["ab", "ba"])
    c = [Candidate("x", m, "x"), Candidate("y", m, "y")]
    assert classify(c, ["ab"], [0.1, 0.9]).predicted().tolist() == [1]
    assert classify(c, ["ab"], [0.9, 0.1]).predicted().tolist() == [0]
    r = classify(c, ["ab"])  # exact tie: the first model, margin 0
    assert r.predicted().tolist() == [0] and r.margin().tolist() == [0.0]


def test_confusion_against_a_plain_loop() -> None:
    """P/R/F1 and the matrix counted by hand over random gold/predicted pairs."""
    models = two_models()
    items = ["ab", "ba", "zab", "zz", "q", "abab", "az"]
    gold = ["ab", "abz", "abz", "abz", "ab", "ab", "ab"]
    r = classify(models, items)
    pred = [r.label_of(i) for i in r.predicted().tolist()]
    c = Confusion.of(r, gold)
    assert c.accuracy == sum(g == p for g, p in zip(gold, pred)) / len(gold)
    for label, s in c.per_class().items():
        tp = sum(g == p == label for g, p in zip(gold, pred))
        npred, ngold = pred.count(label), gold.count(label)
        assert s["support"] == ngold
        assert s["recall"] == pytest.approx(tp / ngold)
        if npred:
            assert s["precision"] == pytest.approx(tp / npred)
    assert c.matrix[:, 2].sum().item() == pred.count(None)  # the "none" column
    assert c.total == len(items)


def test_bad_candidates() -> None:
    a, b = two_models()
    with pytest.raises(OptionError, match="at least two models"):
        check_candidates([a])
    with pytest.raises(OptionError, match="label 'ab' is given twice"):
        check_candidates([a, Candidate("ab", b.model, "other")])
    with pytest.raises(OptionError, match="model file 'ab' is given twice"):
        check_candidates([a, Candidate("zz", b.model, "ab")])


def test_split_labels() -> None:
    assert split_labels("t", ["emma\ten", "jan\tde"], [1, 2], 2) == (["emma", "jan"], ["en", "de"])
    with pytest.raises(DataError, match=r"t:3: no label in column 2 \(the line has 1 column"):
        split_labels("t", ["emma\ten", "x\tde", "jan"], [1, 2, 3], 2)


# -- the command line -----------------------------------------------------


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args), env={"COLUMNS": "80"})
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def langs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """models/<lang>.ngk (trigram, add-0.1) and test/<lang>.txt, test.tsv (item, gold)."""
    root = tmp_path_factory.mktemp("langs")
    (root / "models").mkdir()
    (root / "test").mkdir()
    train, test, gold = split_languages(100)
    for lang, items in train.items():
        save(CountLM(order=3, smooth=0.1).fit(items), root / "models" / f"{lang}.ngk")
        (root / "test" / f"{lang}.txt").write_text(
            "\n".join(t for t, g in zip(test, gold) if g == lang) + "\n"
        )
    (root / "test.tsv").write_text("".join(f"{t}\t{g}\n" for t, g in zip(test, gold)))
    return root


def test_cli_folder_of_models_and_tsv_labels(langs: Path) -> None:
    code, out, err = run(
        "classify",
        str(langs / "test.tsv"),
        "--labels-column",
        "2",
        "--model",
        str(langs / "models"),
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert [m["label"] for m in data["models"]] == sorted(GRAMMARS)
    assert data["evaluation"]["accuracy"] > 0.8
    assert data["summary"]["items"] == 100 == len(data["items"])
    row = data["items"][0]
    assert set(row) >= {"item", "label", "margin", "posterior", "logprob", "out", "gold"}
    assert sum(v for v in row["posterior"].values() if v is not None) == pytest.approx(1)


def test_cli_labeled_lists_table_and_tsv(langs: Path) -> None:
    m = [f"--model={lang}={langs / 'models' / f'{lang}.ngk'}" for lang in ("de", "it")]
    labeled = [f"--labeled={lang}={langs / 'test' / f'{lang}.txt'}" for lang in ("de", "it")]
    code, out, err = run("classify", *m, *labeled, "--hist")
    assert code == 0, err
    assert "Confusion: gold rows" in out and "Accuracy" in out and "Margins (nats)" in out
    assert max(map(len, out.splitlines())) <= 80
    code, out, _ = run("classify", *m, *labeled, "--format", "tsv")
    lines = out.splitlines()
    assert lines[0].split("\t") == ["item", "label", "margin", "p_de", "p_it", "out", "gold"]
    assert len(lines) == 41


DE, IT = "--model=M/de.ngk", "--model=M/it.ngk"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([DE, DE, "T/test/de.txt"], "given twice"),
        (["--model=a=M/de.ngk", "--model=a=M/it.ngk", "T/test/de.txt"], "label 'a' is given twice"),
        ([DE, "--model=W", "T/test/de.txt"], "different tokenizers"),
        ([DE, IT, "T/test.tsv", "--labels-column", "3"], "no label in column 3"),
        ([DE, IT, "T/test.tsv", "--labels-column", "2"], "has no model"),
        ([DE, IT, "--labeled", "fi=T/test/fi.txt"], "label 'fi' has no model"),
        ([DE, IT, "--prior", "de=1.5", "T/test/de.txt"], "prior must lie in (0, 1)"),
        ([DE, "T/test/de.txt"], "at least two models"),
        ([DE, IT], "give a LIST"),
    ],
)
def test_cli_bad_input(langs: Path, tmp_path: Path, args: list[str], message: str) -> None:
    """One clear line on stderr, exit 2 for options (1 for the data), nothing on stdout."""
    word = tmp_path / "word.ngk"
    save(CountLM(order=2, smooth=1).fit(Corpus.from_items(["a b", "b a"], kind="word")), word)
    args = [a.replace("M/", f"{langs}/models/").replace("T/", f"{langs}/") for a in args]
    args = [a.replace("=W", f"={word}") for a in args]
    code, out, err = run("classify", *args)
    assert code == (1 if "no label" in message or "has no model" in message else 2)
    assert out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_open_vocabulary_model_scores_what_closed_ones_cannot() -> None:
    """Fitted with the unknown token, 'abz' scores 'q' (an unseen symbol); 'ab' is out."""
    closed = CountLM(order=2, smooth=1).fit(["ab", "abab", "ba"])
    open_ = CountLM(order=2, smooth=1, unk=True).fit(["az", "zab", "zz"])
    r = classify([Candidate("ab", closed), Candidate("abz", open_)], ["q", "ab"])
    rows = r.rows_json()
    assert rows[0]["label"] == "abz" and rows[0]["out"] == ["ab"]
    assert rows[0]["logprob"]["abz"] == pytest.approx(open_.logprob("q"))
    assert rows[1]["out"] == []
