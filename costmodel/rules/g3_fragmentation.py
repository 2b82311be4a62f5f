"""G3 network-fragmentation."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from costmodel.rules.base import Rule
from costmodel.rules.blocks import Block, blocks
from costmodel.types import Cost, CostedGraph, Diagnostic, OpCost


def fragmentation(block: Block) -> tuple[int, int, int]:
    """(parallel branches, ops in series, fragments) of a block's conv/matmul ops.

    Each node's level is the most compute ops on any path into it from the block's
    inputs. Compute ops on one level cannot depend on each other, so their count is
    a set of parallel branches; the highest level is the longest chain in series.
    """
    compute = {n.name for n in block.compute}
    level: dict[str, int] = {}
    origins: dict[str, frozenset[str]] = {}  # the block's inputs each node depends on
    for node in block.nodes:  # graph order is a topological order
        before = max((level[name] for name in node.inputs if name in level), default=0)
        level[node.name] = before + (node.name in compute)
        origins[node.name] = frozenset().union(*(origins.get(name, {name}) for name in node.inputs))
    series = max((level[name] for name in compute), default=0)
    return _widest_fork(compute, level, origins), series, len(compute)


def _widest_fork(compute: set[str], level: dict[str, int], origins: dict[str, frozenset[str]]) -> int:
    """The most compute ops on one level that share an input: branches of a fork, not separate model inputs."""
    widest = 0
    for depth in {level[name] for name in compute}:
        groups: list[tuple[frozenset[str], int]] = []  # (inputs reached, ops) of each set of connected ops
        for name in sorted(n for n in compute if level[n] == depth):
            reached, count = origins[name], 1
            for group in [g for g in groups if g[0] & reached]:
                groups.remove(group)
                reached, count = reached | group[0], count + group[1]
            groups.append((reached, count))
        widest = max(widest, *(count for _, count in groups))
    return widest


class NetworkFragmentation(Rule):
    """Blocks built of many small ops, in parallel branches or long chains, waste parallelism.

    ## What it does
    For each building block of the model (a user-defined module such as an
    Inception module or a ShuffleNet unit) it counts the conv/matmul fragments,
    the most of them that run side by side between a fork and its join (parallel
    branches), and the longest chain of them (in series). Depthwise convs are left
    to G4. It reports blocks with more than ``max_branches`` parallel branches or
    more than ``max_series`` fragments in series. A model with no blocks (a plain
    ``nn.Sequential``) is checked for parallel branches only: its chain of layers
    is its depth.

    ## Why is this bad?
    Each fragment is a kernel launch and a synchronisation point. Several small
    ops keep a wide device less busy than one large op of the same FLOPs. The
    paper's 4-fragment blocks run up to 3x slower on GPU than 1-fragment blocks.
    The effect is small on a single ARM core.

    ## Example
    An Inception module's four branches (1x1; 1x1-3x3; 1x1-5x5; pool-1x1) give 4
    parallel branches. A ShuffleNet V2 unit keeps one branch as identity and has
    1 branch of 2 convs (plus a depthwise one).

    ## Options
    - ``max_branches`` (1): parallel conv/matmul branches allowed per block.
    - ``max_series`` (3): conv/matmul ops allowed in one chain per block. Three is
      the bottleneck of ResNet, MobileNet V2 and ShuffleNet.

    ## Reference
    Ma et al., ShuffleNet V2, ECCV 2018, Sec. 2, guideline G3, Table 3 and Appendix Fig. 1.
    """

    code = "G3"
    name = "network-fragmentation"
    summary = "blocks with parallel branches or long chains of small ops reduce parallelism"
    options: ClassVar[Mapping[str, float]] = {"max_branches": 1, "max_series": 3}

    def _timing(self, block: Block) -> dict[str, float]:
        """The fragments' time, and what one op doing all their work would save (their fixed costs)."""
        if self.time is None:
            return {}
        main = [max(node.ops, key=lambda op: (op.cost.flops, op.cost.mac)) for node in block.compute]
        largest = max(main, key=lambda op: op.cost.flops)
        merged = OpCost(largest.call, largest.kind, sum((op.cost for op in main), Cost()))
        fragments = sum(self.time.op_seconds(op) for op in main)
        return {"predicted_s": fragments, "saving_s": fragments - self.time.op_seconds(merged)}

    def find(self, graph: CostedGraph) -> Iterator[Diagnostic]:
        for block in blocks(graph):
            branches, series, fragments = fragmentation(block)
            if not block.path:  # a model without blocks: its chain of layers is depth, not fragmentation
                series = 0
            degree = max(branches / self.opts["max_branches"], series / self.opts["max_series"])
            if branches <= self.opts["max_branches"] and series <= self.opts["max_series"]:
                continue
            what = []
            if branches > self.opts["max_branches"]:
                what.append(f"{branches} parallel branches of conv/matmul ops")
            if series > self.opts["max_series"]:
                what.append(f"{series} conv/matmul ops in series")
            yield self.finding(
                f"block '{block.path or '<model>'}' ({block.type}) is fragmented: {' and '.join(what)} "
                f"({fragments} fragments in all); every fragment is a kernel launch and a synchronisation "
                "that wastes parallelism; merge branches or use fewer, wider ops (ShuffleNet V2 Sec. 2, G3)",
                block.path,
                block.where,
                degree=degree,
                module_type=block.type if block.path else "",
                **self._timing(block),
                branches=branches,
                series=series,
                fragments=fragments,
            )
