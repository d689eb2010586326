"""Smoothing methods of the count backend: proper rows, known answers, NLTK.

The references here are independent: a plain-dict interpolated Kneser-Ney
written below from the textbook formulas (padding as ARPA does it: one <s>,
one </s>), and nltk.lm's WittenBellInterpolated / KneserNeyInterpolated.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ngramkit import CountLM, NgramkitError, OptionError
from ngramkit.corpus import Corpus
from ngramkit.counts import NgramCounts
from ngramkit.smoothing.interpolate import estimate
from ngramkit.smoothing.levels import level_counts
from ngramkit.smoothing.methods import METHODS

NAMES = Path(__file__).resolve().parents[1] / "examples" / "names.txt"
CORPORA = {
    "names300": NAMES.read_text().split()[:300],
    "one item": ["abc"],
    "seen once": ["ab", "ba", "abc", "xyz", "aaab"],
}
METHOD_NAMES = ["abs", "kn", "mkn", "wb", 0.5]


def probe_contexts(model: CountLM, items: list[str], n_random: int = 40) -> torch.Tensor:
    """Training contexts, random contexts and all-boundary contexts [B, order-1]."""
    N, V = model.order, len(model.vocab)
    grams, _ = Corpus.from_items(items, model.vocab).windows(N)
    g = torch.Generator().manual_seed(0)
    rand = torch.randint(0, V, (n_random, N - 1), generator=g)
    return torch.cat([grams[:200, :-1], rand, torch.zeros(1, N - 1, dtype=torch.long)])


@pytest.mark.parametrize("corpus", list(CORPORA))
@pytest.mark.parametrize("smooth", METHOD_NAMES)
def test_rows_sum_to_one_every_order(corpus: str, smooth: object) -> None:
    items = CORPORA[corpus]
    for order in range(1, 11):
        if smooth in ("kn", "mkn") and order == 1:
            continue
        model = CountLM(order=order, smooth=smooth).fit(items)
        rows = model.next_logprobs(probe_contexts(model, items))
        sums = rows.double().logsumexp(1)
        assert torch.allclose(sums, torch.zeros_like(sums), atol=1e-9), (order, sums)
        # token_logprobs gives the same numbers as the rows
        ctx = probe_contexts(model, items)[:20]
        tgt = torch.arange(len(ctx)) % len(model.vocab)
        assert torch.allclose(
            model.token_logprobs(ctx, tgt), rows[:20].gather(1, tgt[:, None])[:, 0]
        )


def test_rows_sum_to_one_word_level() -> None:
    items = ["the cat sat", "the dog sat down", "a cat", "dog"]
    corpus = Corpus.from_items(items, kind="word")
    for smooth in ("kn", "mkn", "wb", "abs"):
        for order in (2, 3, 5):
            model = CountLM(order=order, smooth=smooth).fit(corpus)
            rows = model.next_logprobs(probe_contexts(model, items))
            assert torch.allclose(
                rows.double().logsumexp(1), torch.zeros(len(rows)).double(), atol=1e-9
            )


@settings(max_examples=25, deadline=None)
@given(
    items=st.lists(st.text(alphabet="abcd", min_size=1, max_size=6), min_size=1, max_size=8),
    order=st.integers(2, 6),
    smooth=st.sampled_from(["abs", "kn", "mkn", "wb"]),
)
def test_rows_sum_to_one_property(items: list[str], order: int, smooth: str) -> None:
    model = CountLM(order=order, smooth=smooth).fit(items)
    rows = model.next_logprobs(probe_contexts(model, items, 10))
    assert torch.allclose(rows.double().logsumexp(1), torch.zeros(len(rows)).double(), atol=1e-9)


def test_unk_reserve_leaves_mass_for_unknown() -> None:
    # The unknown token is the last column now (issue 14): the known tokens' share of
    # each row is below 1, and the row with it sums to 1.
    model = CountLM(order=3, smooth="mkn", unk=True).fit(CORPORA["names300"])
    probs = model.next_logprobs(probe_contexts(model, CORPORA["names300"])).exp()
    known = probs[:, :-1].sum(1)
    assert bool((known < 1).all()) and bool((known > 0.99).all())
    assert torch.allclose(probs.sum(1), torch.ones(len(probs), dtype=torch.float64))
    assert math.isfinite(float(model.backoff_tables().logp[0][-1]))


# -- an independent plain-loop Kneser-Ney ------------------------------------


def loop_kneser_ney(items: list[str], order: int, D: float, V: int):
    """p(w | h) of interpolated KN, ARPA padding, from dicts; h and w as strings."""
    grams: list[Counter] = [Counter() for _ in range(order + 1)]
    for item in items:
        seq = ["<s>", *item, "</s>"]
        for k in range(1, order + 1):
            for i in range(len(seq) - k + 1):
                g = tuple(seq[i : i + k])
                if g != ("<s>",):
                    grams[k][g] += 1
    adj: list[dict] = [{} for _ in range(order + 1)]
    for k in range(1, order + 1):
        for g, c in grams[k].items():
            if k == order or g[0] == "<s>":
                adj[k][g] = c
            else:
                adj[k][g] = sum(1 for h in grams[k + 1] if h[1:] == g)
    ctx_total: list[dict] = [defaultdict(float) for _ in range(order + 1)]
    ctx_types: list[dict] = [defaultdict(int) for _ in range(order + 1)]
    for k in range(1, order + 1):
        for g, a in adj[k].items():
            ctx_total[k][g[:-1]] += a
            ctx_types[k][g[:-1]] += 1

    def p(w: str, h: tuple) -> float:
        k = len(h) + 1
        if k == 1:
            total, types = ctx_total[1][()], ctx_types[1][()]
            return max(adj[1].get((w,), 0) - D, 0) / total + D * types / total / V
        if h not in ctx_total[k]:
            return p(w, h[1:])
        total, types = ctx_total[k][h], ctx_types[k][h]
        own = max(adj[k].get((*h, w), 0) - D, 0) / total
        return own + D * types / total * p(w, h[1:])

    return p


def canonical(model: CountLM, ctx: list[int], w: int) -> tuple[tuple[str, ...], str]:
    """ngramkit ids -> ARPA strings: leading boundaries collapse to one <s>."""
    tok = model.vocab.tokens
    while len(ctx) > 1 and ctx[0] == 0 and ctx[1] == 0:
        ctx = ctx[1:]
    h = tuple("<s>" if t == 0 else tok[t] for t in ctx)
    return h, "</s>" if w == 0 else tok[w]


@pytest.mark.parametrize("order", [2, 3, 4])
def test_kn_matches_plain_loop(order: int) -> None:
    items = CORPORA["names300"][:60]
    model = CountLM(order=order, smooth="kn", discount=0.7).fit(items)
    ref = loop_kneser_ney(items, order, 0.7, len(model.vocab))
    ctx = probe_contexts(model, items, 30)
    rows = model.next_logprobs(ctx).exp()
    for i, c in enumerate(ctx.tolist()):
        for w in range(len(model.vocab)):
            h, ws = canonical(model, c, w)
            assert rows[i, w].item() == pytest.approx(ref(ws, h), rel=1e-9)


def test_mkn_counts_of_counts_discounts() -> None:
    """Chen & Goodman's estimates, checked against n_j counted by hand."""
    items = CORPORA["names300"]
    model = CountLM(order=3, smooth="mkn").fit(items)
    tri = Counter()  # the trigrams of "<s> item </s>", as lmplz counts them
    for item in items:
        seq = ["<s>", *item, "</s>"]
        tri.update(tuple(seq[i : i + 3]) for i in range(len(seq) - 2))
    n = [sum(1 for c in tri.values() if c == j) for j in range(1, 5)]
    y = n[0] / (n[0] + 2 * n[1])
    want = [j - (j + 1) * y * n[j] / n[j - 1] for j in (1, 2, 3)]
    assert model.learned_["discounts"][2] == pytest.approx(want)


# -- NLTK as a second reference -------------------------------------------------


def nltk_fit(cls, items: list[str], model: CountLM, **kw):
    """An nltk.lm model fed exactly ngramkit's windows and all their suffixes."""
    lm = pytest.importorskip("nltk.lm")
    N = model.order
    tok = model.vocab.tokens
    sents = []
    for item in items:
        grams, _ = Corpus.from_items([item], model.vocab).windows(N)
        sent = []
        for g in grams.tolist():
            words = tuple(tok[t] for t in g)
            sent.extend(words[N - k :] for k in range(1, N + 1))
        sents.append(sent)
    m = getattr(lm, cls)(N, **kw)
    m.fit(sents, vocabulary_text=list(tok))
    return m


@pytest.mark.parametrize(
    ("cls", "smooth", "kw", "nltk_kw"),
    [
        ("WittenBellInterpolated", "wb", {}, {}),
        ("KneserNeyInterpolated", "kn", {"discount": 0.4}, {"discount": 0.4}),
    ],
)
@pytest.mark.parametrize("order", [2, 3])
def test_agrees_with_nltk(cls: str, smooth: str, kw: dict, nltk_kw: dict, order: int) -> None:
    """Same estimator, with nltk's undiscounted unigrams (estimate(mle_unigrams=True)).

    Queries are limited to contexts without the boundary: nltk has no <s>
    rule (an n-gram starting at <s> cannot be extended left, so KN keeps its
    raw count). (Its KN divides by zero only on lower-order contexts that are
    never preceded, e.g. (<s>,) when items get a single <s>; with the windows
    fed here or NLTK's own padding it does not: bench/nltk_orders.py.)
    """
    items = CORPORA["names300"][:40]
    model = CountLM(order=order, smooth=smooth, **kw).fit(items)
    counts = NgramCounts.count(Corpus.from_items(items, model.vocab), order)
    method = METHODS[smooth]
    stages = level_counts(counts, method.continuation)
    D = model.learned_["discounts"]
    tables, _ = estimate(method, stages, D, len(model.vocab), mle_unigrams=True)
    ref = nltk_fit(cls, items, model, **nltk_kw)
    tok = model.vocab.tokens
    grams, _ = Corpus.from_items(items, model.vocab).windows(order)
    ctx = torch.unique(grams[:, :-1], dim=0)
    ctx = ctx[(ctx != 0).all(1)][:25]
    for c in ctx:
        rows = c.repeat(len(tok), 1)
        mine = tables.token_logprobs(rows, torch.arange(len(tok))).exp()
        for w in range(len(tok)):
            want = ref.score(tok[w], [tok[t] for t in c.tolist()])
            assert mine[w].item() == pytest.approx(want, rel=1e-9, abs=1e-15)


# -- bad input -------------------------------------------------------------------


def test_kn_at_order_one_is_an_error() -> None:
    with pytest.raises(OptionError, match="order >= 2"):
        CountLM(order=1, smooth="kn").fit(["abc"])


@pytest.mark.parametrize(
    ("smooth", "discount", "match"),
    [
        ("kn", "1.5", "0 < D <= 1"),
        ("kn", "0", "0 < D <= 1"),
        ("mkn", "0.5,2.5,1", "0 < D2 <= 2"),
        ("mkn", "0.5,1", "takes 3 value"),
        ("wb", "0.5", "takes no discount"),
    ],
)
def test_discount_out_of_range(smooth: str, discount: str, match: str) -> None:
    with pytest.raises(OptionError, match=match):
        CountLM(order=3, smooth=smooth, discount=discount).fit(["abc", "abd"])


def test_bad_smooth_value() -> None:
    with pytest.raises(OptionError, match="abs, kn, mkn, wb, auto"):
        CountLM(smooth="kneser")
    with pytest.raises(OptionError, match=">= 0"):
        CountLM(smooth=-1)


def test_tune_needs_a_dev_set() -> None:
    with pytest.raises(NgramkitError, match="too few training items"):
        CountLM(order=2, smooth="kn", tune=True).fit(["abc"])
