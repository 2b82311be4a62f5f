"""Predicted against measured latency on models the calibration never saw.

Calibrates once (synthetic micro-benchmarks only) and measures every model below in the
calibration's own rounds: after each round of micro-benchmarks, one visit to every model
(round-robin), so the machine's drift (tens of percent over minutes on a shared VM) hits the
profile and the models alike. Then it predicts each model three ways:

- FLOPs line: least squares ``t = a + b * FLOPs`` fit to these very models (in-sample);
- FLOPs + MAC: ``t = a + b * FLOPs + c * MAC bytes``, also in-sample;
- the calibrated profile, fit to nothing here.

and prints Kendall's tau, the median |error| and the share within +-15% for each.

    python benchmarks/bench_latency.py [--budget 120] [--batches 1 8] [--rounds 15] [--json out.json]

Last, it times ``report()`` with the profile against without it, on every model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

import costmodel
from costmodel.zoo import MODELS

#: (name, zoo model, input side): the zoo across widths and resolutions and the classic architectures.
SUITE: tuple[tuple[str, str, int], ...] = (
    *((f"shufflenet_v2_x{w}", f"shufflenet_v2_x{w}", 224) for w in (0.5, 1.0, 1.5, 2.0)),
    ("shufflenet_v2_x1.0@160", "shufflenet_v2_x1.0", 160),
    *((f"shufflenet_v1_g{g}_x1.0", f"shufflenet_v1_g{g}_x1.0", 224) for g in (1, 2, 3, 4, 8)),
    *((f"shufflenet_v1_g3_x{w}", f"shufflenet_v1_g3_x{w}", 224) for w in (0.5, 2.0)),
    *((f"mobilenet_v2_x{w}", f"mobilenet_v2_x{w}", 224) for w in (0.35, 0.5, 0.75, 1.0, 1.4)),
    ("mobilenet_v2_x1.0@160", "mobilenet_v2_x1.0", 160),
    ("mobilenet_v2_x1.0@192", "mobilenet_v2_x1.0", 192),
    *((f"mobilenet_v1_x{a}", f"mobilenet_v1_x{a}", 224) for a in (0.25, 0.5, 0.75, 1.0)),
    ("resnet18", "resnet18", 224),
    ("resnet18@160", "resnet18", 160),
    ("resnet34", "resnet34", 224),
    ("resnet50", "resnet50", 224),
    ("vgg11", "vgg11", 224),
    ("squeezenet1_1", "squeezenet1_1", 224),
    ("vit_tiny", "vit_tiny", 224),
    ("vit_small", "vit_small", 224),
)


@dataclass
class Row:
    """One model: measured median and quartiles (ms), the walker's FLOPs and MAC bytes, the prediction (ms)."""

    name: str
    measured: float
    q1: float
    q3: float
    flops: int
    mac_bytes: int
    predicted: float


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b of two rankings."""
    concordant = discordant = ties_x = ties_y = 0
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif dx == dy:
                concordant += 1
            else:
                discordant += 1
    denominator = np.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return float((concordant - discordant) / denominator) if denominator else 0.0


def scores(measured: Sequence[float], predicted: Sequence[float]) -> tuple[float, float, float]:
    """(Kendall tau, median |relative error|, share within +-15%)."""
    errors = [abs(p / m - 1) for m, p in zip(measured, predicted, strict=True)]
    return kendall_tau(measured, predicted), statistics.median(errors), sum(e <= 0.15 for e in errors) / len(errors)


def in_sample_fit(columns: Sequence[Sequence[float]], measured: Sequence[float]) -> list[float]:
    """Least-squares predictions of ``measured`` from an intercept and ``columns`` (fit on the same data)."""
    a = np.column_stack([np.ones(len(measured)), *columns])
    coefficients, *_ = np.linalg.lstsq(a, np.asarray(measured), rcond=None)
    return list(a @ coefficients)


def measure_round_robin(
    runs: dict[str, Callable[[], object]], rounds: int, per_visit: int = 3
) -> dict[str, list[float]]:
    """Seconds per call of each model, visited once per round (drift hits all alike).

    Each visit makes one untimed call, then ``per_visit`` timed ones back to back: the
    latency of a model run repeatedly (its weights in cache, threads awake), as
    ``costmodel.measure`` and the calibration time it, not of a model cold after 30 others.
    """
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            run()
            for _ in range(per_visit):
                begin = time.perf_counter()
                run()
                samples[name].append(time.perf_counter() - begin)
    return samples


class Suite:
    """Every model of ``SUITE`` at each batch, measured one visit per model per round (``round``)."""

    def __init__(self, batches: Sequence[int]) -> None:
        self.models: dict[int, dict[str, tuple[nn.Module, torch.Tensor]]] = {
            batch: {name: (MODELS[zoo]().eval(), torch.randn(batch, 3, side, side)) for name, zoo, side in SUITE}
            for batch in batches
        }
        self.samples: dict[int, dict[str, list[float]]] = {b: {name: [] for name, _, _ in SUITE} for b in batches}
        self.rounds = 0

    def round(self) -> None:
        """One visit to every model at every batch: an untimed call, then 3 timed back to back."""
        with torch.no_grad():
            for batch, models in self.models.items():
                runs = {name: (lambda m=m, x=x: m(x)) for name, (m, x) in models.items()}
                for name, values in measure_round_robin(runs, 1).items():
                    self.samples[batch][name] += values
        self.rounds += 1

    def rows(self, profile: costmodel.DeviceProfile, batch: int) -> list[Row]:
        """Measured and predicted, every model at ``batch``."""
        rows = []
        for name, (model, x) in self.models[batch].items():
            rep = costmodel.report(model, tuple(x.shape), profile=profile)
            q1, median, q3 = statistics.quantiles(self.samples[batch][name], n=4, method="inclusive")
            rows.append(Row(name, median * 1e3, q1 * 1e3, q3 * 1e3, rep.flops, rep.mac_bytes, rep.predicted_ms))
        return rows


def summary(rows: list[Row]) -> dict[str, tuple[float, float, float]]:
    """Scores of the three predictors."""
    measured = [r.measured for r in rows]
    flops_only = in_sample_fit([[r.flops for r in rows]], measured)
    flops_mac = in_sample_fit([[r.flops for r in rows], [r.mac_bytes for r in rows]], measured)
    return {
        "FLOPs line (in-sample)": scores(measured, flops_only),
        "FLOPs + MAC (in-sample)": scores(measured, flops_mac),
        "calibrated profile": scores(measured, [r.predicted for r in rows]),
    }


def print_rows(rows: list[Row]) -> None:
    print(f"{'model':24} {'measured ms (IQR)':>24} {'predicted':>10} {'error':>7} {'MFLOPs':>8} {'MAC MB':>8}")
    for r in rows:
        print(
            f"{r.name:24} {r.measured:8.2f} ({r.q1:6.2f}-{r.q3:6.2f}) {r.predicted:10.2f} "
            f"{r.predicted / r.measured - 1:+7.0%} {r.flops / 1e6:8.0f} {r.mac_bytes / 1e6:8.1f}"
        )


def report_overhead(profile: costmodel.DeviceProfile, repeats: int) -> dict[str, float]:
    """``report()``'s time with the profile over its time without, per model at batch 1 (round-robin).

    Medians, and minima (the least-disturbed run of code that does the same work every time, as ``timeit``
    advises): on a shared machine a single contended run can move a median of few repeats.
    """
    print(f"\nreport() with the profile against without, batch 1, {repeats} round-robin repeats")
    print(f"{'model':24} {'plain ms':>9} {'profile ms':>10} {'ratio':>7} {'min ratio':>9}")
    ratios, fastest, sums = {}, {}, {"plain": 0.0, "profile": 0.0, "plain_min": 0.0, "profile_min": 0.0}
    for name, zoo, side in SUITE:
        model, shape = MODELS[zoo]().eval(), (1, 3, side, side)
        runs = {
            "plain": lambda m=model, s=shape: costmodel.report(m, s),
            "profile": lambda m=model, s=shape: costmodel.report(m, s, profile=profile),
        }
        samples = measure_round_robin(runs, repeats, per_visit=1)
        for key, values in samples.items():
            sums[key] += statistics.median(values)
            sums[f"{key}_min"] += min(values)
        plain, with_profile = statistics.median(samples["plain"]), statistics.median(samples["profile"])
        ratios[name] = with_profile / plain
        fastest[name] = min(samples["profile"]) / min(samples["plain"])
        print(f"{name:24} {plain * 1e3:9.1f} {with_profile * 1e3:10.1f} {ratios[name]:7.3f} {fastest[name]:9.3f}")
    values, minima = sorted(ratios.values()), sorted(fastest.values())
    summed, summed_min = sums["profile"] / sums["plain"], sums["profile_min"] / sums["plain_min"]
    print(
        f"summed over the suite: medians {summed:.3f}, minima {summed_min:.3f}; per model median "
        f"{statistics.median(values):.3f} (range {values[0]:.3f}-{values[-1]:.3f}), of minima "
        f"{statistics.median(minima):.3f} (range {minima[0]:.3f}-{minima[-1]:.3f})"
    )
    return {"summed": summed, "summed_min": summed_min, **ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=120.0, help="calibration budget in seconds")
    parser.add_argument("--profile", help="a saved profile to use instead of calibrating")
    parser.add_argument("--batches", type=int, nargs="*", default=[1, 8], help="none: only the overhead")
    parser.add_argument(
        "--rounds",
        type=int,
        default=7,
        help="visits per model at least (one per calibration round; 3 timed calls each)",
    )
    parser.add_argument("--overhead-repeats", type=int, default=9, help="report() timings with/without (0: skip)")
    parser.add_argument("--json", help="write every row and score to this file")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    print(f"{os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)
    started = time.perf_counter()
    suite = Suite(args.batches)
    if args.profile:
        profile = costmodel.DeviceProfile.load(args.profile)
    else:
        profile = costmodel.calibrate(budget_s=args.budget, between_rounds=suite.round if args.batches else None)
        spent = time.perf_counter() - started
        print(
            f"calibration: {spent:.1f} s with the models' {suite.rounds} rounds in between (budget {args.budget:g} s)"
        )
    while args.batches and suite.rounds < args.rounds:
        suite.round()
    print(profile.describe())
    results = {}
    for batch in args.batches:
        rows = suite.rows(profile, batch)
        together = "in the calibration's rounds" if not args.profile else "after loading the profile"
        print(f"\nbatch {batch}: {len(rows)} models, {suite.rounds} visits each, round-robin, {together}")
        print_rows(rows)
        table = summary(rows)
        print(f"\n{'predictor':26} {'Kendall tau':>11} {'median |err|':>13} {'within 15%':>11}")
        for predictor, (tau, error, within) in table.items():
            print(f"{predictor:26} {tau:11.3f} {error:13.1%} {within:11.0%}")
        results[batch] = {"rows": [vars(r) for r in rows], "scores": table}
    overhead = report_overhead(profile, args.overhead_repeats) if args.overhead_repeats else {}
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"profile": profile.to_dict(), "batches": results, "report_overhead": overhead}, out, indent=2)


if __name__ == "__main__":
    main()
