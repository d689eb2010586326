"""Quantization's cost: test NLL and file size of quantized count models.

Fits modified Kneser-Ney at orders 3 and 5 on the makemore split's train
names (/work/shared/data/makemore-split, or --split), then quantizes the
probabilities and backoff weights to 8, 6 and 4 bits (ngramkit.quantize, as
KenLM's build_binary -q/-b) and reports the test NLL (nats per predicted
token, as the eval command averages it), its change, the change export
reports without --on (on quantize.SAMPLE_ITEMS items drawn from the exact
model: an estimate of the KL divergence) and the model file's size (format
2: one byte per quantized value).

    .venv/bin/python bench/bench_quantize.py
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from ngramkit import CountLM, persist
from ngramkit.evaluate import corpus_metrics
from ngramkit.quantize import cost_on_sample, quantize


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="/work/shared/data/makemore-split")
    args = ap.parse_args()
    train = Path(args.split, "train.txt").read_text().split()
    test = Path(args.split, "test.txt").read_text().split()
    print(
        f"{'order':>5} {'bits (p/b)':>10} {'test NLL':>10} {'change':>9} {'drawn':>9} "
        f"{'file bytes':>11}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for order in (3, 5):
            model = CountLM(order=order, smooth="mkn").fit(train)
            base = corpus_metrics(model, test).nll
            for bits in (None, 8, 6, 4):
                m = model if bits is None else quantize(model, bits, bits)
                nll = corpus_metrics(m, test).nll
                size = persist.save(m, Path(tmp, "m.ngk")).stat().st_size
                label = "exact" if bits is None else f"{bits}/{bits}"
                drawn = f"{cost_on_sample(model, m).change:+.4f}" if bits else ""
                print(
                    f"{order:>5} {label:>10} {nll:>10.4f} {nll - base:>+9.4f} {drawn:>9} "
                    f"{size:>11,}"
                )


if __name__ == "__main__":
    main()
