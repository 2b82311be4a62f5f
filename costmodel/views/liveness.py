"""Liveness: which activations are alive at once as eager PyTorch runs a costed graph, and the peak."""

from __future__ import annotations

from typing import Any

from costmodel.types import ActivationMemory, CostedGraph

__all__ = ["activation_memory"]


def activation_memory(graph: CostedGraph) -> ActivationMemory:
    """Activation bytes of one inference run in graph order, each output freed after its last reader.

    Views share their source's memory. The inputs count as live from the start; the
    temporaries inside one node (a leaf module's intermediates) are not seen.
    """
    owner: dict[str, str] = {}  # node -> the node whose memory its output is
    size: dict[str, int] = {}
    last_read: dict[str, int] = {}
    for index, node in enumerate(graph.nodes):
        for source in node.inputs:
            last_read[owner.get(source, source)] = index
        if node.aliases_input:
            owner[node.name] = owner.get(node.inputs[0], node.inputs[0])
        else:
            owner[node.name] = node.name
            size[node.name] = node.output_bytes
            last_read.setdefault(node.name, index)
    live = graph.input_bytes  # the caller holds the inputs throughout
    peaks = [live]
    written = 0
    for index, node in enumerate(graph.nodes):
        if owner[node.name] == node.name:
            live += size[node.name]
            written += size[node.name]
        peaks.append(live)
        for root in {owner.get(source, source) for source in node.inputs} | {node.name}:
            if last_read.get(root) == index and root in size:
                live -= size.pop(root)
    return ActivationMemory(_largest(peaks), written)


def _largest(counts: list[Any]) -> Any:
    """The largest byte count; of formulas of named sizes, their symbolic ``Max`` (left unevaluated: comparing
    formulas of floors costs seconds, and a substitution of sizes evaluates it)."""
    if all(isinstance(count, int | float) for count in counts):
        return max(counts)
    import sympy

    return sympy.Max(*dict.fromkeys(counts), evaluate=False)
