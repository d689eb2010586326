"""A large corpus is encoded and counted a chunk at a time, with the numbers of the whole."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ngramkit.corpus as corpus_module
from ngramkit import CountLM, NgramCounts, Vocabulary
from ngramkit.corpus import Corpus, encode

VOCAB = Vocabulary.build(["abc", "d"])  # "x" and "é" are unknown: OOV items


@pytest.fixture
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 8 characters and laziness from 3 items, so small lists take the chunked path."""
    monkeypatch.setattr(corpus_module, "ENCODE_CHUNK", 8)
    monkeypatch.setattr(corpus_module, "LAZY_MIN_ITEMS", 3)


items_lists = st.lists(st.text(alphabet="abcdxé", max_size=9), min_size=4, max_size=30)


@settings(max_examples=40, deadline=None)
@given(items=items_lists)
def test_chunked_encoding_is_the_whole_encoding(items: list[str]) -> None:
    stream, oov = VOCAB.encode_stream(items)
    for chunk in (1, 3, 8):
        got_stream, got_oov = encode(VOCAB, items, chunk)
        assert torch.equal(got_stream, stream) and torch.equal(got_oov, oov)


@settings(max_examples=25, deadline=None)
@given(items=items_lists, order=st.integers(1, 5))
def test_lazy_corpus_counts_without_the_whole_stream(items: list[str], order: int) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(corpus_module, "ENCODE_CHUNK", 8)
        mp.setattr(corpus_module, "LAZY_MIN_ITEMS", 3)
        lazy = Corpus.from_items(items, VOCAB)
        stream, oov = VOCAB.encode_stream(items)
        if sum(map(len, items)) + len(items) + 1 > 16:  # more than two chunks: lazy
            assert torch.equal(lazy.oov, oov) and lazy.n_tokens == len(stream) - 1
            counts = NgramCounts.count(lazy, order, chunk_tokens=5)
            assert "stream" not in vars(lazy)  # counted chunk by chunk
        else:
            counts = NgramCounts.count(lazy, order, chunk_tokens=5)
    whole = NgramCounts.count(Corpus.from_items(items, VOCAB), order)
    for a, b in zip(counts.keys + counts.counts, whole.keys + whole.counts):
        assert torch.equal(a, b)
    assert torch.equal(lazy.stream, stream)  # encoded on demand, the same stream


@pytest.mark.usefixtures("tiny_chunks")
def test_lazy_fit_gives_the_same_model(names: list[str]) -> None:
    lazy = CountLM(order=4, smooth="mkn").fit(names[:3000])
    assert lazy.training is not None
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(corpus_module, "LAZY_MIN_ITEMS", 10**9)
        whole = CountLM(order=4, smooth="mkn").fit(names[:3000])
    assert whole.training == lazy.training
    for name, tensor in whole.state()[1].items():
        assert torch.equal(tensor, lazy.state()[1][name]), name


@settings(max_examples=40, deadline=None)
@given(
    items=st.lists(st.text(alphabet="ab é\n", max_size=9), min_size=4, max_size=30),
    kind=st.sampled_from(["char", "word"]),
)
def test_own_vocabulary_counts_tokens_without_encoding(items: list[str], kind: str) -> None:
    """A corpus whose vocabulary was built from its items knows it has no OOV item and
    counts its tokens without an encoding pass; the figures equal the encoded stream's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(corpus_module, "ENCODE_CHUNK", 8)
        mp.setattr(corpus_module, "LAZY_MIN_ITEMS", 3)
        corpus = Corpus.from_items(items, kind=kind)
        stream, oov = corpus.vocab.encode_stream(items)
        assert torch.equal(corpus.oov, oov) and not bool(oov.any())
        assert corpus.n_tokens == len(stream) - 1
