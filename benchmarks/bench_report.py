"""Speed and memory of ``costmodel.report`` against fvcore and torch's FlopCounterMode.

Prints the time and peak memory of a >600 M-parameter model built on the meta device; then,
for CNNs of the zoo and Hugging Face transformers from small configs (called with keyword inputs,
as their users call them), the median wall time of each tool over several runs in this one
process, timed round-robin per model (this machine's speed drifts by tens of percent over
minutes), with IQRs and ratios; then each tool's first call on a model in fresh processes (what a
new session meets); then how time grows with the number of layers.

    python benchmarks/bench_report.py [--repeats 9] [--batches 1 8] [--fresh 5]
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

import costmodel
from costmodel.zoo import MODELS

#: CNNs and a ViT of the zoo, timed on [batch, 3, 224, 224].
CNNS = (
    "shufflenet_v2_x1.0", "shufflenet_v2_x2.0", "shufflenet_v1_g3_x1.0", "mobilenet_v2_x1.0", "mobilenet_v1_x1.0",
    "resnet18", "resnet50", "vgg11", "squeezenet1_1", "vit_tiny",
)  # fmt: skip


def interleaved(fns: list[Callable[[], object]], repeats: int) -> list[list[float]]:
    """Wall times of each function, timed round-robin (one warm-up call each first) so drift hits all alike."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, samples in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
    return times


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` after one warm-up call."""
    return statistics.median(interleaved([fn], repeats)[0])


def flop_counter(model: nn.Module, inputs: Any) -> int:
    """torch's FlopCounterMode total (runs the model on real data; attention on its math backend)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with sdpa_kernel(SDPBackend.MATH), counter, torch.no_grad():
        model(**inputs) if isinstance(inputs, dict) else model(inputs)
    return counter.get_total_flops()


def fvcore_count(model: nn.Module, x: torch.Tensor) -> int:
    """fvcore's FlopCountAnalysis total (jit-traces the model on real data)."""
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return analysis.total()


def _cold(model: nn.Module, inputs: Any) -> object:
    """A report as a fresh process's first one would run it: every cache store emptied (costmodel.clear_caches)."""
    costmodel.clear_caches()
    return costmodel.report(model, inputs)


def suite(batch: int) -> list[tuple[str, nn.Module, Any, torch.Tensor | None]]:
    """(name, model, inputs as the user calls it, the tensor fvcore is given or ``None``)."""
    cases: list[tuple[str, nn.Module, Any, torch.Tensor | None]] = []
    for name in CNNS:
        x = torch.randn(batch, 3, 224, 224)
        cases.append((name, MODELS[name]().eval(), x, x))
    if batch != 1:  # the transformers run on the tests' own inputs (batch 2, 16 tokens): timed once, at batch 1
        return cases
    try:
        cases_by_name = _small_configs()
    except ImportError:  # transformers not installed
        return cases
    cases += [
        (f"hf {name} {attention}", cases_by_name[name][0](attention).eval(), cases_by_name[name][1](), None)
        for name in sorted(cases_by_name)
        for attention in ("eager", "sdpa")
    ]
    return cases + full_size_transformers()


def full_size_transformers() -> list[tuple[str, nn.Module, Any, None]]:
    """BERT-base, GPT-2 (124 M) and ViT-B/16 from their default configs (random weights, no download), on a
    sequence of 128 tokens with a padding mask that masks, and one 224x224 image: models as users run them."""
    import transformers as T

    ids = torch.randint(0, 1000, (1, 128), generator=torch.Generator().manual_seed(0))
    mask = torch.ones(1, 128, dtype=torch.long)
    mask[0, 100:] = 0
    image = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    return [
        ("hf bert-base sdpa", T.BertModel(T.BertConfig(attn_implementation="sdpa")).eval(),
         {"input_ids": ids, "attention_mask": mask}, None),
        ("hf gpt2-124M sdpa", T.GPT2Model(T.GPT2Config(attn_implementation="sdpa")).eval(),
         {"input_ids": ids, "attention_mask": mask}, None),
        ("hf vit-b16 sdpa", T.ViTModel(T.ViTConfig(attn_implementation="sdpa")).eval(), {"pixel_values": image}, None),
    ]  # fmt: skip


def _iqr(samples: list[float]) -> float:
    q1, _, q3 = statistics.quantiles(samples, n=4)
    return q3 - q1


def compare_tools(repeats: int, batch: int) -> None:
    """report() warm and cold against FlopCounterMode and fvcore on every model, round-robin per model."""
    print(
        f"batch {batch}: medians of {repeats} round-robin runs in ms (IQR); ratios are costmodel / other, "
        "so below 1 is faster.\n'cold': every cache store emptied (costmodel.clear_caches) before each call (a fresh "
        "process's first report); fvcore cannot take keyword inputs (Hugging Face models: the tests' small "
        "configs on their inputs, 2 sequences of 16 tokens or 32x32 images, and three at full size, 128 tokens "
        "or a 224x224 image; only in the batch-1 table)."
    )
    columns = ("report", "cold", "FlopCntr", "fvcore")
    print(f"{'model':24} " + " ".join(f"{c:>14}" for c in columns) + f" {'/FCM':>6} {'cold/FCM':>9} {'/fvcore':>8}")
    sums = {"report": 0.0, "cold": 0.0, "fcm": 0.0}
    worst = (0.0, "")
    for name, model, inputs, x in suite(batch):
        fns: list[Callable[[], object]] = [
            lambda m=model, i=inputs: costmodel.report(m, i),
            lambda m=model, i=inputs: _cold(m, i),
            lambda m=model, i=inputs: flop_counter(m, i),
        ]
        if x is not None:
            fns.append(lambda m=model, t=x: fvcore_count(m, t))
        times = interleaved(fns, repeats)
        med = [statistics.median(t) for t in times]
        cells = [f"{m * 1e3:7.1f} ({_iqr(t) * 1e3:4.1f})" for m, t in zip(med, times, strict=True)]
        cells += ["n/a"] * (4 - len(cells))
        for key, value in zip(sums, med, strict=False):
            sums[key] += value
        worst = max(worst, (med[0] / med[2], name))
        vs_fvcore = f"{med[0] / med[3]:8.2f}" if x is not None else f"{'n/a':>8}"
        print(
            f"{name:24} {cells[0]:>14} {cells[1]:>14} {cells[2]:>14} {cells[3]:>14} "
            f"{med[0] / med[2]:6.2f} {med[1] / med[2]:9.2f} {vs_fvcore}",
            flush=True,
        )
    print(
        f"summed: report {sums['report'] * 1e3:.0f} ms, cold {sums['cold'] * 1e3:.0f} ms, FlopCounterMode "
        f"{sums['fcm'] * 1e3:.0f} ms; report/FCM {sums['report'] / sums['fcm']:.2f}, cold/FCM "
        f"{sums['cold'] / sums['fcm']:.2f}; slowest against FCM: {worst[1]} at {worst[0]:.2f}"
    )


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


#: Models whose first call is timed in fresh processes: two CNNs, three small transformers, one full-size one.
FIRST_CALL_MODELS = (
    "shufflenet_v2_x1.0", "resnet50", "hf gpt2 eager", "hf bert sdpa", "hf t5 eager", "hf bert-base sdpa",
)  # fmt: skip


def first_call(name: str, tool: str) -> None:
    """In this (fresh) process: each tool's one-time set-up done on a small linear layer, as in a session that has
    used it before, then the first call on ``name`` timed; prints milliseconds."""
    model, inputs = _case(name)
    small = nn.Linear(4, 4)
    costmodel.report(small, (1, 4))
    flop_counter(small, torch.randn(1, 4))
    start = time.perf_counter()
    if tool == "report":
        costmodel.report(model, inputs)
    else:
        flop_counter(model, inputs)
    print(f"{(time.perf_counter() - start) * 1e3:.3f}")


def _case(name: str) -> tuple[nn.Module, Any]:
    """One model of the batch-1 suite and its inputs, built alone."""
    if name in CNNS:
        return MODELS[name]().eval(), torch.randn(1, 3, 224, 224)
    _, config, attention = name.split()
    if config in ("bert-base", "gpt2-124M", "vit-b16"):
        return next((m, i) for n, m, i, _ in full_size_transformers() if n == name)
    build, inputs = _small_configs()[config]
    return build(attention).eval(), inputs()


def _small_configs() -> dict[str, Any]:
    """The tests' small transformer configs: name -> (build from an attention kind, make the inputs)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.hf_models import CASES  # the one list of small configs, shared with the tests

    return CASES


def fresh_processes(repeats: int) -> None:
    """The first call on a model in a fresh process, report() against FlopCounterMode, round-robin."""
    import subprocess

    times: dict[tuple[str, str], list[float]] = {(n, t): [] for n in FIRST_CALL_MODELS for t in ("report", "fcm")}
    for _ in range(repeats):
        for name, tool in times:
            run = subprocess.run(
                [sys.executable, __file__, "--first-call", name, tool], capture_output=True, text=True, check=True
            )
            times[(name, tool)].append(float(run.stdout.split()[-1]) / 1e3)
    print(
        f"first call in a fresh process (each tool set up on a small linear layer first): medians of {repeats} "
        "processes in ms (IQR)"
    )
    print(f"{'model':24} {'report':>14} {'FlopCntr':>14} {'/FCM':>6}")
    for name in FIRST_CALL_MODELS:
        ours, theirs = times[(name, "report")], times[(name, "fcm")]
        a, b = statistics.median(ours), statistics.median(theirs)
        spread = f"{a * 1e3:7.1f} ({_iqr(ours) * 1e3:4.1f}) {b * 1e3:7.1f} ({_iqr(theirs) * 1e3:4.1f})"
        print(f"{name:24} {spread} {a / b:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--fresh", type=int, default=5, help="fresh processes per model and tool for first calls")
    parser.add_argument("--first-call", nargs=2, metavar=("MODEL", "TOOL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    if args.first_call:
        first_call(*args.first_call)
        return
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    large_meta_model()  # first, so the process's peak RSS is not yet raised by the other tools
    for batch in args.batches:
        compare_tools(args.repeats, batch)
    if args.fresh:
        fresh_processes(args.fresh)
    scaling(args.repeats)


if __name__ == "__main__":
    main()
