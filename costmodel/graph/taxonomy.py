"""The ShuffleNet V2 paper's Fig. 2 run-time categories of a costed graph's nodes."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from costmodel.types import COMPUTE_KINDS, ELEMENTWISE_KINDS, NodeCost, OpKind

__all__ = ["CATEGORIES", "category"]

#: The paper's Fig. 2 run-time categories, in its order.
CATEGORIES = ("conv", "elementwise", "data", "shuffle", "other")

_aten = torch.ops.aten
#: Views that reorder dimensions: a copy of their output is a channel shuffle.
_REORDERING = frozenset({_aten.transpose, _aten.permute, _aten.t})
_SHUFFLES = frozenset({_aten.channel_shuffle, _aten.native_channel_shuffle})


def _packets(node: NodeCost) -> set[object]:
    return {getattr(op.call.target, "overloadpacket", op.call.target) for op in node.ops}


def category(node: NodeCost, nodes: Mapping[str, NodeCost]) -> str:
    """The Fig. 2 category of a node: conv, elementwise, data, shuffle or other.

    A copy whose input was reordered by a transpose or permute view (in the same node,
    a channel shuffle layer, or through any chain of view nodes before it) is a channel
    shuffle; other copies (concat, padding) are data.
    """
    if node.kind in COMPUTE_KINDS:
        return "conv"
    if node.kind in ELEMENTWISE_KINDS:
        return "elementwise"
    if node.kind == OpKind.DATA:
        if _packets(node) & (_SHUFFLES | _REORDERING) or _reordered(node, nodes):
            return "shuffle"
        return "data"
    return "other"


def _reordered(node: NodeCost, nodes: Mapping[str, NodeCost]) -> bool:
    pending, seen = list(node.inputs), set()
    while pending:
        name = pending.pop()
        source = nodes.get(name)
        if source is None or name in seen:
            continue
        seen.add(name)
        if _packets(source) & _REORDERING:
            return True
        if source.kind in (OpKind.VIEW, OpKind.NONE):
            pending.extend(source.inputs)
    return False
