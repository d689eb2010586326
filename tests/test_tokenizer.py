from __future__ import annotations

import pytest
import torch

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


def test_encode_batch_marks_oov_items() -> None:
    vocab = Vocabulary.build(["abc"])
    ids, lengths, oov = vocab.encode_batch(["ab", "abz", "", "c"])
    assert oov.tolist() == [False, True, False, False]
    assert lengths.tolist() == [2, 0, 0, 1]
    assert ids.tolist() == [1, 2, 3]
    assert vocab.unknown("abzzy") == ["z", "y"]


def test_encode_batch_words_matches_encode() -> None:
    vocab = Vocabulary.build(["x y z", "y y"], kind="word")
    ids, lengths, oov = vocab.encode_batch(["z x", "q"])
    assert ids.tolist() == vocab.encode("z x")
    assert lengths.tolist() == [2, 0] and oov.tolist() == [False, True]


def test_encode_batch_handles_astral_symbols() -> None:
    vocab = Vocabulary.build(["a😀b", "日本"])
    ids, _, oov = vocab.encode_batch(["😀日"])
    assert not oov.any()
    assert ids.tolist() == vocab.encode("😀日")
    assert isinstance(ids, torch.Tensor)


def test_json_round_trip_and_validation() -> None:
    vocab = Vocabulary.build(["a.b"])
    assert Vocabulary.from_json(vocab.to_json()) == vocab
    with pytest.raises(ModelFileError):
        Vocabulary.from_json({"kind": "char", "boundary": ".", "symbols": ["b", "a"]})
    with pytest.raises(ModelFileError):
        Vocabulary.from_json({"kind": "char", "boundary": "a", "symbols": ["a"]})
    with pytest.raises(ModelFileError):
        Vocabulary.from_json(["not", "a", "mapping"])
