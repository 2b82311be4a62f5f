"""Where a calibrated profile's predictions go wrong, op family by op family (issue 18's first step).

Calibrates (90 s, 2 threads), timing each zoo model inside the calibration's rounds too (10 calls after each
round: the machine's drift hits them and the micro-benchmarks alike), then measures each model with
``measure()`` (per-node times, 3 s) and predicts it with the profile. Per model: the time in rounds, the time
measured after, and the prediction against each; over all models, each family's predicted time against its
measured share (each node's measured time, scaled so the nodes sum to the whole run, split among its ops as the
prediction splits it). In-rounds against after tells drift from a bias of the model.

    python benchmarks/bench_family_bias.py
"""

from __future__ import annotations

import collections
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import costmodel
from costmodel.device.families import family
from costmodel.device.predict import GraphTime
from costmodel.zoo import MODELS

MODELS_TIMED = ("shufflenet_v2_x1.0", "shufflenet_v2_x0.5", "mobilenet_v2_x1.0", "resnet18", "shufflenet_v1_g3_x1.0",
                "squeezenet1_1")  # fmt: skip


def main() -> None:
    warnings.filterwarnings("ignore")
    torch.set_num_threads(2)
    started = time.time()
    built = {name: (MODELS[name]().eval(), torch.randn(1, 3, 224, 224)) for name in MODELS_TIMED}
    in_rounds: dict[str, list[float]] = {name: [] for name in MODELS_TIMED}

    def between_rounds() -> None:
        with torch.no_grad():
            for name, (model, image) in built.items():
                model(image)  # one untimed call, as the calibration's own samples start
                for _ in range(10):
                    begin = time.perf_counter()
                    model(image)
                    in_rounds[name].append(time.perf_counter() - begin)

    profile = costmodel.calibrate(budget_s=90, threads=2, progress=False, between_rounds=between_rounds)
    print("calibrated", round(time.time() - started), "s", flush=True)
    predicted, measured = collections.Counter(), collections.Counter()
    for name in MODELS_TIMED:
        model = MODELS[name]().eval()
        timed = costmodel.measure(model, (1, 3, 224, 224), budget_s=3, threads=2)
        rep = costmodel.report(model, (1, 3, 224, 224), profile=profile)
        prices = GraphTime(profile)
        node_sum = sum(timed.node_times.values())
        scale = timed.total.median / node_sum  # node-by-node times scaled to the whole run
        for node in rep.nodes:
            if node.name not in timed.node_times:
                continue
            ops = [(str(family(op)), prices.op_seconds(op)) for op in node.ops]
            share = sum(seconds for _, seconds in ops) or 1.0
            for kind, seconds in ops:
                predicted[kind] += seconds
                measured[kind] += timed.node_times[node.name] * scale * seconds / share
            if not ops:
                measured["(no op)"] += timed.node_times[node.name] * scale
            predicted["(overhead)"] += node.extras["predicted_ms"] / 1e3 - sum(seconds for _, seconds in ops)
        whole_ms = timed.total.median * 1e3
        rounds_ms = statistics.median(in_rounds[name]) * 1e3
        print(
            f"{name:24} in rounds {rounds_ms:7.2f} ms  after {whole_ms:7.2f} ms  predicted {rep.predicted_ms:7.2f} ms  "
            f"vs in rounds {rep.predicted_ms / rounds_ms - 1:+.0%}  vs after {rep.predicted_ms / whole_ms - 1:+.0%}",
            timed.problems[:1],
            flush=True,
        )
    print("\nby family over the models (ms): predicted vs measured (node times scaled to the whole run)")
    for kind in sorted(set(predicted) | set(measured), key=lambda k: -measured[k]):
        ours, theirs = predicted[kind] * 1e3, measured[kind] * 1e3
        print(f"  {kind:16} predicted {ours:8.2f}  measured {theirs:8.2f}  {ours / theirs - 1 if theirs else 0:+.0%}")


if __name__ == "__main__":
    main()
