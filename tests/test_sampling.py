"""The shared sampler draws exactly the lecture's tokens, only faster."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ngramkit import CountLM, sampling
from ngramkit.errors import NgramkitError

_COUNTS: dict[tuple[int, int], torch.Tensor] = {}


def lecture_counts(words: list[str], order: int, V: int, stoi: dict[str, int]) -> torch.Tensor:
    """The lecture's count matrix N [V^(order-1), V], by a plain loop over every token;
    kept per (order, list length): the tests sample from the same lists many times."""
    key = (order, len(words))
    if key not in _COUNTS:
        N = [[0] * V for _ in range(V ** (order - 1))]
        for w in words:
            ids = [0] * (order - 1) + [stoi[c] for c in w] + [0]
            for i in range(order - 1, len(ids)):
                ctx = 0
                for t in ids[i - order + 1 : i]:
                    ctx = ctx * V + t
                N[ctx][ids[i]] += 1
        _COUNTS[key] = torch.tensor(N, dtype=torch.int64)
    return _COUNTS[key]


def lecture_samples(words: list[str], order: int, k: float, n: int, seed: int) -> list[str]:
    """The lecture's loop: a float32 P from counts + k, one multinomial per token."""
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    itos = {i: s for s, i in stoi.items()}
    V = len(chars) + 1
    N = lecture_counts(words, order, V, stoi)
    P = (N + k).float()
    P /= P.sum(1, keepdims=True)
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        context, drawn = [0] * (order - 1), []
        while True:
            row = 0
            for t in context:
                row = row * V + t
            ix = torch.multinomial(P[row], num_samples=1, replacement=True, generator=g).item()
            if ix == 0:
                break
            drawn.append(itos[ix])
            context = [*context, ix][1:] if order > 1 else []
        out.append("".join(drawn))
    return out


@pytest.mark.parametrize("seed", [2147483647, 0, 42])
@pytest.mark.parametrize(("order", "k"), [(2, 1.0), (2, 0.0), (3, 1.0), (3, 0.5)])
def test_matches_lecture_loop(names: list[str], order: int, k: float, seed: int) -> None:
    words = names if order == 2 else names[:5000]
    model = CountLM(order=order, smooth=k).fit(words)
    assert model.sample(300, seed=seed) == lecture_samples(words, order, k, 300, seed)


def test_lecture_first_samples(names: list[str]) -> None:
    model = CountLM(order=2, smooth=1).fit(names)
    assert model.sample(5, seed=2147483647) == [
        "cexze",
        "momasurailezitynn",
        "konimittain",
        "llayn",
        "ka",
    ]


@pytest.mark.parametrize("V", [3, 17, 27, 100, 1001])
def test_torch_multinomial_is_exponential_argmax(V: int) -> None:
    """The identities the fast sampler relies on; a torch upgrade breaking them fails here."""
    p = torch.rand(V, generator=torch.Generator().manual_seed(V)) ** 3
    p /= p.sum()
    g = torch.Generator().manual_seed(7)
    one_by_one = [torch.multinomial(p, 1, replacement=True, generator=g).item() for _ in range(50)]
    g = torch.Generator().manual_seed(7)
    block = torch.empty(50, V).exponential_(1, generator=g)
    assert (p / block).argmax(1).tolist() == one_by_one
    g = torch.Generator().manual_seed(7)
    rows = torch.cat([torch.empty(1, V).exponential_(1, generator=g) for _ in range(50)])
    assert torch.equal(rows, block)


def test_seeded_prefix_temperature_and_max_len(names: list[str]) -> None:
    model = CountLM(order=2, smooth=1).fit(names)
    a = model.sample(20, seed=5, prefix="an", temperature=0.7)
    assert a == model.sample(20, seed=5, prefix="an", temperature=0.7)
    assert all(s.startswith("an") for s in a)
    assert model.sample(20, seed=6) != model.sample(20, seed=5)
    cut = model.sample(50, seed=1, cut=3)
    assert max(len(s) for s in cut) <= 3 and len(cut) == 50


def test_sampling_terminates_when_the_model_never_ends() -> None:
    model = CountLM(order=2, smooth=0).fit(["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" * 50])
    out = model.sample(3, seed=0, cut=40)
    assert [len(s) for s in out] == [40, 40, 40]


def test_bad_sampling_arguments(names: list[str]) -> None:
    model = CountLM().fit(names[:100])
    with pytest.raises(NgramkitError, match="outside the vocabulary"):
        model.sample(1, prefix="Q7")  # "Q" alone is "q" under the default rule
    with pytest.raises(NgramkitError, match="temperature"):
        model.sample(1, temperature=0)


def reference_sample(model: CountLM, n: int, seed: int, prefix: str, max_len: int) -> list[str]:
    """DESIGN.md's procedure, one multinomial per token, through next_logprobs."""
    vocab = model.vocab
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        ids = vocab.encode(prefix)
        drawn: list[int] = []
        while len(drawn) < max_len:
            ctx = ([0] * (model.order - 1) + ids + drawn)[len(ids + drawn) :]
            p = model.next_logprobs(torch.tensor([ctx])).double().exp().float()[0]
            ix = torch.multinomial(p, 1, replacement=True, generator=g).item()
            if ix == 0:
                break
            drawn.append(ix)
        out.append(vocab.decode(ids + drawn))
    return out


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.text(alphabet="abc", min_size=1, max_size=6), min_size=1, max_size=8),
    st.integers(1, 4),
    st.sampled_from([0.0, 0.5]),
    st.integers(0, 2**31),
    st.integers(1, 12),
    st.sampled_from(["", "a", "ba"]),
)
def test_matches_reference_procedure(
    items: list[str], order: int, k: float, seed: int, max_len: int, prefix: str
) -> None:
    model = CountLM(order=order, smooth=k).fit(items)
    if model.vocab.unknown(prefix):
        prefix = ""
    expected = reference_sample(model, 30, seed, prefix, max_len)
    assert model.sample(30, seed=seed, prefix=prefix, cut=max_len) == expected


def test_one_by_one_fallback_draws_the_same(
    names: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond int64 context keys the sampler draws token by token: same items."""
    import ngramkit.keys as keys

    model = CountLM(order=3, smooth=0.5).fit(names[:3000])
    fast = model.sample(40, seed=3, prefix="a", cut=9)
    monkeypatch.setattr(keys, "MAX_KEY", 10)
    assert model.sample(40, seed=3, prefix="a", cut=9) == fast
    assert model.sample(0, seed=3) == []


def test_a_large_block_draws_the_lecture_samples(names: list[str]) -> None:
    """3,000 items: the second block is large (walked in sampling._SEGMENT rows a segment)
    and decoded through the code-point table; the lecture's loop draws the same."""
    model = CountLM(order=2, smooth=1.0).fit(names)
    assert model.sample(3000, seed=2147483647) == lecture_samples(names, 2, 1.0, 3000, 2147483647)


def plain_record(sampler: sampling._Sampler, noise: torch.Tensor) -> list[tuple[int, ...]]:
    """The walk's record row by row, one draw at a time from the item start: (key,
    length, token) per row."""
    key, length, out = sampler.start_key, 0, []
    for q in range(len(noise)):
        k, n = torch.tensor([key]), torch.tensor([length])
        tok, nk, nl = sampler.step(noise[q : q + 1], k, n)
        out.append((key, length, int(tok)))
        key, length = int(nk), int(nl)
    return out


@pytest.mark.parametrize(("order", "cut"), [(1, 256), (2, 256), (2, 4), (3, 6), (5, 256)])
def test_any_segment_length_gives_the_plain_record(names: list[str], order: int, cut: int) -> None:
    """Speculative segments of 16 .. 2048 rows (a block of 2048): every row's state and
    draw as the plain one-row-at-a-time walk has them (cuts at `cut` symbols)."""
    model = CountLM(order=order, smooth=0.5).fit(names[:2000])
    stream = sampling.ItemStream(model, seed=1, max_len=cut)
    sampler = stream.sampler
    noise = torch.empty(2048, len(model.vocab)).exponential_(1, generator=stream.g)
    want = plain_record(sampler, noise)
    for L in (16, 64, 128, 256, 2048):
        zeros = torch.zeros(2048, dtype=torch.long)
        walk = sampling._Walk(noise, zeros.clone(), zeros.clone(), zeros.clone())
        sampler.walk(walk, sampler.start_key, 0, L)
        got = list(zip(walk.key.tolist(), walk.length.tolist(), walk.tok.tolist()))
        assert got == want, L
