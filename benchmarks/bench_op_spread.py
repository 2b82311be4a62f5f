"""How far apart the ops of one family run per element, against what a profile predicts for each: the check that
a family's single work coefficient fits all of its ops.

    python benchmarks/bench_op_spread.py --profile PROFILE.json [--threads 2] [--calls 30]

Each activation runs alone on three shapes (a token MLP's hidden map, a feature map, attention scores), eval and
``no_grad``; its time is the median of ``--calls`` visits (an untimed call, then a timed one), the ops taken
round-robin so the machine's drift hits them alike, and its prediction is ``report(..., profile=...)`` of the same
one-op module (the in-network call term included, as for any node). A family whose ops differ several times in
measured time per element while the profile predicts them alike needs a weight per op.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_latency import measure_round_robin

import costmodel
from costmodel.device.calibration.ops import Unary
from costmodel.device.families import family

SHAPES = ((1, 3136, 192), (1, 64, 56, 56), (1, 3, 49, 784))
OPS = {
    "relu": torch.relu, "sigmoid": torch.sigmoid, "silu": F.silu, "gelu": F.gelu,
    "gelu tanh": lambda t: F.gelu(t, approximate="tanh"), "softmax": lambda t: t.softmax(-1), "tanh": torch.tanh,
    "exp": torch.exp,
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    profile = costmodel.DeviceProfile.load(args.profile)
    for shape in SHAPES:
        x = torch.randn(shape)
        modules = {name: Unary(fn).eval() for name, fn in OPS.items()}
        with torch.no_grad():
            calls = {name: (lambda m=module, x=x: m(x)) for name, module in modules.items()}
            samples = measure_round_robin(calls, args.calls, per_visit=1)
        for name, module in modules.items():
            rep = costmodel.report(module, shape, profile=profile)
            op = next(o for n in rep.nodes for o in n.ops)
            measured = statistics.median(samples[name]) * 1e6
            predicted = (rep.predicted_ms or 0.0) * 1e3
            print(f"{shape!s:18} {name:10} {family(op)!s:15} measured {measured:8.1f} µs "
                  f"({measured * 1e3 / x.numel():5.2f} ns per element)  predicted {predicted:8.1f} µs  "
                  f"predicted/measured {predicted / measured:5.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
