"""The building blocks of a model (ShuffleNet units, inverted residuals, Inception modules) and their compute nodes."""

from __future__ import annotations

from costmodel.records import record
from costmodel.rules.layers import is_depthwise
from costmodel.rules.memo import per_run
from costmodel.types import COMPUTE_KINDS, CostedGraph, NodeCost, SourceLocation

__all__ = ["Block", "blocks", "is_compute"]


def is_compute(node: NodeCost) -> bool:
    """A node doing conv/matmul work; depthwise convs are not (G4 counts them as element-wise)."""
    return node.kind in COMPUTE_KINDS and bool(node.flops) and not is_depthwise(node)


@record
class Block:
    """A building block of the model: a user-defined module whose parts are single layers.

    ``where`` is the line that built this instance (``self.<name> = ...`` in its parent), else its class line.
    """

    path: str
    type: str
    nodes: tuple[NodeCost, ...]
    where: SourceLocation | None

    @property
    def compute(self) -> tuple[NodeCost, ...]:
        """The block's compute nodes (see ``is_compute``)."""
        return tuple(n for n in self.nodes if is_compute(n))


#: Each graph's blocks: the rules that read blocks (G3, G4) run one after the other on one graph.
_BLOCKS = per_run("blocks", "graph -> its blocks")


def blocks(graph: CostedGraph) -> tuple[Block, ...]:
    """The model's units: user-defined modules with >= 2 compute nodes and no such module inside.

    A ShuffleNet unit, an inverted residual, an Inception module. If the model has
    none (a plain ``nn.Sequential``), the whole model is one block.
    """
    found = _BLOCKS.get(graph)
    return found if found is not None else _BLOCKS.put(graph, _blocks(graph))


def _blocks(graph: CostedGraph) -> tuple[Block, ...]:
    user_paths = {p for p in graph.module_sites if p}
    grouped: dict[str, list[NodeCost]] = {p: [] for p in user_paths}
    for node in graph.nodes:  # each node joins every user-defined module above it
        parts = node.module_path.split(".") if node.module_path else []
        for depth in range(1, len(parts) + 1):
            prefix = ".".join(parts[:depth])
            if prefix in grouped:
                grouped[prefix].append(node)
    members = {p: tuple(nodes) for p, nodes in grouped.items()}
    compute = {n.name for n in graph.nodes if is_compute(n)}
    heavy = {p for p, nodes in members.items() if sum(n.name in compute for n in nodes) >= 2}
    units = [p for p in heavy if not any(q != p and q.startswith(p + ".") for q in heavy)]
    if not units:
        return (Block("", graph.model, graph.nodes, graph.module_sites.get("")),)
    order = {p: i for i, p in enumerate(graph.module_types)}
    return tuple(
        Block(
            p, graph.module_types.get(p, "?"), members[p], graph.module_definitions.get(p) or graph.module_sites.get(p)
        )
        for p in sorted(units, key=lambda p: order.get(p, 0))
    )
