"""The makemore bigram lecture in a few lines of ngramkit's public API.

Fits the count bigram on names.txt with and without add-one smoothing, prints
the lecture's NLL figures (exact, float64), the per-token breakdown of
"andrej" and five samples drawn with the lecture's generator seed.
Runs in about 2 s (most of it importing torch).
"""

from pathlib import Path

from ngramkit import CountLM, corpus_metrics, read_items, token_breakdown

names = read_items(Path(__file__).with_name("names.txt")).items

for k in (0, 1):
    model = CountLM(order=2, smooth=k).fit(names)
    m = corpus_metrics(model, names)
    print(f"smooth={k}: NLL {m.nll:.4f} nats over {m.tokens:,} tokens")

for t in token_breakdown(model, "andrej"):
    print(f"{t.context}{t.token}: {t.prob:.4f} {t.logprob:.4f}")

print(model.sample(5, seed=2147483647))
