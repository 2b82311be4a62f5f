"""Convolutions: dense, grouped, depthwise, 1d/2d/3d, strided, dilated, transposed.

``ConvArgs`` is the one reader of ``aten.convolution``'s positional schema; the
formula here, the guideline rules and the proofs all go through it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from costmodel.cache import IdentityStore
from costmodel.ops.registry import io_cost, register_cost
from costmodel.records import record
from costmodel.types import Cost, OpCall, OpKind, TensorSpec

__all__ = ["CONVOLUTIONS", "ConvArgs", "convolution"]

aten = torch.ops.aten

#: The ATen convolution packets (``F.conv*`` and ``nn.Conv*`` reach one of them).
CONVOLUTIONS = (aten.convolution, aten._convolution)


#: call -> its arguments read: see ``ConvArgs.from_call``.
_READ: IdentityStore[OpCall, ConvArgs] = IdentityStore(
    "ops.conv_args", "recorded convolution call -> its arguments read"
)


@record
class ConvArgs:
    """``convolution(input, weight, bias?, stride, padding, dilation, transposed, output_padding, groups)``.

    ``c_in``/``c_out`` are the input and output channels; ``positions_in`` and
    ``positions_out`` the batch times the spatial size of input and output.
    """

    input: TensorSpec
    weight: TensorSpec
    bias: TensorSpec | None
    output: TensorSpec
    stride: tuple[Any, ...]
    transposed: bool
    groups: Any
    dilation: tuple[Any, ...] = (1,)

    @classmethod
    def from_call(cls, call: OpCall) -> ConvArgs:
        """Read a recorded convolution call (the schema's defaults where arguments are missing).

        Recorded calls repeat (the walk hands out one ``OpCall`` per signature), so each is read once.
        """
        found = _READ.get(call)
        if found is not None:
            return found
        args = call.args
        read = cls(
            input=args[0],
            weight=args[1],
            bias=args[2] if len(args) > 2 and isinstance(args[2], TensorSpec) else None,
            output=call.outputs[0],
            stride=tuple(args[3]) if len(args) > 3 else (1,),
            transposed=bool(args[6]) if len(args) > 6 else False,
            groups=args[8] if len(args) > 8 else 1,
            dilation=tuple(args[5]) if len(args) > 5 else (1,),
        )
        return _READ.put(call, read)

    def to_call(self) -> OpCall:
        """The ``OpCall`` a dispatched ``aten.convolution`` with these arguments records (no padding, dilation 1)."""
        dims = len(self.weight.shape) - 2
        return OpCall(
            aten.convolution.default,
            (self.input, self.weight, self.bias, list(self.stride), [0] * dims, [1] * dims, self.transposed,
             [0] * dims, self.groups),
            (self.output,),
        )  # fmt: skip

    @classmethod
    def conv2d(
        cls, c_in: Any, c_out: Any, size: Sequence[Any], out_size: Sequence[Any] | None = None, *,
        groups: Any = 1, kernel: Any = 1, batch: Any = 1,
    ) -> ConvArgs:  # fmt: skip
        """A bias-free 2-D conv ``[batch, c_in, *size] -> [batch, c_out, *out_size]`` (sizes may be symbols)."""
        out_size = tuple(size if out_size is None else out_size)
        return cls(
            input=TensorSpec((batch, c_in, *size)),
            weight=TensorSpec((c_out, c_in / groups, kernel, kernel)),
            bias=None,
            output=TensorSpec((batch, c_out, *out_size)),
            stride=(1, 1),
            transposed=False,
            groups=groups,
        )

    @property
    def c_in(self) -> Any:
        """Input channels."""
        return self.input.shape[1]

    @property
    def c_out(self) -> Any:
        """Output channels (for a transposed conv, the weight holds ``c_out / groups``)."""
        return self.weight.shape[1] * self.groups if self.transposed else self.weight.shape[0]

    @property
    def kernel(self) -> tuple[Any, ...]:
        """Kernel size per spatial dimension."""
        return tuple(self.weight.shape[2:])

    @property
    def kernel_area(self) -> Any:
        """Elements of one kernel window (k*k for 2-D)."""
        return math.prod(self.kernel)

    @property
    def positions_in(self) -> Any:
        """Batch times the input's spatial size."""
        return self.input.shape[0] * math.prod(self.input.shape[2:])

    @property
    def positions_out(self) -> Any:
        """Batch times the output's spatial size."""
        return self.output.shape[0] * math.prod(self.output.shape[2:])

    @property
    def depthwise(self) -> bool:
        """One group per input channel (MobileNet's and ShuffleNet's 3x3 layers)."""
        return self.groups > 1 and self.groups == self.c_in


@register_cost(*CONVOLUTIONS, kind=OpKind.CONV)
def convolution(call: OpCall) -> Cost:
    """Multiply-adds of a convolution; MAC = input + weight + bias + output."""
    # [n, c_out, *o] = convolution([n, c_in, *i], weight[c_out, c_in/g, *k], bias[c_out]?, ..., transposed, ..., g)
    # Each output element is a dot product of c_in/g * prod(k) terms. Transposed:
    # weight[c_in, c_out/g, *k], and each *input* element meets c_out/g * prod(k) weights.
    conv = ConvArgs.from_call(call)
    per_element = math.prod(conv.weight.shape[1:])
    flops = (conv.input.numel if conv.transposed else conv.output.numel) * per_element
    bias_adds = conv.output.numel if conv.bias is not None else 0
    return io_cost(call, flops, bias_adds)
