"""Roll-ups of a costed graph: costs by module path (with the shapes that enter and leave each module), by op
kind, and a per-node column by kind."""

from __future__ import annotations

from typing import Any

from costmodel.types import Cost, CostedGraph, ModuleCost, NodeCost, OpKind, Shape

__all__ = ["by_kind", "by_module", "column_by_kind"]


def by_module(graph: CostedGraph, depth: int = 2) -> tuple[ModuleCost, ...]:
    """Costs rolled up by module path, for every module up to ``depth`` levels deep.

    The first entry (path ``""``) is the whole model; modules come in the order their first nodes ran.
    """
    if depth < 0:
        raise ValueError(f"depth must be >= 0, got {depth}")
    sums: dict[str, list[Any]] = {}
    for node in graph.nodes:
        parts = node.module_path.split(".") if node.module_path else []
        for level in range(min(depth, len(parts)) + 1):
            path = ".".join(parts[:level])
            entry = sums.setdefault(path, [Cost(), 0, 0, {}])
            entry[0] += node.cost
            entry[1] += node.params
            entry[2] += 1
            for column, value in node.extras.items():  # per-node columns (time) roll up too
                entry[3][column] = entry[3].get(column, 0.0) + value
    shapes = _module_shapes(graph, set(sums))
    return tuple(
        ModuleCost(
            path=path,
            type=graph.module_types.get(path, graph.model if not path else "?"),
            depth=path.count(".") + 1 if path else 0,
            cost=cost,
            params=params,
            nodes=count,
            extras=extras,
            input_shapes=shapes.get(path, ((), ()))[0],
            output_shapes=shapes.get(path, ((), ()))[1],
        )
        for path, (cost, params, count, extras) in sums.items()
    )


def _module_shapes(graph: CostedGraph, paths: set[str]) -> dict[str, tuple[tuple[Shape, ...], tuple[Shape, ...]]]:
    """Per module path: shapes of the outputs of outside nodes read inside, and of inside nodes read outside."""
    produced: dict[str, Any] = {n.name: n for n in graph.nodes}
    for name, shape in zip(graph.input_names, graph.input_shapes, strict=False):
        produced[name] = NodeCost(
            name=name,
            op="placeholder",
            target=name,
            module_path="",
            module_type="",
            kind=OpKind.NONE,
            input_shapes=(),
            output_shapes=(shape,),
            cost=Cost(),
            params=0,
        )
    enters: dict[str, dict[str, tuple[Shape, ...]]] = {p: {} for p in paths}
    leaves: dict[str, dict[str, tuple[Shape, ...]]] = {p: {} for p in paths}

    def within(node: NodeCost) -> list[str]:
        parts = node.module_path.split(".") if node.module_path else []
        return [".".join(parts[:k]) for k in range(1, len(parts) + 1) if ".".join(parts[:k]) in paths]

    def add(edges: dict[str, tuple[Shape, ...]], source_name: str, shapes: tuple[Shape, ...]) -> None:
        kept = edges.get(source_name, ())
        edges[source_name] = kept + tuple(s for s in shapes if s not in kept)

    for node in graph.nodes:
        inside = set(within(node))
        for source_name in node.inputs:
            source = produced.get(source_name)
            if source is None:
                continue
            read = _read(source.output_shapes, node.input_shapes)
            source_inside = set(within(source))
            for path in inside - source_inside:
                add(enters[path], source_name, read)
            for path in source_inside - inside:
                add(leaves[path], source_name, read)
    for name in graph.output_names:  # what the model returns leaves every module that made it
        if name in produced:
            for path in within(produced[name]):
                add(leaves[path], name, produced[name].output_shapes)
    shapes = {
        path: (
            tuple(s for read in enters[path].values() for s in read),
            tuple(s for read in leaves[path].values() for s in read),
        )
        for path in paths
        if path
    }
    returned = (produced[name] for name in graph.output_names if name in produced)
    shapes[""] = (graph.input_shapes, tuple(s for node in returned for s in node.output_shapes))
    return shapes


def _read(made: tuple[Shape, ...], taken: tuple[Shape, ...]) -> tuple[Shape, ...]:
    """The outputs a node reads of those another made, told by shape (an LSTM's output, not its state): each
    output whose shape the reader takes, as many times as it takes it; all of them where it takes none."""
    wanted = list(taken)
    read = []
    for shape in made:
        if shape in wanted:
            wanted.remove(shape)
            read.append(shape)
    return tuple(read) or made


def column_by_kind(graph: CostedGraph, column: str) -> dict[OpKind, float]:
    """A per-node column (``predicted_ms``, ``time_ms``) summed by each node's kind."""
    kinds: dict[OpKind, float] = {}
    for node in graph.nodes:
        if column in node.extras:
            kinds[node.kind] = kinds.get(node.kind, 0.0) + node.extras[column]
    return kinds


def by_kind(graph: CostedGraph) -> dict[OpKind, Cost]:
    """Costs summed by op kind (conv, elementwise, data, ...), over every op of every node."""
    kinds: dict[OpKind, Cost] = {}
    for node in graph.nodes:
        for op in node.ops:
            kinds[op.kind] = kinds.get(op.kind, Cost()) + op.cost
    return kinds
