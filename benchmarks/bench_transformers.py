"""``report()`` against FlopCounterMode on Hugging Face models called directly (issue 9's speed bar).

The models and inputs are those of ``tests/test_transformers.py`` (small configs, keyword inputs, padding
masks). Each is warmed up, then ``report()`` and a FlopCounterMode run of the real model are timed
round-robin; medians and the ratio per model, and the ratio of the sums.

    python benchmarks/bench_transformers.py [--repeats 9]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import costmodel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_transformers import CASES  # the one list of models, shared with the tests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    print(f"{'model':18} {'report ms':>10} {'FlopCounterMode ms':>19} {'ratio':>7}")
    sums = [0.0, 0.0]
    for name in sorted(CASES):
        for attention in ("eager", "sdpa"):
            build, make_inputs = CASES[name]
            model, inputs = build(attention).eval(), make_inputs()

            def counted(model=model, inputs=inputs) -> None:
                with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False), torch.no_grad():
                    model(**inputs)

            runs = {"report": lambda model=model, inputs=inputs: costmodel.report(model, inputs), "fcm": counted}
            samples: dict[str, list[float]] = {key: [] for key in runs}
            for run in runs.values():
                run()
            for _ in range(args.repeats):
                for key, run in runs.items():
                    began = time.perf_counter()
                    run()
                    samples[key].append(time.perf_counter() - began)
            ours, theirs = statistics.median(samples["report"]), statistics.median(samples["fcm"])
            sums[0] += ours
            sums[1] += theirs
            print(f"{name + ' ' + attention:18} {ours * 1e3:10.1f} {theirs * 1e3:19.1f} {ours / theirs:7.2f}")
    print(
        f"summed: report {sums[0] * 1e3:.0f} ms, FlopCounterMode {sums[1] * 1e3:.0f} ms, ratio {sums[0] / sums[1]:.2f}"
    )


if __name__ == "__main__":
    main()
