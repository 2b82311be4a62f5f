"""Predicted time of a costed graph on a calibrated device: per op, per node, in total.

A node's time is the Python overhead of its kind of graph node (a module call)
plus the predicted time of every ATen call it makes; each user-defined module
that the graph passes through (a block, the model itself) adds one module call,
charged to its first node. The model's time is the sum over nodes, as eager
PyTorch runs them one after another. Records only: nothing here runs a model.
"""

from __future__ import annotations

import functools

from costmodel.device.profile import DeviceProfile
from costmodel.identity_memo import IdentityMemo
from costmodel.types import CostedGraph, FrozenMap, NodeCost, OpCost

__all__ = ["PREDICTED", "GraphTime", "predict"]

#: The report column predictions join as (milliseconds per node).
PREDICTED = "predicted_ms"


class GraphTime:
    """A profile's predictions for one analysis, each op and node priced once (a ``TimeModel``).

    The prediction column and every rule's timing read the same prices, so a
    report with a profile costs little more than one without. Entries are keyed
    by identity and hold their op, so a key is never reused while it is kept; op
    prices are kept per profile across analyses.
    """

    __slots__ = ("_nodes", "_ops", "device", "profile")

    def __init__(self, profile: DeviceProfile) -> None:
        self.profile = profile
        self.device = profile.device
        self._ops = _op_prices(profile)
        self._nodes: IdentityMemo[NodeCost, float] = IdentityMemo()

    def op_seconds(self, op: OpCost) -> float:
        """Predicted seconds of one ATen call (priced on first use)."""
        seconds = self._ops.get(op)
        if seconds is None:
            seconds = self.profile.op_seconds(op)
            if op.call.module is None:  # a module formula's call stays out: the prices never hold a model
                self._ops.put(op, seconds)
        return seconds

    def node_seconds(self, node: NodeCost) -> float:
        """Predicted seconds of one graph node: its Python overhead plus its ATen calls."""
        seconds = self._nodes.get(node)
        if seconds is None:
            overhead = self.profile.node_overhead.get(node.op, 0.0) if node.ops else 0.0
            seconds = self._nodes.put(node, overhead + sum(self.op_seconds(op) for op in node.ops))
        return seconds


#: Per profile: op -> predicted seconds. The walk hands out one priced op per recorded call, so a profile
#: prices each kind of call once across analyses.
_PRICES: IdentityMemo[DeviceProfile, IdentityMemo[OpCost, float]] = IdentityMemo(8)


def _op_prices(profile: DeviceProfile) -> IdentityMemo[OpCost, float]:
    found = _PRICES.get(profile)
    return found if found is not None else _PRICES.put(profile, IdentityMemo())


@functools.lru_cache(maxsize=4096)
def _containers(module_path: str, is_module_call: bool) -> tuple[str, ...]:
    """The modules a node runs inside, outermost first (``""`` is the model); a module call is not its own."""
    parts = module_path.split(".") if module_path else []
    inner = len(parts) - 1 if is_module_call else len(parts)
    return tuple(".".join(parts[:depth]) for depth in range(inner + 1))


def predict(profile: DeviceProfile | GraphTime, graph: CostedGraph) -> FrozenMap[str, float]:
    """Predicted milliseconds of every node, by node name (the ``predicted_ms`` column)."""
    time = profile if isinstance(profile, GraphTime) else GraphTime(profile)
    module_call = time.profile.node_overhead.get("call_module", 0.0)
    entered: set[str] = set()
    column = {}
    for node in graph.nodes:
        seconds = time.node_seconds(node)
        if node.ops:
            fresh = [path for path in _containers(node.module_path, node.op == "call_module") if path not in entered]
            entered.update(fresh)
            seconds += module_call * len(fresh)
        column[node.name] = seconds * 1e3
    return FrozenMap(column)
