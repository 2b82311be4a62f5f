"""The CUDA path, end to end, where a GPU is lent: the report of a model on the GPU, ``measure()`` on it, a profile
calibrated on it, and that profile's predictions against ``measure()`` on the benchmark's models.

    python benchmarks/bench_cuda.py [--budget 60] [--batches 1 8] [--out DIR]

1. **The report does not depend on where the weights are**: each model's report with its weights on the GPU has
   the FLOPs, parameters and memory access of the same model's report on the CPU (checked, not assumed).
2. **measure() on the GPU**: whole-model and per-node times, synchronised (a problem is printed, never hidden).
3. **A profile calibrated on the GPU** (``costmodel.calibrate(device="cuda")``), then, in the same process and
   later, ``measure()`` of every model of ``bench_latency_independent.suite`` on the GPU, scored as ``score``
   scores the CPU runs (Kendall tau, median |error|, share within +-15%). None of them is in the calibration.

Writes ``cuda_<stamp>.json`` (every row, after each model) and the profile under ``--out``. Needs a CUDA device;
says so and exits 2 without one.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
import traceback
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_latency import scores
from bench_latency_independent import suite

import costmodel

_SAME_REPORT = ("shufflenet_v2_x1.0", "mobilenet_v2_x1.0", "resnet18", "vit_tiny", "hf_bert_small", "tv_swin_t")


def _same_report(models: dict, device: torch.device) -> list[str]:
    """Models whose report on ``device`` differs from their report on the CPU (FLOPs, params, MAC, rows)."""
    differ = []
    for name in _SAME_REPORT:
        found = [key for key in models if key.startswith(name)]
        if not found:
            continue
        build, shape = models[found[0]]
        model = build().eval()
        here = costmodel.report(model, shape)
        there = costmodel.report(model.to(device), shape)
        same = (here.flops, here.params, here.mac, len(here.nodes)) == (
            there.flops, there.params, there.mac, len(there.nodes)
        )  # fmt: skip
        verdict = "same" if same else "DIFFER"
        print(f"report on cpu and {device.type}: {found[0]:22} FLOPs {here.flops:,} / {there.flops:,}  params "
              f"{here.params:,} / {there.params:,}  MAC {here.mac:,} / {there.mac:,}  {verdict}")  # fmt: skip
        if not same:
            differ.append(found[0])
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="calibration seconds")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--measure-budget", type=float, default=0.3, help="seconds per measure() call")
    parser.add_argument("--out", default="benchmarks/results/cuda")
    parser.add_argument("--device", default="cuda", help="cuda; cpu only to try this script where no GPU is")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("bench_cuda: torch sees no CUDA device", file=sys.stderr)
        raise SystemExit(2)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    named = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"torch {torch.__version__}, {named}, costmodel {costmodel.__version__}")
    results: dict = {"torch": torch.__version__, "device": named, "batches": {}}
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M")
    path = out / f"{device.type}_{stamp}.json"
    try:
        results["report_differs"] = _same_report(suite(1, with_torchvision=True), device)
        first = suite(1)["shufflenet_v2_x1.0"]
        timed = costmodel.measure(first[0]().eval().to(device), first[1], budget_s=0.5, progress=False)
        print(f"measure() on {device.type}: shufflenet_v2_x1.0 {timed.total.median * 1e3:.3f} ms, "
              f"{len(timed.node_times)} nodes timed, problems: {list(timed.problems) or 'none'}")  # fmt: skip
    except Exception:  # printed whole: this is the check itself; the calibration below still runs
        traceback.print_exc()

    began = time.perf_counter()
    profile = costmodel.calibrate(budget_s=args.budget, device=device, progress=False)
    spent = time.perf_counter() - began
    profile.save(out / f"profile_{device.type}.json")
    print(f"calibrated on {device.type} in {spent:.1f} s (budget {args.budget:g} s)")
    print(profile.describe())
    results["calibrated_s"] = spent
    for batch in args.batches:
        rows = {}
        for name, (build, shape) in suite(batch, with_torchvision=True).items():
            try:  # a model that fails is named and left out, never the whole run
                model = build().eval().to(device)
                samples = []
                for _ in range(2):  # two measure() calls, the median of each; their median is the model's time
                    run = costmodel.measure(model, shape, budget_s=args.measure_budget, per_node=False, progress=False)
                    samples.append(run.total.median)
                predicted = costmodel.report(model, shape, profile=profile).predicted_ms
            except Exception as error:
                print(f"b{batch} {name}: left out: {type(error).__name__}: {error}".splitlines()[0], flush=True)
                continue
            measured = statistics.median(samples) * 1e3
            rows[name] = {"measured_ms": measured, "predicted_ms": predicted, "measured_s": samples}
            results["batches"][str(batch)] = rows
            path.write_text(json.dumps(results, indent=1))  # after every model: a run cut short keeps its rows
            print(f"b{batch} {name:24} measured {measured:8.3f} ms  predicted {predicted:8.3f}  "
                  f"{predicted / measured - 1:+5.0%}", flush=True)  # fmt: skip
            del model
            if device.type == "cuda":
                torch.cuda.empty_cache()
        measured = [r["measured_ms"] for r in rows.values()]
        tau, error, within = scores(measured, [r["predicted_ms"] for r in rows.values()])
        print(f"batch {batch}: {len(rows)} models, Kendall tau {tau:.3f}, median |error| {error:.1%}, "
              f"within +-15% {within:.0%}")  # fmt: skip
    print(path)


if __name__ == "__main__":
    main()
