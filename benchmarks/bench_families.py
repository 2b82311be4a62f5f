"""``report()`` against FlopCounterMode on the model families of the 2026 survey: mixture-of-experts (Mixtral with
grouped and eager experts, Qwen2-MoE), a model that collects outputs with hooks (Segformer), graph networks (GCN,
GAT, GraphSAGE on a random graph of 500 nodes and 4000 edges with 16 features, and on one of Cora's sizes: 2708
nodes, 10556 edges, 1433 features) and a weight-normed convolution. Small configs, no downloads.

    python benchmarks/bench_families.py [--repeats 60] [--only gcn gat]

Per model: FLOPs of each (FlopCounterMode with a ``_grouped_mm`` formula added, math SDPA), and the median wall
time over ``--repeats`` rounds of FlopCounterMode, of the walk alone (``cost_graph``: the model run and every node
costed) and of ``report()`` (the walk, the guideline rules and the report), each round in a rotated order (the
machine drifts, and what ran just before a call moves its time), with the ratios to FlopCounterMode.
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import costmodel
from costmodel.graph import cost_graph
from costmodel.graph.inputs import normalize_inputs


def _grouped_mm_flop(a_shape: Any, b_shape: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    k = a_shape[-1]
    return 2 * (math.prod(out_shape[1:]) if len(a_shape) == 2 and len(b_shape) == 2 else math.prod(out_shape)) * k


def _flop_counter(model: nn.Module, inputs: dict[str, Any]) -> int:
    counter = FlopCounterMode(display=False, custom_mapping={torch.ops.aten._grouped_mm: _grouped_mm_flop})
    with counter, torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        model(**inputs)
    return counter.get_total_flops() // 2


def _cases() -> dict[str, tuple[nn.Module, dict[str, Any]]]:
    import transformers as T
    from torch_geometric import nn as pyg

    torch.manual_seed(0)
    ids = {"input_ids": torch.randint(0, 100, (2, 16))}
    moe = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
           "vocab_size": 100, "max_position_embeddings": 64}  # fmt: skip
    mixtral = T.MixtralConfig(intermediate_size=128, num_local_experts=4, num_experts_per_tok=2, **moe)
    qwen = T.Qwen2MoeConfig(intermediate_size=128, moe_intermediate_size=32, shared_expert_intermediate_size=64,
                            num_experts=4, num_experts_per_tok=2, **moe)  # fmt: skip
    segformer = T.SegformerConfig(
        num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[16, 32], num_attention_heads=[1, 2],
        decoder_hidden_size=32, num_labels=3, patch_sizes=[7, 3], strides=[4, 2], mlp_ratios=[2, 2],
    )  # fmt: skip
    graph = {"x": torch.randn(500, 16), "edge_index": torch.randint(0, 500, (2, 4000))}
    cora = {"x": torch.randn(2708, 1433), "edge_index": torch.randint(0, 2708, (2, 10556))}  # Cora's sizes

    def gnn(conv: Callable[[int, int], nn.Module], features: int = 16, hidden: int = 32) -> nn.Module:
        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.first, self.second = conv(features, hidden), conv(hidden, 8)

            def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
                return self.second(self.first(x, edge_index).relu(), edge_index)

        return Net().eval()

    class WeightNormed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.utils.parametrizations.weight_norm(nn.Conv1d(32, 64, 5, padding=2))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x).relu()

    return {
        "mixtral grouped_mm": (T.MixtralForCausalLM._from_config(mixtral, experts_implementation="grouped_mm"), ids),
        "mixtral eager experts": (T.MixtralForCausalLM._from_config(mixtral, experts_implementation="eager"), ids),
        "qwen2-moe": (T.Qwen2MoeForCausalLM(qwen), ids),
        "segformer (hooks)": (
            T.SegformerForSemanticSegmentation(segformer), {"pixel_values": torch.randn(1, 3, 64, 64)}
        ),
        "gcn 500 nodes": (gnn(pyg.GCNConv), graph),
        "gat 500 nodes": (gnn(lambda a, b: pyg.GATConv(a, b, heads=2, concat=False)), graph),
        "graphsage 500 nodes": (gnn(pyg.SAGEConv), graph),
        "gcn cora-size": (gnn(pyg.GCNConv, 1433, 16), cora),
        "gat cora-size": (gnn(lambda a, b: pyg.GATConv(a, b, heads=2, concat=False), 1433, 16), cora),
        "graphsage cora-size": (gnn(pyg.SAGEConv, 1433, 16), cora),
        "weight-normed conv": (WeightNormed(), {"x": torch.randn(4, 32, 256)}),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--only", nargs="+", default=(), help="the models whose names contain one of these words")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; medians of {args.repeats} rotated rounds")
    print(f"{'model':24} {'FLOPs report':>14} {'FLOPs FCM':>14} {'FCM ms':>9} {'walk ms':>9} {'report ms':>10} "
          f"{'walk/FCM':>9} {'report/FCM':>10}")  # fmt: skip
    for name, (model, inputs) in _cases().items():
        if args.only and not any(word in name for word in args.only):
            continue
        model.eval()
        reported = costmodel.report(model, inputs).flops
        reference = _flop_counter(model, inputs)
        fns = [
            lambda m=model, i=inputs: _flop_counter(m, i),
            lambda m=model, i=inputs: cost_graph(m, normalize_inputs(i, m), "model"),
            lambda m=model, i=inputs: costmodel.report(m, i),
        ]
        times: list[list[float]] = [[] for _ in fns]
        for round_ in range(args.repeats):
            for index in (*range(round_ % 3, 3), *range(round_ % 3)):
                start = time.perf_counter()
                fns[index]()
                times[index].append(time.perf_counter() - start)
        theirs, walk, ours = (statistics.median(s) * 1e3 for s in times)
        print(f"{name:24} {reported:>14,} {reference:>14,} {theirs:9.2f} {walk:9.2f} {ours:10.2f} "
              f"{walk / theirs:9.2f} {ours / theirs:10.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
