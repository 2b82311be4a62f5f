"""How far apart the ops of one family run per element, against what a profile predicts for each: the check that
a family's single work coefficient fits all of its ops.

    python benchmarks/bench_op_spread.py --profile PROFILE.json [--threads 2] [--calls 30]

Each activation runs alone on three shapes (a token MLP's hidden map, a feature map, attention scores), eval and
``no_grad``; its time is the median of ``--calls`` calls after five untimed ones, the ops taken round-robin so the
machine's drift hits them alike, and its prediction is ``report(..., profile=...)`` of the same one-op module
(the in-network call term included, as for any node). A family whose ops differ several times in measured time
per element while the profile predicts them alike needs a weight per op.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import costmodel
from costmodel.device.families import family

SHAPES = ((1, 3136, 192), (1, 64, 56, 56), (1, 3, 49, 784))
OPS = {
    "relu": torch.relu, "sigmoid": torch.sigmoid, "silu": F.silu, "gelu": F.gelu,
    "gelu tanh": lambda t: F.gelu(t, approximate="tanh"), "softmax": lambda t: t.softmax(-1), "tanh": torch.tanh,
    "exp": torch.exp,
}  # fmt: skip


class _One(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


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
        modules = {name: _One(fn).eval() for name, fn in OPS.items()}
        samples: dict[str, list[float]] = {name: [] for name in OPS}
        with torch.no_grad():
            for module in modules.values():
                for _ in range(5):
                    module(x)
            for _ in range(args.calls):
                for name, module in modules.items():
                    began = time.perf_counter()
                    module(x)
                    samples[name].append(time.perf_counter() - began)
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
