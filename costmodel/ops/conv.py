"""Convolutions: dense, grouped, depthwise, 1d/2d/3d, strided, dilated, transposed."""

from __future__ import annotations

import math

import torch

from costmodel.ops.registry import io_cost, register_cost
from costmodel.types import Cost, OpCall, OpKind

__all__ = ["convolution"]

aten = torch.ops.aten


@register_cost(aten.convolution, aten._convolution, kind=OpKind.CONV)
def convolution(call: OpCall) -> Cost:
    """Multiply-adds of a convolution; MAC = input + weight + bias + output."""
    # [n, c_out, *o] = convolution([n, c_in, *i], weight[c_out, c_in/g, *k], bias[c_out]?, ..., transposed, ..., g)
    # Each output element is a dot product of c_in/g * prod(k) terms. Transposed:
    # weight[c_in, c_out/g, *k], and each *input* element meets c_out/g * prod(k) weights.
    x, weight, bias = call.args[:3]
    transposed = call.args[6] if len(call.args) > 6 else False
    out = call.outputs[0]
    per_element = math.prod(weight.shape[1:])
    flops = (x.numel if transposed else out.numel) * per_element
    bias_adds = out.numel if bias is not None else 0
    return io_cost(call, flops, bias_adds)
