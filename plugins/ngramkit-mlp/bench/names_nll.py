"""The MLP on names.txt: validation NLL and training time, against count models.

Same run as `ngramkit fit examples/names.txt --backend mlp --order 4`: a
seeded 90/10 split (seed 2147483647), then the MLP with its default
hyperparameters (or KEY=VALUE arguments). Prints the validation NLL
(nats/token), the training time (wall and CPU seconds of this process, and
the load average, since the machine may be shared), and the count models'
NLL on the same split as the reference. Target (issue 4): val NLL <= 2.15
within 3 minutes of training on 2 CPU cores. About 1 minute on a quiet core.

    .venv/bin/python plugins/ngramkit-mlp/bench/names_nll.py [steps=100000 ...]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from ngramkit import CountLM, corpus_metrics, read_items, split

from ngramkit_mlp.model import MLPLM

DATA = Path(__file__).resolve().parents[3] / "examples" / "names.txt"
SEED = 2147483647


def main(args: list[str]) -> None:
    hparams = dict(a.split("=", 1) for a in args)
    train, val = split(read_items(DATA).items, 0.1, SEED)
    for order in (2, 3):
        ref = CountLM(order=order, smooth=0.1).fit(train)
        print(f"count order {order} (smooth 0.1): val NLL {corpus_metrics(ref, val).nll:.4f}")
    model = MLPLM(**hparams)
    load_before = os.getloadavg()
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(train)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    nll = corpus_metrics(model, val).nll
    print(f"mlp {model.hparams}")
    print(f"mlp: train NLL {corpus_metrics(model, train).nll:.4f}, val NLL {nll:.4f} nats/token")
    print(f"training: {wall:.1f} s wall, {cpu:.1f} s CPU ({cpu / wall:.2f} CPU/wall)")
    print(f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} (2 cores)")
    print(
        f"target val NLL <= 2.15 in <= 180 s: {'met' if nll <= 2.15 and wall <= 180 else 'NOT met'}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
