"""The wavenet backend on makemore's split: test NLL and training time.

Trains on shared/data/makemore-split/train.txt (or DATA=dir) with the default
options (or KEY=VALUE arguments, e.g. steps=100000 batch_size=64), then
prints the test NLL (nats/token) on test.txt, the training time (wall and CPU
seconds of this process, and the load average, since the machine may be
shared) and the train NLL. Target (issue 17): test NLL <= 2.00 within 10
minutes of training on 2 CPU cores. Optionally saves the model (OUT=path).

    .venv/bin/python plugins/ngramkit-wavenet/bench/makemore_nll.py [steps=... ...]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from ngramkit import corpus_metrics, read_items, save

from ngramkit_wavenet.model import WaveNetLM

# ../shared/data/makemore-split, beside the repository (as issue 17 names it)
SPLIT = Path(__file__).resolve().parents[4] / "shared" / "data" / "makemore-split"


def report(done: int, total: int, loss: float) -> None:
    """Print a line every 10,000 steps: step, mean loss of the last block, CPU seconds."""
    if done % 10_000 == 0 or done == total:
        print(f"step {done}/{total} loss {loss:.4f} cpu {time.process_time():.0f} s", flush=True)


def main(args: list[str]) -> None:
    pairs = dict(a.split("=", 1) for a in args)
    split = Path(pairs.pop("DATA", SPLIT))
    out = pairs.pop("OUT", None)
    train = read_items(split / "train.txt").items
    test = read_items(split / "test.txt").items
    model = WaveNetLM(**pairs)
    load_before = os.getloadavg()
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(train, progress=report)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    nll = corpus_metrics(model, test).nll
    print(f"wavenet {model.hparams}")
    print(f"summary {model.summary()}")
    print(f"wavenet: train NLL {corpus_metrics(model, train).nll:.4f}, test NLL {nll:.4f}")
    print(f"training: {wall:.1f} s wall, {cpu:.1f} s CPU ({cpu / wall:.2f} CPU/wall)")
    print(f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} (2 cores)")
    met = nll <= 2.00 and cpu <= 600
    print(f"target test NLL <= 2.00 in <= 600 s CPU: {'met' if met else 'NOT met'}")
    if out:
        save(model, out)


if __name__ == "__main__":
    main(sys.argv[1:])
