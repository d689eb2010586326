from __future__ import annotations

import pytest

from ngramkit.errors import ModelFileError
from ngramkit.tokenizer import Vocabulary


def test_lecture_layout(names: list[str]) -> None:
    vocab = Vocabulary.build(names)
    assert len(vocab) == 27
    assert "".join(vocab.tokens) == ".abcdefghijklmnopqrstuvwxyz"
    assert vocab.stoi["a"] == 1 and vocab.stoi["z"] == 26


def test_boundary_moves_when_dot_is_a_symbol() -> None:
    vocab = Vocabulary.build(["a.b", "c"])
    assert "." in vocab.symbols
    assert vocab.boundary not in vocab.symbols
    assert vocab.tokens[0] == vocab.boundary == "·"
    assert vocab.decode(vocab.encode("a.b")) == "a.b"


def test_symbols_sorted_by_code_point() -> None:
    vocab = Vocabulary.build(["été", "Zoë", "ж"])
    assert list(vocab.symbols) == sorted(vocab.symbols)
    assert vocab.symbols[0] == "Z"


def test_word_tokenizer() -> None:
    vocab = Vocabulary.build(["the cat", "a  cat sat"], kind="word")
    assert vocab.symbols == ("a", "cat", "sat", "the")
    assert vocab.encode("the cat") == [4, 2]
    assert vocab.decode([1, 2, 0]) == "a cat"


def test_encode_stream_marks_oov_items() -> None:
    vocab = Vocabulary.build(["abc"])
    stream, oov = vocab.encode_stream(["ab", "abz", "", "c"])
    assert oov.tolist() == [False, True, False, False]
    assert stream.tolist() == [0, 1, 2, 0, 0, 3, 0]
    assert vocab.unknown("abzzy") == ["z", "y"]


def test_encode_stream_words_matches_encode() -> None:
    vocab = Vocabulary.build(["x y z", "y y"], kind="word")
    stream, oov = vocab.encode_stream(["z x", "q"])
    assert stream.tolist() == [0, *vocab.encode("z x"), 0]
    assert oov.tolist() == [False, True]


def test_encode_stream_handles_astral_symbols_and_newlines() -> None:
    vocab = Vocabulary.build(["a😀b", "日本"])
    stream, oov = vocab.encode_stream(["😀日", "b\na"])
    assert oov.tolist() == [False, True]
    assert stream.tolist() == [0, *vocab.encode("😀日"), 0]
    lined = Vocabulary.build(["a\nb"])  # a newline can be a symbol through the API
    stream, oov = lined.encode_stream(["b\na"])
    assert stream.tolist() == [0, *lined.encode("b\na"), 0] and not oov.any()


def test_json_round_trip_and_validation() -> None:
    vocab = Vocabulary.build(["a.b"])
    assert Vocabulary.from_json(vocab.to_json()) == vocab
    with pytest.raises(ModelFileError):
        Vocabulary.from_json({"kind": "char", "boundary": ".", "symbols": ["b", "a"]})
    with pytest.raises(ModelFileError):
        Vocabulary.from_json({"kind": "char", "boundary": "a", "symbols": ["a"]})
    with pytest.raises(ModelFileError):
        Vocabulary.from_json(["not", "a", "mapping"])


def test_a_rule_that_is_null_or_moves_a_symbol_is_refused() -> None:
    """bench/fuzz_headers.py's findings: `normalization: null` read as the old files'
    no-op rule (other numbers), and a word symbol its own rule lower-cases (an OOVError
    at the first item that holds it, not a refusal at load)."""
    good = Vocabulary.build(["Emma Ava", "Ava"], "word").to_json()
    assert Vocabulary.from_json(good).symbols == ("Ava", "Emma")
    old = {k: v for k, v in good.items() if k != "normalization"}  # before rules were stored
    assert Vocabulary.from_json(old).normalization.changes_nothing
    with pytest.raises(ModelFileError, match="normalization is not"):
        Vocabulary.from_json(good | {"normalization": None})
    lower = good | {"normalization": {"form": "NFC", "case": "lower", "accents": "keep"}}
    with pytest.raises(ModelFileError, match="symbol 'Ava' is changed by the vocabulary's own"):
        Vocabulary.from_json(lower)
