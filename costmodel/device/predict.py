"""Predicted time of a costed graph on a calibrated device: per op, per node, in total.

A node's time is the Python overhead of its kind of graph node (a module call),
the reading of a linear layer's weights from memory, plus the predicted time of
every ATen call it makes; each user-defined module
that the graph passes through (a block, the model itself) adds one module call,
charged to its first node. The model's time is the sum over nodes, as eager
PyTorch runs them one after another. Records only: nothing here runs a model.
"""

from __future__ import annotations

from costmodel.cache import KeyedStore, memoize
from costmodel.device.profile import DeviceProfile
from costmodel.types import CostedGraph, FrozenMap, NodeCost, OpCost

__all__ = ["PREDICTED", "GraphTime", "predict"]

#: The report column predictions join as (milliseconds per node: seconds until then).
PREDICTED = "predicted_ms"


class GraphTime:
    """A profile's predictions for one analysis, each op and node priced once (a ``TimeModel``).

    The prediction column and every rule's timing read the same prices, so a
    report with a profile costs little more than one without. Entries are keyed
    by identity and hold their node, so a key is never reused while it is kept (the node
    times live as long as this object); op prices are kept per profile across analyses
    (``device.op_seconds``).
    """

    __slots__ = ("_nodes", "device", "profile")

    def __init__(self, profile: DeviceProfile) -> None:
        self.profile = profile
        self.device = profile.device
        self._nodes: dict[int, tuple[NodeCost, float]] = {}

    def op_seconds(self, op: OpCost) -> float:
        """Predicted seconds of one ATen call (priced on first use)."""
        key = (id(self.profile), id(op))
        found = _OP_SECONDS.get(key)
        if found is not None and found[0] is self.profile and found[1] is op:
            return found[2]
        seconds = self.profile.op_seconds(op)
        _OP_SECONDS.put(key, (self.profile, op, seconds))  # both kept: neither id is reused while kept
        return seconds

    def node_seconds(self, node: NodeCost) -> float:
        """Predicted seconds of one graph node: its fixed part (``DeviceProfile.node_fixed_seconds``) plus its
        ATen calls."""
        found = self._nodes.get(id(node))
        if found is not None and found[0] is node:
            return found[1]
        seconds = self.profile.node_fixed_seconds(node) + sum(self.op_seconds(op) for op in node.ops)
        self._nodes[id(node)] = (node, seconds)
        return seconds


#: (profile, op) -> predicted seconds. The walk hands out one priced op per recorded call, so a profile prices
#: each kind of call once across analyses.
_OP_SECONDS: KeyedStore[tuple[int, int], tuple[DeviceProfile, OpCost, float]] = KeyedStore(
    "device.op_seconds", "(profile, priced op) -> predicted seconds", scope="formulas"
)


@memoize("device.containers", "(module path, is a module call) -> the modules it runs in", 4096)
def _containers(module_path: str, is_module_call: bool) -> tuple[str, ...]:
    """The modules a node runs inside, outermost first (``""`` is the model); a module call is not its own."""
    parts = module_path.split(".") if module_path else []
    inner = len(parts) - 1 if is_module_call else len(parts)
    return tuple(".".join(parts[:depth]) for depth in range(inner + 1))


def predict(profile: DeviceProfile | GraphTime, graph: CostedGraph) -> FrozenMap[str, float]:
    """Predicted seconds of every node, by node name (in milliseconds, the ``predicted_ms`` column)."""
    time = profile if isinstance(profile, GraphTime) else GraphTime(profile)
    module_call = time.profile.module_call_s
    entered: set[str] = set()
    column = {}
    for node in graph.nodes:
        seconds = time.node_seconds(node)
        if node.ops:
            fresh = [path for path in _containers(node.module_path, node.op == "call_module") if path not in entered]
            entered.update(fresh)
            seconds += module_call * len(fresh)
        column[node.name] = seconds
    return FrozenMap(column)
