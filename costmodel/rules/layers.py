"""The convolutions of a costed graph as the rules see them: ``ConvLayer`` (node, op and decoded arguments)."""

from __future__ import annotations

import math
from collections.abc import Iterator

from costmodel.cache import memoize
from costmodel.ops.conv import CONVOLUTIONS, ConvArgs, convolution
from costmodel.records import record
from costmodel.rules.memo import per_ops, per_run
from costmodel.types import CostedGraph, NodeCost, OpCost, OpKind, SourceLocation, TensorSpec

__all__ = ["ConvLayer", "conv_layers", "is_depthwise"]


@record
class ConvLayer:
    """One convolution op in a graph node, its arguments decoded once by ``ConvArgs``."""

    node: NodeCost
    op: OpCost
    args: ConvArgs

    @property
    def c1(self) -> int:
        """Input channels."""
        return self.args.c_in

    @property
    def c2(self) -> int:
        """Output channels."""
        return self.args.c_out

    @property
    def bias(self) -> int:
        """Bias elements (0 without bias)."""
        return self.args.bias.numel if self.args.bias is not None else 0

    @property
    def where(self) -> SourceLocation | None:
        """The line that built the layer, else the line that ran it."""
        return self.node.definition or self.node.location

    @property
    def shape_text(self) -> str:
        """'240->60, 1x1, g=3' for messages."""
        kernel = "x".join(map(str, self.args.kernel))
        return f"{self.c1}->{self.c2}, {kernel}, g={self.args.groups}"

    @property
    def kind_text(self) -> str:
        """'Conv2d (240->60, 1x1, g=3)': repeated findings on such layers group by it."""
        return f"{self.node.module_type or 'conv'} ({self.shape_text})"

    @property
    def width_ratio(self) -> str:
        """c_in:c_out with the smaller side 1 ('1:6', '6:1')."""
        return f"1:{self.c2 / self.c1:.2g}" if self.c2 >= self.c1 else f"{self.c1 / self.c2:.2g}:1"

    def variant(self, c_in: int, c_out: int, groups: int) -> OpCost:
        """The same conv (batch, maps, kernel, stride) with other widths and groups, costed by the walker."""
        return _variant(self.args, c_in, c_out, groups)

    def balanced(self) -> OpCost:
        """G1's fix: equal widths at (about) the same FLOPs, ``sqrt(c_in * c_out)`` each, a multiple of the groups."""
        g = self.args.groups
        width = max(g, round(math.sqrt(self.c1 * self.c2) / g) * g)
        return self.variant(width, width, g)

    def ungrouped(self) -> OpCost:
        """G2's fix: groups=1 at the same FLOPs and input width (the output ``groups`` times narrower)."""
        return self.variant(self.c1, max(1, self.c2 // self.args.groups), 1)

    def facts(self) -> dict[str, int]:
        """The layer's numbers for a finding's data."""
        return {"c_in": self.c1, "c_out": self.c2, "groups": self.args.groups, "kernel_area": self.args.kernel_area}


@memoize("rules.conv_variant", "a conv and new widths -> the variant's cost", 1024)
def _variant(a: ConvArgs, c_in: int, c_out: int, groups: int) -> OpCost:
    """Built once per distinct layer: repeated blocks ask for the same replacement (and its price is cached)."""
    batch, spatial_in, spatial_out = a.input.shape[0], a.input.shape[2:], a.output.shape[2:]
    dtype = a.input.dtype
    call = ConvArgs(
        input=TensorSpec((batch, c_in, *spatial_in), dtype),
        weight=TensorSpec((c_out, c_in // groups, *a.kernel), dtype),
        bias=None,
        output=TensorSpec((batch, c_out, *spatial_out), dtype),
        stride=a.stride,
        transposed=False,
        groups=groups,
    ).to_call()
    return OpCost(call, OpKind.CONV, convolution(call))


def _convolutions(node: NodeCost) -> Iterator[ConvLayer]:
    for op in node.ops:
        if op.kind is OpKind.CONV and getattr(op.call.target, "overloadpacket", None) in CONVOLUTIONS:
            yield ConvLayer(node, op, ConvArgs.from_call(op.call))


#: Each graph's convolutions, found once per run of the rules (G1 and G2 both read them).
_CONV_LAYERS = per_run("conv_layers", "graph -> its convolutions")


def conv_layers(graph: CostedGraph) -> tuple[ConvLayer, ...]:
    """Every convolution op in the graph, in graph order."""
    found = _CONV_LAYERS.get(graph)
    if found is None:
        found = _CONV_LAYERS.put(graph, tuple(layer for node in graph.nodes for layer in _convolutions(node)))
    return found


_DEPTHWISE = per_ops("depthwise", "a node's ops -> whether it is a depthwise conv")


def is_depthwise(node: NodeCost) -> bool:
    """A node whose convolution has one group per input channel."""
    found = _DEPTHWISE.get(node.ops)
    if found is None:
        found = _DEPTHWISE.put(node.ops, any(layer.args.depthwise for layer in _convolutions(node)))
    return bool(found)
