"""Element-wise ops PyTorch does not tag ``pointwise``: softmax, dropout, activations' composites.

Every op tagged ``torch.Tag.pointwise`` (relu, add, mul, hardtanh, sigmoid, ...)
is costed by the registry's pointwise family: one op per output element,
MAC = inputs read + outputs written. The ones here need a formula of their own.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from costmodel.ops.registry import io_cost, register_cost
from costmodel.types import Cost, OpCall, OpKind

__all__ = ["dropout", "elementwise_factory", "softmax"]

aten = torch.ops.aten


def elementwise_factory(ops_per_element: int) -> Callable[[OpCall], Cost]:
    """A formula costing ``ops_per_element`` element-wise ops per output element (fvcore-style factory)."""

    def formula(call: OpCall) -> Cost:
        return io_cost(call, elementwise=ops_per_element * call.outputs[0].numel)

    formula.__doc__ = f"{ops_per_element} element-wise op(s) per output element."
    return formula


# NB: softmax = exp, sum and divide per element; the max-subtract pass is not counted.
softmax = register_cost(aten._softmax, aten._log_softmax, aten._safe_softmax, kind=OpKind.ELEMENTWISE)(
    elementwise_factory(3)
)
# Training-mode dropout: draw a mask and multiply (eval-mode dropout runs no op at all).
dropout = register_cost(aten.native_dropout, aten.bernoulli, kind=OpKind.ELEMENTWISE)(elementwise_factory(2))

# Activations PyTorch leaves untagged: one op per output element like the tagged ones.
register_cost(
    aten.hardswish,
    aten.hardswish_,
    aten.log_sigmoid_forward,
    aten.rrelu_with_noise,
    aten.prelu,
    aten._prelu_kernel,
    aten.glu,
    aten.floor_divide,
    aten.floor_divide_,
    kind=OpKind.ELEMENTWISE,
)(elementwise_factory(1))
