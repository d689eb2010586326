"""Open vocabulary (issue 14): the unknown token, --unk and --min-count, for every backend.

The unknown token is the vocabulary's last id; every unseen symbol encodes to
it, so every item gets a finite score. Estimates checked against plain loops:
add-k and wb mix in the singleton share m = max(N1, 1) / N, kn/mkn/abs give it
the uniform share of the unigram level (lmplz's <unk>: test_arpa's
test_mkn_reproduces_lmplz checks that line against KenLM's own files).
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from ngramkit import registry
from ngramkit.backends.count import CountLM
from ngramkit.backends.neural import NeuralLM
from ngramkit.cli import cli
from ngramkit.cli import fit as fit_cli
from ngramkit.corpus import Corpus
from ngramkit.errors import ModelFileError
from ngramkit.evaluate import breakdown, corpus_metrics, score_batch
from ngramkit.keys import key_digits
from ngramkit.persist import load, save
from ngramkit.smoothing import arpa
from ngramkit.testing import CHECKS, Backend
from ngramkit.tokenizer import Vocabulary

NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "ella", "luna", "zoe"]
SMOOTHS = [1.0, 0.5, 0.0, "kn", "mkn", "wb", "abs"]


def prose(n_lines: int, seed: int = 0, n_words: int = 4000) -> list[str]:
    """English-like lines: made-up words of 1-4 syllables drawn from a Zipf law (1/rank)."""
    rng = random.Random(seed)
    syl = ["ka", "to", "ri", "men", "sa", "lo", "ve", "dri", "nu", "pe", "chi", "mo", "ra", "tel"]
    made = {"".join(rng.choice(syl) for _ in range(rng.randint(1, 4))) for _ in range(3 * n_words)}
    words = sorted(made)[:n_words]
    rng.shuffle(words)
    weights = [1 / (r + 1) for r in range(len(words))]
    return [" ".join(rng.choices(words, weights, k=rng.randint(4, 12))) for _ in range(n_lines)]


def all_contexts(model: CountLM | NeuralLM) -> torch.Tensor:
    """Every context a corpus can hold (boundaries only in front), [C, order-1]."""
    V, k = len(model.require_fitted()), model.order - 1
    ctx = key_digits(torch.arange(V**k), V, k)
    lead = (ctx == 0).long().cumprod(1).sum(1)  # leading boundaries
    return ctx[(ctx == 0).sum(1) == lead]


def singleton_mass(items: list[str]) -> float:
    """m = max(N1, 1) / N by a plain loop: N1 symbols seen once, N predicted tokens."""
    counts = Counter(ch for item in items for ch in item)
    n = sum(len(item) + 1 for item in items)
    return max(sum(c == 1 for c in counts.values()), 1) / n


# -- the vocabulary -------------------------------------------------------------


def test_the_unknown_token_is_the_last_id_and_symbols_keep_theirs() -> None:
    closed, open_ = Vocabulary.build(NAMES), Vocabulary.build(NAMES, unk=True)
    assert open_.tokens == (*closed.tokens, "<unk>") and len(open_) == len(closed) + 1
    assert open_.stoi == closed.stoi and open_.unk_id == len(closed)
    assert open_.encode("zoя") == [closed.stoi["z"], closed.stoi["o"], open_.unk_id]
    assert open_.decode(open_.encode("aж")) == "a<unk>"
    with pytest.raises(KeyError):
        closed.encode("zoя")


def test_unk_marker_is_free_when_the_word_unk_is_a_symbol() -> None:
    vocab = Vocabulary.build(["the <unk> cat"], "word", unk=True)
    assert vocab.unk_token == "<UNK>" and vocab.encode("the dog") == [vocab.stoi["the"], 4]


def test_min_count_keeps_symbols_seen_often_enough_as_a_plain_counter() -> None:
    items = prose(50)
    counts = Counter(w for line in items for w in line.split())
    vocab = Vocabulary.build(items, "word", unk=True, min_count=3)
    assert vocab.symbols == tuple(sorted(w for w, n in counts.items() if n >= 3))
    chars = Vocabulary.build(["aab", "ac"], unk=True, min_count=2)
    assert chars.symbols == ("a",)
    with pytest.raises(ValueError, match="min_count > 1 needs unk"):
        Vocabulary.build(items, "word", min_count=2)


def test_vocab_json_round_trip_and_old_files_are_closed() -> None:
    vocab = Vocabulary.build(NAMES, unk=True)
    assert vocab.to_json()["unk"] is True
    assert Vocabulary.from_json(vocab.to_json()) == vocab
    old = Vocabulary.build(NAMES).to_json()
    assert "unk" not in old and Vocabulary.from_json(old).unk is False
    with pytest.raises(ModelFileError):
        Vocabulary.from_json({**vocab.to_json(), "unk": "yes"})


def test_char_fast_path_and_item_loop_encode_alike() -> None:
    vocab = Vocabulary.build(NAMES, unk=True)
    items = ["zoя", "ab", "", "щukasz", "日本"]
    stream, oov = vocab.encode_stream(items)
    loop = [0]
    for item in items:
        loop += [*vocab.encode(item), 0]
    assert stream.tolist() == loop and not bool(oov.any())


# -- estimates --------------------------------------------------------------------


@pytest.mark.parametrize("smooth", SMOOTHS)
@pytest.mark.parametrize("order", [1, 2, 3])
def test_rows_cover_the_unknown_token_and_sum_to_one(smooth: object, order: int) -> None:
    if smooth in ("kn", "mkn") and order == 1:
        pytest.skip("kn needs order >= 2")
    model = CountLM(order=order, smooth=smooth, unk=True).fit(NAMES)
    rows = model.next_logprobs(all_contexts(model))
    assert rows.shape[1] == len(set("".join(NAMES))) + 2
    assert torch.allclose(rows.logsumexp(1), torch.zeros(len(rows), dtype=torch.float64))
    assert math.isfinite(model.logprob("zoя!"))  # unseen я and !, at k = 0 too


@pytest.mark.parametrize("k", [0.0, 1.0, 0.3])
def test_addk_mixes_the_singleton_share_into_every_row(k: float) -> None:
    items = [*NAMES, "quinn"]  # q seen once: N1 = 1 (q), besides n... counted below
    model = CountLM(order=2, smooth=k, unk=True).fit(items)
    vocab = model.require_fitted()
    m = singleton_mass(items)
    assert model.learned_["unk_mass"] == pytest.approx(m, rel=1e-12)
    pairs = Counter((a, b) for item in items for a, b in zip("." + item, item + "."))
    V = len(vocab)
    for h in ["a", "q", "."]:
        total = sum(n for (a, _), n in pairs.items() if a == h)
        row = model.next_logprobs(torch.tensor([[0 if h == "." else vocab.stoi[h]]]))[0]
        for w in ["a", "u", "<unk>"]:
            c = pairs[(h, w)]
            want = (1 - m) * (c + k) / (total + k * V) + m * (w == "<unk>")
            assert float(row[vocab.tokens.index(w)].exp()) == pytest.approx(want, rel=1e-12)


def test_wb_unknown_share_is_the_singleton_mass_in_every_context() -> None:
    items = [*NAMES, "quinn", "xavier"]
    model = CountLM(order=3, smooth="wb", unk=True).fit(items)
    closed = CountLM(order=3, smooth="wb").fit(Corpus.from_items(items, unk=True))
    assert closed.learned_["unk_mass"] == model.learned_["unk_mass"]
    m = singleton_mass(items)
    rows = model.next_logprobs(all_contexts(model)).exp()
    assert bool((rows[:, -1] >= m * (1 - 1e-12)).all())  # m, plus wb's own small share


def test_kn_gives_the_uniform_share_of_the_unigram_level() -> None:
    model = CountLM(order=2, smooth="kn", unk=True).fit(NAMES)
    V = len(model.require_fitted())
    unigram = model.backoff_tables().logp[0].exp()
    # p(w) = max(a(w) - D, 0) / sum a + gamma / V: the unknown token has a = 0.
    assert float(unigram[-1]) == pytest.approx(float(1 - unigram[:-1].sum()), rel=1e-9)
    assert "unk_mass" not in model.learned_ and float(unigram[-1]) < 1 / V


def test_with_unk_off_nothing_changes() -> None:
    a = CountLM(order=3, smooth="kn").fit(NAMES)
    b = CountLM(order=3, smooth="kn", unk=False).fit(NAMES)
    ctx = all_contexts(a)
    assert torch.equal(a.next_logprobs(ctx), b.next_logprobs(ctx))
    assert not a.require_fitted().unk and a.require_fitted() == Vocabulary.build(NAMES)


# -- scoring, sampling --------------------------------------------------------------


def test_every_item_scores_and_rows_count_unknown_tokens() -> None:
    model = CountLM(order=2, smooth=1.0, unk=True).fit(NAMES)
    batch = score_batch(model, ["emma", "zoя", "日本語", "aжж"])
    assert not bool(batch.oov.any()) and bool(torch.isfinite(batch.logprob).all())
    assert batch.unk_tokens.tolist() == [0, 1, 3, 2]
    rows = [r.to_json() for r in batch.rows()]
    assert [r["unk_tokens"] for r in rows] == [0, 1, 3, 2] and not any(r["oov"] for r in rows)
    summary = batch.metrics().totals_json()
    assert summary["unk_tokens"] == 6 and summary["oov"] == 0
    assert corpus_metrics(model, ["zoя", "aжж"]).unk_tokens == 3
    assert model.logprob("zoя") == pytest.approx(float(batch.logprob[1]), abs=1e-12)
    b = breakdown(model, "zoя")
    assert b.unknown == ("я",) and [t.token for t in b.tokens] == ["z", "o", "<unk>", "."]


def test_closed_models_keep_the_oov_rule_and_no_unk_key() -> None:
    model = CountLM(order=2, smooth=1.0).fit(NAMES)
    batch = score_batch(model, ["emma", "zoя"])
    assert batch.oov.tolist() == [False, True] and batch.unk_tokens is None
    assert "unk_tokens" not in next(batch.rows()).to_json()
    assert "unk_tokens" not in batch.metrics().totals_json()


def test_sampling_never_draws_the_unknown_token() -> None:
    items = prose(300)
    corpus = Corpus.from_items(items, kind="word", unk=True, min_count=3)
    model = CountLM(order=2, smooth="kn").fit(corpus)
    unk = model.require_fitted().unk_id
    assert float(model.next_logprobs(torch.tensor([[0]]))[0, unk].exp()) > 0.05
    drawn = model.sample(200, seed=1, cut=30)
    assert len(drawn) == 200 and not any("<unk>" in s.split() for s in drawn)


# -- the figure: predicted vs observed rate of unseen symbols --------------------------


def unk_rates(model: CountLM | NeuralLM, held: list[str]) -> tuple[float, float]:
    """(observed share of held-out tokens that are the unknown token, mean p(unk | h))."""
    vocab = model.require_fitted()
    grams = Corpus.from_items(held, vocab).grams(model.order)
    unk = torch.full((len(grams),), vocab.unk_id)
    p = model.token_logprobs(grams[:, :-1], unk).exp().double().mean()
    return float((grams[:, -1] == vocab.unk_id).double().mean()), float(p)


@pytest.mark.parametrize("smooth", [1.0, 0.0, "wb"])
def test_predicted_unknown_rate_is_close_to_the_observed_rate(smooth: object) -> None:
    """Zipfian prose, 3,000 lines to train, 1,000 held out: 4.12% of held-out tokens are
    words never seen; add-1, add-0 and wb predict 4.09%, 4.06%, 4.06% (m = N1/N = 4.06%,
    Good-Turing). kn's uniform share (KenLM's) would predict 0.0015% here."""
    lines = prose(4000)
    train, held = lines[:3000], lines[3000:]
    model = CountLM(order=2, smooth=smooth, unk=True).fit(Corpus.from_items(train, kind="word"))
    observed, predicted = unk_rates(model, held)
    assert observed == pytest.approx(0.0412, abs=5e-4)
    assert predicted == pytest.approx(observed, rel=0.05)


# -- word level: --min-count --------------------------------------------------------------


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "100"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def prose_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("prose")
    lines = prose(500, seed=3)
    (folder / "train.txt").write_text("\n".join(lines[:400]) + "\n")
    (folder / "held.txt").write_text("\n".join(lines[400:]) + "\n")
    return folder / "train.txt", folder / "held.txt"


@pytest.mark.parametrize("flags", [["--min-count", "2"], ["--unk"], ["--unk", "--smooth", "kn"]])
def test_word_model_scores_every_held_out_sentence(
    prose_files: tuple[Path, Path], tmp_path: Path, flags: list[str]
) -> None:
    train, held = prose_files
    out = tmp_path / "w.ngk"
    code, _, err = run("fit", str(train), "--tokenizer", "word", "-o", str(out), "--json", *flags)
    assert code == 0, err
    code, stdout, err = run("eval", str(out), str(held), "--format", "json")
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["summary"]["oov"] == 0 and doc["summary"]["scored"] == 100
    assert all(r["logprob"] is not None and math.isfinite(r["logprob"]) for r in doc["items"])
    assert doc["summary"]["unk_tokens"] == sum(r["unk_tokens"] for r in doc["items"]) > 0


def test_without_unk_most_held_out_sentences_are_oov(prose_files: tuple[Path, Path]) -> None:
    train, held = prose_files
    words = [line for line in train.read_text().split("\n") if line]
    model = CountLM(order=2, smooth=1.0).fit(Corpus.from_items(words, kind="word"))
    batch = score_batch(model, [line for line in held.read_text().split("\n") if line])
    assert float(batch.oov.double().mean()) > 0.3


def test_fit_json_and_model_file_record_the_cut_off(
    prose_files: tuple[Path, Path], tmp_path: Path
) -> None:
    train, _ = prose_files
    out = tmp_path / "w.ngk"
    code, stdout, err = run(
        "fit", str(train), "--tokenizer", "word", "--min-count", "2", "-o", str(out), "--json"
    )
    assert code == 0, err
    data = json.loads(stdout)["data"]
    lines = [line for line in train.read_text().split("\n") if line]
    from ngramkit.data import train_val_split

    kept, _ = train_val_split(lines, 0.1, 2147483647)
    counts = Counter(w for line in kept for w in line.split())
    assert data["min_count"] == 2 and data["unk_tokens"] == sum(n for n in counts.values() if n < 2)
    model = load(out).model
    assert model.require_fitted().unk and model.hparams["unk"] is True


# -- neural backends ----------------------------------------------------------------


def test_neural_learns_the_unknown_token_from_symbols_seen_once(tmp_path: Path) -> None:
    names = tmp_path / "n.txt"
    names.write_text("\n".join([*NAMES * 5, "quinn", "xavi"]) + "\n")
    out = tmp_path / "n.ngk"
    code, stdout, err = run(
        "fit", str(names), "--backend", "neural", "--unk", "--steps", "30", "-o", str(out),
        "--json", "--val-fraction", "0",
    )  # fmt: skip
    assert code == 0, err
    model = load(out).model
    vocab = model.require_fitted()
    assert vocab.unk and "q" not in vocab.symbols and "x" not in vocab.symbols  # seen once
    assert json.loads(stdout)["data"]["unk_tokens"] == 2 and math.isfinite(model.logprob("zoя"))


# -- ARPA and KenLM -------------------------------------------------------------------


@pytest.mark.parametrize(("smooth", "order"), [("kn", 3), ("mkn", 2), (0.5, 3), ("wb", 3)])
def test_arpa_round_trip_carries_the_unknown_token(
    smooth: object, order: int, tmp_path: Path
) -> None:
    model = CountLM(order=order, smooth=smooth, unk=True).fit(NAMES)
    arpa.save(model, tmp_path / "m.arpa")
    text = (tmp_path / "m.arpa").read_text()
    assert text.count("\t<unk>\n") + text.count("\t<unk>\t") >= 1
    back = arpa.read(tmp_path / "m.arpa")
    assert back.vocab == model.require_fitted() and back.skipped_unk == 0
    imported = CountLM.from_tables(back.tables, back.vocab)
    for item in ["emma", "zoя", "я", "xyz"]:
        assert imported.logprob(item) == pytest.approx(model.logprob(item), abs=1e-6)


def test_closed_model_arpa_has_no_unknown_mass(tmp_path: Path) -> None:
    model = CountLM(order=2, smooth="kn").fit(NAMES)
    arpa.save(model, tmp_path / "m.arpa")
    assert "-99\t<unk>\n" in (tmp_path / "m.arpa").read_text()
    assert arpa.read(tmp_path / "m.arpa").vocab.unk is False


@pytest.mark.parametrize(("smooth", "order"), [("kn", 3), ("mkn", 4), (1.0, 3), ("wb", 2)])
def test_kenlm_scores_unknown_symbols_as_ngramkit(
    smooth: object, order: int, tmp_path: Path
) -> None:
    kenlm = pytest.importorskip("kenlm")
    model = CountLM(order=order, smooth=smooth, unk=True).fit(NAMES)
    arpa.save(model, tmp_path / "m.arpa")
    ref = kenlm.Model(str(tmp_path / "m.arpa"))
    for item in ["zoя", "яяя", "emma", "a日b", "quux"]:
        ours = model.logprob(item) / math.log(10)
        assert ref.score(" ".join(item), bos=True, eos=True) == pytest.approx(ours, abs=1e-5)


def test_old_count_files_with_unk_load_and_score_as_before(tmp_path: Path) -> None:
    """Files of before issue 14: hparams unk, a closed vocabulary and a reserved unk_logp."""
    closed = CountLM(order=3, smooth="mkn").fit(NAMES)
    config, tensors = closed.state()
    config["hparams"]["unk"] = True
    config["unk_logp"] = -9.0
    old = CountLM.from_state(json.loads(json.dumps(config)), tensors)
    assert not old.require_fitted().unk and old.logprob("emma") == closed.logprob("emma")
    arpa.save(old, tmp_path / "old.arpa")
    assert f"{-9.0 / math.log(10):.8g}\t<unk>" in (tmp_path / "old.arpa").read_text()


# -- the contract, the kit ------------------------------------------------------------


@pytest.mark.parametrize(
    "hparams",
    [{"smooth": 0.0}, {"smooth": 1.0}, {"smooth": "kn", "order": 3}, {"smooth": "wb"}],
)
def test_kit_check_unk_passes_for_count(hparams: dict[str, object]) -> None:
    check = next(c for c in CHECKS if c.name == "check_unk")
    check(Backend("count", CountLM, hparams))


def test_kit_check_unk_passes_for_neural() -> None:
    check = next(c for c in CHECKS if c.name == "check_unk")
    check(Backend("neural", NeuralLM, {"steps": 20}))


class ClosedOnly(CountLM):
    name = "closed"
    description = "a count model that declares it cannot hold the unknown token"
    supports_unk = False


@pytest.fixture()
def closed_registry(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    entries = {
        "count": registry.BackendEntry(
            "count", "ngramkit.backends.count:CountLM", "ngramkit", "0.1.0", CountLM
        ),
        "closed": registry.BackendEntry("closed", "x:ClosedOnly", "x", "1.0", ClosedOnly),
    }
    monkeypatch.setattr(registry, "installed", lambda: entries)
    fit_cli.backend_options.cache_clear()
    yield
    fit_cli.backend_options.cache_clear()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--backend", "closed", "--unk"], "--unk: backend 'closed' does not support the unknown"),
        (["--backend", "closed", "--min-count", "2"], "backend 'closed' does not support"),
        (["--min-count", "0"], "--min-count must be >= 1"),
        (["--min-count", "x"], "--min-count must be an integer"),
        (["--min-count", "2", "--no-unk"], "--min-count 2 makes rare symbols the unknown"),
        (["--min-count", "2", "--workers", "2"], "--min-count needs the items' symbol counts"),
    ],
)
def test_bad_open_vocabulary_flags_are_one_line_and_write_nothing(
    closed_registry: None, tmp_path: Path, flags: list[str], message: str
) -> None:
    data = tmp_path / "names.txt"
    data.write_text("\n".join(NAMES) + "\n")
    out = tmp_path / "m.ngk"
    code, stdout, err = run("fit", str(data), "-o", str(out), *flags)
    assert code == 2 and stdout == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert not out.exists()


def test_unk_in_a_config_file_works_for_count_and_neural(tmp_path: Path) -> None:
    data = tmp_path / "names.txt"
    data.write_text("\n".join(NAMES * 3) + "\n")
    for backend in ("count", "neural"):
        config = tmp_path / f"{backend}.yaml"
        config.write_text(f"backend: {backend}\nunk: true\n" + "steps: 5\n" * (backend != "count"))
        out = tmp_path / f"{backend}.ngk"
        code, _, err = run("fit", str(data), "--config", str(config), "-o", str(out), "--json")
        assert code == 0, err
        assert load(out).model.require_fitted().unk


def test_counted_path_takes_unk(tmp_path: Path) -> None:
    data = tmp_path / "names.txt"
    data.write_text("\n".join(NAMES * 3) + "\n")
    out = tmp_path / "c.ngk"
    code, _, err = run("fit", str(data), "--unk", "--shards", "2", "-o", str(out), "--json")
    assert code == 0, err
    model = load(out).model
    assert model.require_fitted().unk and math.isfinite(model.logprob("zoя"))
    save(model, tmp_path / "again.ngk")
    assert load(tmp_path / "again.ngk").model.logprob("zoя") == model.logprob("zoя")


@settings(max_examples=40, deadline=None)
@given(
    items=st.lists(st.text(alphabet="abcж ", min_size=0, max_size=6), min_size=1, max_size=8),
    probe=st.text(min_size=0, max_size=6),
    smooth=st.sampled_from([1.0, 0.25, "kn", "mkn", "wb", "abs"]),
    order=st.integers(2, 3),
)
def test_unk_rows_sum_to_one_and_any_text_scores_property(
    items: list[str], probe: str, smooth: object, order: int
) -> None:
    if not "".join(items):
        items = [*items, "a"]  # at least one symbol to fit on
    model = CountLM(order=order, smooth=smooth, unk=True).fit(items)
    rows = model.next_logprobs(all_contexts(model))
    assert torch.allclose(rows.logsumexp(1), torch.zeros(len(rows), dtype=torch.float64))
    assert math.isfinite(model.logprob(probe))
