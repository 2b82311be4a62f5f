"""Predicted time of a costed graph on a calibrated device: per op, per node, in total.

A node's time is the Python overhead of its kind of graph node (a module call)
plus the predicted time of every ATen call it makes; each user-defined module
that the graph passes through (a block, the model itself) adds one module call,
charged to its first node. The model's time is the sum over nodes, as eager
PyTorch runs them one after another. Records only: nothing here runs a model.
"""

from __future__ import annotations

from costmodel.device.profile import DeviceProfile
from costmodel.types import CostedGraph, FrozenMap, NodeCost

__all__ = ["PREDICTED", "predict"]

#: The report column predictions join as (milliseconds per node).
PREDICTED = "predicted_ms"


def _containers(node: NodeCost) -> list[str]:
    """The modules a node runs inside, outermost first (``""`` is the model)."""
    parts = node.module_path.split(".") if node.module_path else []
    inner = len(parts) - 1 if node.op == "call_module" else len(parts)
    return [".".join(parts[:depth]) for depth in range(inner + 1)]


def predict(profile: DeviceProfile, graph: CostedGraph) -> FrozenMap[str, float]:
    """Predicted milliseconds of every node, by node name (the ``predicted_ms`` column)."""
    module_call = profile.node_overhead.get("call_module", 0.0)
    entered: set[str] = set()
    column = {}
    for node in graph.nodes:
        seconds = profile.node_seconds(node)
        if node.ops:
            fresh = [path for path in _containers(node) if path not in entered]
            entered.update(fresh)
            seconds += module_call * len(fresh)
        column[node.name] = seconds * 1e3
    return FrozenMap(column)
