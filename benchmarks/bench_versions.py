"""Two trees of costmodel side by side: warm and cold ``report()`` time, each round a fresh process of each tree.

For "speed does not regress" checks of a change: check the old commit out beside this one
(``git worktree add /tmp/old REV``), then

    python benchmarks/bench_versions.py /tmp/old . [--rounds 5] [--repeats 9]

Each process times every model ``--repeats`` times (median); the trees alternate, old then new,
``--rounds`` times, so the machine's drift hits both alike. 'cold': every cache emptied before
the call (``costmodel.clear_caches``; a tree from before the cache layer has its memos, lru
caches and dicts emptied one by one). Prints per model the medians and the new/old ratio with its
range over the rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any


def _clear(costmodel: Any) -> None:
    if hasattr(costmodel, "clear_caches"):
        costmodel.clear_caches()
        return
    # a tree from before the cache layer (271c68c and earlier)
    from costmodel import types
    from costmodel.device import predict
    from costmodel.graph import forget_memos, inputs, row_memo, source, walk
    from costmodel.ops import conv, registry
    from costmodel.rules import layers
    from costmodel.rules.memo import forget_ops

    forget_memos()
    forget_ops()
    for function in (source._positions, source.class_site, source._init_assignments, source._assignment,
                     inputs._parameters, layers._variant, predict._containers):  # fmt: skip
        function.cache_clear()
    for store in (source._LIBRARY_CODE, source._SITES, walk._NAMES, types._SPECS, registry._FOUND,
                  row_memo._ORIGINS, conv._READ, predict._PRICES):  # fmt: skip
        store.clear()


def child(tree: str, repeats: int) -> None:
    """Time every model in this process, costmodel imported from ``tree``; print JSON."""
    sys.path.insert(0, str(Path(tree).resolve()))
    warnings.filterwarnings("ignore")
    import torch
    from transformers import BertConfig, BertModel, GPT2Config, GPT2Model
    from transformers.utils import logging

    import costmodel
    from costmodel.zoo import MODELS

    logging.disable_progress_bar()
    logging.set_verbosity_error()
    ids = costmodel.TensorSpec((1, 64), torch.int64)
    cases = {
        "shufflenet_v2_x1.0": (MODELS["shufflenet_v2_x1.0"](), (1, 3, 224, 224)),
        "mobilenet_v2_x1.0": (MODELS["mobilenet_v2_x1.0"](), (1, 3, 224, 224)),
        "resnet50": (MODELS["resnet50"](), (1, 3, 224, 224)),
        "gpt2 2x128": (GPT2Model(GPT2Config(n_layer=2, n_embd=128, n_head=4, vocab_size=1000)).eval(),
                       {"input_ids": ids}),
        "bert 2x128": (BertModel(BertConfig(num_hidden_layers=2, hidden_size=128, num_attention_heads=4,
                                            intermediate_size=256, vocab_size=1000)).eval(),
                       {"input_ids": ids, "attention_mask": ids}),
    }  # fmt: skip
    out = {}
    for name, (model, shape) in cases.items():
        costmodel.report(model, shape)
        warm, cold = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            costmodel.report(model, shape)
            warm.append(time.perf_counter() - start)
            _clear(costmodel)
            start = time.perf_counter()
            costmodel.report(model, shape)
            cold.append(time.perf_counter() - start)
        out[name] = {"warm": statistics.median(warm) * 1e3, "cold": statistics.median(cold) * 1e3}
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.new, args.repeats)
        return
    runs: dict[str, list[dict[str, dict[str, float]]]] = {"old": [], "new": []}
    for _ in range(args.rounds):
        for tag in ("old", "new"):
            tree = getattr(args, tag)
            done = subprocess.run(
                [sys.executable, __file__, "-", tree, "--child", "--repeats", str(args.repeats)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            runs[tag].append(json.loads(done.stdout.strip().splitlines()[-1]))
    models = list(runs["old"][0])
    print(f"old: {args.old}  new: {args.new}  ({args.rounds} rounds, medians of {args.repeats} per process, ms)")
    titles = f"{'old':>9} {'new':>7} {'new/old (range)':>18}"
    print(f"{'model':20} warm {titles}   cold {titles}")
    for model in models:
        cells = []
        for kind in ("warm", "cold"):
            old = [r[model][kind] for r in runs["old"]]
            new = [r[model][kind] for r in runs["new"]]
            ratios = [b / a for a, b in zip(old, new, strict=True)]
            cells.append(
                f"{statistics.median(old):9.2f} {statistics.median(new):7.2f} "
                f"{statistics.median(ratios):6.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
            )
        print(f"{model:20} " + "   ".join(cells))
    for kind in ("warm", "cold"):
        ratios = [
            sum(n[m][kind] for m in models) / sum(o[m][kind] for m in models)
            for o, n in zip(runs["old"], runs["new"], strict=True)
        ]
        listed = " ".join(f"{r:.2f}" for r in ratios)
        print(f"{kind}, summed new/old per round: {listed}; median {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
