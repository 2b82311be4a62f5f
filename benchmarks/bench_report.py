"""Speed and memory of ``costmodel.report`` against fvcore and torch's FlopCounterMode.

Prints the time and peak memory of a >600 M-parameter model built on the meta device; then,
for each zoo model, the median wall time of each tool over several runs in
this one process, timed round-robin (this machine's speed drifts by tens of percent
over minutes), and the ratios; then how time grows with the number of layers.

    python benchmarks/bench_report.py [--repeats 7] [--batches 1 8]
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import platform
import resource
import statistics
import time
import tracemalloc
import warnings
from collections.abc import Callable

import torch
from torch import nn

import costmodel
from costmodel.zoo import MODELS

MODELS_TIMED = ("shufflenet_v2_x1.0", "shufflenet_v1_g3_x1.0", "mobilenet_v2_x1.0", "shufflenet_v2_x2.0")


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` after one warm-up call."""
    return interleaved_medians([fn], repeats)[0]


def interleaved_medians(fns: list[Callable[[], object]], repeats: int) -> list[float]:
    """Median wall time of each function, timed round-robin so machine drift hits all alike."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, samples in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
    return [statistics.median(samples) for samples in times]


def flop_counter(model: nn.Module, x: torch.Tensor) -> int:
    """torch's FlopCounterMode total (runs the model on real data)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    return counter.get_total_flops()


def fvcore_count(model: nn.Module, x: torch.Tensor) -> int:
    """fvcore's FlopCountAnalysis total (jit-traces the model on real data)."""
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return analysis.total()


def compare_tools(repeats: int, batch: int) -> None:
    print(f"batch {batch}, 224x224 (costmodel does the same work at any batch; the others run the model)")
    print(f"{'model':24} {'costmodel':>10} {'fvcore':>10} {'FlopCntr':>10} {'fvcore/cm':>10} {'FlopCntr/cm':>12}")
    shape = (batch, 3, 224, 224)
    for name in MODELS_TIMED:
        model = MODELS[name]().eval()
        x = torch.zeros(shape)
        ours, fv, fc = interleaved_medians(
            [
                lambda: costmodel.report(model, shape),  # noqa: B023
                lambda: fvcore_count(model, x),  # noqa: B023
                lambda: flop_counter(model, x),  # noqa: B023
            ],
            repeats,
        )
        print(f"{name:24} {ours * 1e3:8.1f}ms {fv * 1e3:8.1f}ms {fc * 1e3:8.1f}ms {fv / ours:9.2f}x {fc / ours:11.2f}x")


class Block(nn.Module):
    """Pre-norm MLP block: LayerNorm -> Linear(d, 4d) -> GELU -> Linear(4d, d), residual."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.up = nn.Linear(width, 4 * width)
        self.down = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.down(nn.functional.gelu(self.up(self.norm(x))))


def large_meta_model() -> None:
    start = time.perf_counter()
    costmodel.report(nn.Linear(8, 8), (2, 8))  # one-time imports (torch's meta kernels pull in sympy)
    warmup = time.perf_counter() - start
    with torch.device("meta"):
        model = nn.Sequential(*[Block(4096) for _ in range(5)], nn.Linear(4096, 32000))
    n_params = sum(p.numel() for p in model.parameters())
    gc.collect()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    rep = costmodel.report(model, (8, 512, 4096))
    first = time.perf_counter() - start
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    costmodel.report(model, (8, 512, 4096))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    timed = median_seconds(lambda: costmodel.report(model, (8, 512, 4096)), 5)
    print(
        f"one-time warm-up of a fresh process (imports): {warmup:.2f} s\n"
        f"meta model: {n_params / 1e6:.0f} M params, {rep.flops / 1e9:.0f} G multiply-adds on [8, 512, 4096]: "
        f"first call {first:.3f} s, median {timed:.3f} s; peak Python allocations {peak / 2**20:.1f} MiB, "
        f"process peak RSS {rss_before:.0f} -> {rss_after:.0f} MiB"
    )


def scaling(repeats: int) -> None:
    print("layers  time      per layer")
    for depth in (25, 50, 100, 200, 400):
        model = nn.Sequential(
            *[
                nn.Sequential(nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
                for _ in range(depth)
            ]
        )
        seconds = median_seconds(lambda: costmodel.report(model, (1, 32, 28, 28)), repeats)  # noqa: B023
        print(f"{3 * depth:6d}  {seconds * 1e3:7.1f}ms {seconds / (3 * depth) * 1e6:7.1f}us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    large_meta_model()  # first, so the process's peak RSS is not yet raised by the other tools
    for batch in args.batches:
        compare_tools(args.repeats, batch)
    scaling(args.repeats)


if __name__ == "__main__":
    main()
