"""Repeatability of the calibration: calibrate several times, predict the same models with each profile.

Issue 10's bar: repeated calibrations on a quiet machine give predictions within 5% of each other.
For each of the 31 models of ``bench_latency.SUITE`` at batch 1 this prints every profile's predicted
milliseconds and the spread ``max / min - 1`` across the profiles, then the median and largest spread
over the models, and each calibration's wall time against its budget.

This machine is not quiet: its speed drifts by tens of percent over minutes, and a profile calibrated in a
fast phase rightly predicts everything faster. So during each calibration, in its own rounds (one visit
per round, between the rounds of micro-benchmarks, outside its budget), the benchmark also times reference
models (``REFERENCES``, measured, never fit), and prints the spread once more with each profile's
predictions divided by the reference time measured during it: what is left is the calibration's own
variation. (Measured right after each calibration instead, the reference time was off by as much as the
drift itself: the machine's speed moves within a minute.)

    python benchmarks/bench_calibration.py [--repeats 3] [--budget 120] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

import costmodel
from costmodel.zoo import MODELS

sys.path.insert(0, str(Path(__file__).parent))
from bench_latency import SUITE  # the one suite, shared with the accuracy benchmark

#: Measured in each calibration's rounds: how fast the machine was while it calibrated.
REFERENCES = ("resnet18", "mobilenet_v2_x1.0", "shufflenet_v2_x1.0")


class MachineSpeed:
    """The reference models, one visit each per round (``round``): an untimed call, then 3 timed."""

    def __init__(self) -> None:
        self.models = [(MODELS[name]().eval(), torch.randn(1, 3, 224, 224)) for name in REFERENCES]
        self.samples: list[list[float]] = [[] for _ in REFERENCES]

    def round(self) -> None:
        with torch.no_grad():
            for (model, x), samples in zip(self.models, self.samples, strict=True):
                model(x)
                for _ in range(3):
                    begin = time.perf_counter()
                    model(x)
                    samples.append(time.perf_counter() - begin)

    def seconds(self) -> float:
        """Geometric mean of the reference models' median seconds."""
        return statistics.geometric_mean(statistics.median(s) for s in self.samples)


def spread_line(label: str, spreads: dict[str, float]) -> str:
    values = sorted(spreads.values())
    within = sum(v <= 0.05 for v in values) / len(values)
    return (
        f"{label}: median {statistics.median(values):.1%}, largest {values[-1]:.1%}, {within:.0%} of models within 5%"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="calibrations to compare")
    parser.add_argument("--budget", type=float, default=120.0, help="each calibration's budget in seconds")
    parser.add_argument("--json", help="write the predictions and spreads to this file")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)
    profiles, walls, speeds = [], [], []
    for index in range(args.repeats):
        began = time.perf_counter()
        speed = MachineSpeed()
        profiles.append(costmodel.calibrate(budget_s=args.budget, progress=False, between_rounds=speed.round))
        walls.append(time.perf_counter() - began)
        speeds.append(speed.seconds())
        print(
            f"calibration {index + 1}: {walls[-1]:.1f} s with the references' rounds (budget {args.budget:g} s); "
            f"reference models during it: {speeds[-1] * 1e3:.2f} ms (geometric mean)",
            flush=True,
        )
    header = " ".join(f"{f'profile {i + 1}':>10}" for i in range(len(profiles)))
    print(f"\n{'model':24} {header} {'spread':>7}")
    spreads, corrected, predictions = {}, {}, {}
    for name, zoo, side in SUITE:
        model = MODELS[zoo]().eval()
        predicted = [costmodel.report(model, (1, 3, side, side), device=p).predicted_ms for p in profiles]
        predictions[name] = predicted
        spreads[name] = max(predicted) / min(predicted) - 1
        relative = [p / speed for p, speed in zip(predicted, speeds, strict=True)]
        corrected[name] = max(relative) / min(relative) - 1
        print(f"{name:24} " + " ".join(f"{p:10.2f}" for p in predicted) + f" {spreads[name]:7.1%}")
    print(f"\n{spread_line(f'spread across {len(profiles)} calibrations', spreads)}")
    print(spread_line("the same, each profile relative to the machine's speed during it", corrected))
    print(
        f"machine speed (reference models) varied {max(speeds) / min(speeds) - 1:.1%} between calibrations; "
        f"calibration wall time {min(walls):.0f}-{max(walls):.0f} s"
    )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                {
                    "profiles": [p.to_dict() for p in profiles],
                    "wall_s": walls,
                    "predicted_ms": predictions,
                    "spread": spreads,
                    "reference_s": speeds,
                    "spread_relative_to_machine": corrected,
                },
                out,
                indent=2,
            )


if __name__ == "__main__":
    main()
