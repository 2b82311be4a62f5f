"""The first call in a fresh process, the tool's own import included, against FlopCounterMode, thop and torchinfo;
and the wall time of CLI commands against torch's own import.

    pip install thop torchinfo   # the peers (not dependencies of costmodel)
    python benchmarks/bench_first_call.py [--rounds 5] [--collect-first]
    python benchmarks/bench_first_call.py --against /tmp/old [--rounds 5]   # costmodel's first call, two trees

Each measurement is a fresh interpreter: torch imported and the model built (untimed), then the tool imported and
called once on the model (timed). costmodel's bytecode is compiled first (``compileall``), as an installed wheel's
is: an editable install under ``PYTHONDONTWRITEBYTECODE`` would otherwise compile every module in every process.
Tools and models are taken round-robin, ``--rounds`` times; medians in ms with their IQR, and costmodel's time over
the fastest peer's. thop takes positional inputs only, so it is left out for the Hugging Face models. The Hugging
Face models are built from ``tests/hf_models.py``, which loads torch and transformers only (until the eighth session
they came from the test module, which had loaded FlopCounterMode's module, pytest and hypothesis before the clock:
FlopCounterMode's import went untimed there).

The column ``floor`` is no tool: the model's own forward in the same fresh process under a torch-function mode and a
dispatch mode that only pass each call on. Any tool that sees every torch call and every aten op, as costmodel
does, pays it before costing anything; for the small Hugging Face configs it is most of a peer's whole call
(torchinfo runs the model's forward once with hooks). It is timed for the Hugging Face models only: on the CNNs
it would time real convolutions, and the import of torch's Python dispatch modes that transformers has already
made (FlopCounterMode pays that import there: 0.9-1 s).

``--against OLD`` (a worktree of an older commit: ``git worktree add /tmp/old REV``) times costmodel alone, this tree
and OLD in alternating fresh processes (the order turned each round), and prints each model's medians and the
new/old ratio with its range over the rounds: the check that a change made the first call faster.

Building a model of many modules (ShuffleNet V2, MobileNet V2) leaves the process owing a full garbage
collection (80-90 ms here): it falls on whichever tool allocates next, inside its timed call. With
``--collect-first`` each child collects before the clock starts (every tool alike), so the figures are the tools'
own; the collections inside the timed call are counted either way and printed beside the table.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CNNS = ("shufflenet_v2_x0.5", "shufflenet_v2_x1.0", "mobilenet_v2_x1.0", "mobilenet_v1_x1.0", "resnet18",
        "squeezenet1_1", "vit_tiny")  # fmt: skip
TRANSFORMERS = ("bert sdpa", "gpt2 eager", "llama sdpa", "t5 eager", "vit sdpa")
TOOLS = ("costmodel", "fcm", "thop", "torchinfo")
#: Not a peer: the model's own forward under a no-op torch-function mode and a no-op dispatch mode, nothing
#: recorded (what any tool that sees every torch call and every aten op pays before it costs anything).
FLOOR = "floor"

_CHILD = """
import gc, sys, time, warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, {root!r})
import torch
name, tool = {name!r}, {tool!r}
if " " in name:
    from tests.hf_models import CASES  # torch and transformers only: no tool is loaded before the clock
    build, make_inputs = CASES[name.split()[0]]
    model, inputs = build(name.split()[1]).eval(), make_inputs()
else:
    from costmodel.zoo import MODELS
    model, inputs = MODELS[name]().eval(), torch.randn(1, 3, 224, 224)
args, kwargs = ((), inputs) if isinstance(inputs, dict) else ((inputs,), {{}})
if {tree!r}:  # costmodel from the tree given, not the one the test cases imported
    for loaded in [m for m in sys.modules if m == "costmodel" or m.startswith("costmodel.")]:
        del sys.modules[loaded]
    sys.path.insert(0, {tree!r})
if {collect_first!r}:
    gc.collect()
full = []
gc.callbacks.append(lambda phase, info: full.append(1) if phase == "start" and info["generation"] == 2 else None)
start = time.perf_counter()
if tool == "costmodel":
    import costmodel
    costmodel.report(model, inputs)
elif tool == "fcm":
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False), torch.no_grad():
        model(*args, **kwargs)
elif tool == "floor":
    from torch.overrides import TorchFunctionMode
    from torch.utils._python_dispatch import TorchDispatchMode
    class Calls(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {{}}))
    class Ops(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {{}}))
    with torch.no_grad(), Calls(), Ops():
        model(*args, **kwargs)
elif tool == "thop":
    import thop
    thop.profile(model, inputs=args, verbose=False)
else:
    import torchinfo
    torchinfo.summary(model, input_data=list(args) if args else kwargs, verbose=0)
elapsed = (time.perf_counter() - start) * 1e3
if {tree!r}:
    assert sys.modules["costmodel"].__file__.startswith({tree!r}), sys.modules["costmodel"].__file__
print(len(full), elapsed)
"""


def _first_call(name: str, tool: str, collect_first: bool, tree: str = "") -> tuple[float, int]:
    """The call's milliseconds, and the full garbage collections that fell inside it (costmodel from ``tree``, if
    given)."""
    code = _CHILD.format(root=str(ROOT), name=name, tool=tool, collect_first=collect_first, tree=tree)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600)
    collections, elapsed = done.stdout.split()[-2:]
    return float(elapsed), int(collections)


def _wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True, timeout=600, cwd=ROOT)
    return (time.perf_counter() - start) * 1e3


def _iqr(samples: list[float]) -> float:
    if len(samples) < 4:
        return max(samples) - min(samples)
    q = statistics.quantiles(samples, n=4)
    return q[2] - q[0]


def _against(old: str, rounds: int) -> None:
    """costmodel's first call from this tree and from ``old``, alternating, fresh processes, gc collected first."""
    trees = {"old": str(Path(old).resolve()), "new": str(ROOT)}
    for tree in trees.values():
        subprocess.run([sys.executable, "-m", "compileall", "-q", f"{tree}/costmodel"], check=True, capture_output=True)
    times: dict[tuple[str, str], list[float]] = {(n, t): [] for n in (*CNNS, *TRANSFORMERS) for t in trees}
    for index in range(rounds):
        for name in (*CNNS, *TRANSFORMERS):
            for label in trees if index % 2 == 0 else reversed(trees):
                times[(name, label)].append(_first_call(name, "costmodel", True, trees[label])[0])
    print(f"costmodel's first call in a fresh process, its import included, ms: medians of {rounds} alternating rounds")
    print(f"old: {trees['old']}  new: {trees['new']}")
    print(f"{'model':22} {'old':>8} {'new':>8}  new/old (range over rounds)")
    for name in (*CNNS, *TRANSFORMERS):
        before, after = times[(name, "old")], times[(name, "new")]
        ratios = sorted(a / b for a, b in zip(after, before, strict=True))
        middle = statistics.median(after) / statistics.median(before)
        print(f"{name:22} {statistics.median(before):8.1f} {statistics.median(after):8.1f}  {middle:.2f} "
              f"({ratios[0]:.2f}-{ratios[-1]:.2f})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--collect-first", action="store_true", help="each child collects garbage before the clock")
    parser.add_argument("--against", metavar="OLD", help="costmodel alone: this tree against the tree at OLD")
    args = parser.parse_args()
    if args.against:
        _against(args.against, args.rounds)
        return
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "costmodel")], check=True, capture_output=True)
    columns = (*TOOLS, FLOOR)
    cases = [(name, tool) for name in CNNS for tool in TOOLS] + [
        (name, tool) for name in TRANSFORMERS for tool in columns if tool != "thop"
    ]
    times: dict[tuple[str, str], list[float]] = {case: [] for case in cases}
    collected: dict[tuple[str, str], int] = dict.fromkeys(cases, 0)
    python = [sys.executable]
    commands = {
        "python -c 'import torch'": [*python, "-c", "import torch"],
        "costmodel --version": [*python, "-m", "costmodel", "--version"],
        "costmodel rules": [*python, "-m", "costmodel", "rules"],
        "costmodel explain G1": [*python, "-m", "costmodel", "explain", "G1"],
        "costmodel report shufflenet_v2_x1.0": [*python, "-m", "costmodel", "report", "shufflenet_v2_x1.0"],
        "costmodel lint shufflenet_v2_x1.0": [*python, "-m", "costmodel", "lint", "shufflenet_v2_x1.0", "--exit-zero"],
    }
    walls: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(args.rounds):
        for case in cases:
            elapsed, collections = _first_call(*case, args.collect_first)
            times[case].append(elapsed)
            collected[case] += collections
        for label, command in commands.items():
            walls[label].append(_wall(command))
    before = "; a garbage collection before each call" if args.collect_first else ""
    print(
        f"first call in a fresh process, the tool's import included: medians of {args.rounds} rounds, ms (IQR){before}"
    )
    print(f"{'model':22} " + " ".join(f"{tool:>17}" for tool in columns) + f" {'ours/fastest peer':>18}")
    for name in (*CNNS, *TRANSFORMERS):
        medians = {t: statistics.median(times[(name, t)]) for t in columns if (name, t) in times}
        cells = [
            f"{medians[t]:9.1f} ({_iqr(times[(name, t)]):5.1f})" if t in medians else f"{'n/a':>17}" for t in columns
        ]
        fastest = min(v for t, v in medians.items() if t not in ("costmodel", FLOOR))
        print(f"{name:22} " + " ".join(cells) + f" {medians['costmodel'] / fastest:18.2f}")
    full = ", ".join(f"{name} {tool} {count}" for (name, tool), count in collected.items() if count)
    print(f"full collections inside the timed calls (of {args.rounds} each): {full or 'none'}")
    print(f"\nCLI wall time, medians of {args.rounds} rounds, ms (IQR)")
    for label, samples in walls.items():
        print(f"{label:40} {statistics.median(samples):8.0f} ({_iqr(samples):4.0f})")


if __name__ == "__main__":
    main()
