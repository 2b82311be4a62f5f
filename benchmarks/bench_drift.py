"""How far a shared machine moves each model's time within one process, and how much of that recheck's reference
takes out: the noise floor any latency prediction on the machine is judged against.

    python benchmarks/bench_drift.py --seconds 480 --threads 2 [--models NAME ...] [--out FILE]

One process builds the suite's models (``bench_latency_independent.suite``, batch 1) and the calibration's reference
networks (``costmodel.device.calibrate.REFERENCE``, the networks ``recheck`` re-times), then, for ``--seconds``,
visits every one round-robin: per visit one untimed call and the median of three timed ones. Per model it prints
the median time, the range over the visits (times the median), the spread of the log of its time (the standard
deviation, in percent) as measured and after dividing each visit by the reference's scale in that round (the
reference's time then over its median: what ``recheck`` would have scaled a prediction by), and the correlation of
the two. A model whose spread after scaling stays large moves in ways the reference does not see.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_latency import measure_round_robin
from bench_latency_independent import suite

from costmodel.device.calibrate import REFERENCE
from costmodel.device.calibration.networks import networks
from costmodel.graph.inputs import example_tensors, normalize_inputs

DEFAULT_MODELS = ("mobilenet_v1_x0.25", "mobilenet_v3_small", "shufflenet_v2_x0.5", "shufflenet_v1_g3_x1.0",
                  "mobilenet_v2_x1.0", "ghostnet_1.0", "levit_128s", "regnetx_400mf", "squeezenet1_1", "vit_tiny",
                  "resnet18", "vgg11")  # fmt: skip


def _spread(values: list[float]) -> float:
    """Standard deviation of the logs, in percent."""
    return 100 * statistics.pstdev(math.log(v) for v in values)


def _correlation(a: list[float], b: list[float]) -> float:
    la, lb = [math.log(v) for v in a], [math.log(v) for v in b]
    ma, mb = statistics.mean(la), statistics.mean(lb)
    cross = sum((x - ma) * (y - mb) for x, y in zip(la, lb, strict=True))
    return cross / math.sqrt(sum((x - ma) ** 2 for x in la) * sum((y - mb) ** 2 for y in lb))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=480.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", nargs="*", default=list(DEFAULT_MODELS))
    parser.add_argument("--out", help="also write every visit's times here (JSON)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    runs = {}
    generator = torch.Generator().manual_seed(REFERENCE[0])
    for index, (_, module, shape) in enumerate(networks(*REFERENCE)):  # as recheck builds them
        runs[f"reference {index}"] = (module.eval(), (torch.rand(shape, generator=generator),))
    every = suite(1)
    for name in args.models:
        build, shape = every[name]
        model = build().eval()
        runs[name] = (model, tuple(example_tensors(normalize_inputs(shape, model), torch.device("cpu"), model=model)))
    rows: list[dict[str, float]] = []
    ends = time.perf_counter() + args.seconds
    with torch.no_grad():
        calls = {name: (lambda m=model, x=inputs: m(*x)) for name, (model, inputs) in runs.items()}
        while time.perf_counter() < ends:
            visit = measure_round_robin(calls, rounds=1, per_visit=3)  # an untimed call, then three timed
            rows.append({name: statistics.median(samples) for name, samples in visit.items()})
    references = [name for name in runs if name.startswith("reference")]
    reference = [sum(row[name] for name in references) for row in rows]
    middle = statistics.median(reference)
    low, high = min(reference) / middle, max(reference) / middle
    print(f"{len(rows)} rounds in {args.seconds:.0f} s, {args.threads} threads; reference {middle * 1e3:.2f} ms, "
          f"range x{low:.2f}-x{high:.2f}, spread {_spread(reference):.1f}%")  # fmt: skip
    print(f"{'model':24} {'median ms':>9} {'range':>12} {'spread':>7} {'rescaled':>9} {'corr':>5}")
    for name in args.models:
        times = [row[name] for row in rows]
        rescaled = [t * middle / r for t, r in zip(times, reference, strict=True)]
        median = statistics.median(times)
        print(f"{name:24} {median * 1e3:9.2f} x{min(times) / median:.2f}-x{max(times) / median:.2f} "
              f"{_spread(times):6.1f}% {_spread(rescaled):8.1f}% {_correlation(times, reference):5.2f}")  # fmt: skip
    if args.out:
        Path(args.out).write_text(json.dumps({"threads": args.threads, "rounds": rows}, indent=1))


if __name__ == "__main__":
    main()
