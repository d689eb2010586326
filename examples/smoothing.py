"""Smoothing on names.txt: add-k against Kneser-Ney, tuned, and an ARPA round trip.

Splits examples/names.txt 90/10 (seeded, as `ngramkit fit` does), fits the
count backend at orders 2-6 with add-1, Kneser-Ney, modified Kneser-Ney, and
modified Kneser-Ney with its discounts tuned by 5-fold cross-validation on
the training part (the validation part is never seen while tuning), and
prints the validation NLL of each (nats per predicted token). Then it writes
the best model as an ARPA file (best.arpa, in the current folder), reads it
back, and checks that both score the validation names alike.

    python examples/smoothing.py
"""

from __future__ import annotations

from pathlib import Path

import torch

from ngramkit import CountLM, corpus_metrics
from ngramkit.data import train_val_split
from ngramkit.reader import read_items
from ngramkit.smoothing import arpa

torch.set_num_threads(1)  # small tensor ops: one thread is fastest
NAMES = Path(__file__).resolve().parent / "names.txt"
METHODS = {
    "add-1": {"smooth": 1.0},
    "kn": {"smooth": "kn"},
    "mkn": {"smooth": "mkn"},
    "mkn --tune": {"smooth": "mkn", "tune": True},
}

train, val = train_val_split(read_items(NAMES).items, 0.1, 2147483647)
print(f"{len(train)} training names, {len(val)} validation names\n")
print("order  " + "  ".join(f"{name:>10}" for name in METHODS))
best: tuple[float, CountLM] | None = None
for order in range(2, 7):
    cells = []
    for hparams in METHODS.values():
        model = CountLM(order=order, **hparams).fit(train)
        nll = corpus_metrics(model, val).nll
        cells.append(f"{nll:10.4f}")
        if best is None or nll < best[0]:
            best = (nll, model)
    print(f"{order:>5}  " + "  ".join(cells))

assert best is not None
nll, model = best
print(
    f"\nbest: order {model.order}, smooth {model.hparams['smooth']}, tune "
    f"{model.hparams['tune']}: validation NLL {nll:.4f}"
)
arpa.save(model, "best.arpa")
read = arpa.read("best.arpa")
back = CountLM.from_tables(read.tables, read.vocab)
gap = max(abs(model.logprob(s) - back.logprob(s)) for s in val[:500])
print(f"best.arpa read back: largest log-probability gap on 500 names {gap:.1e} nats")
