"""Op families of the latency model and the features each op call is timed by.

A family groups ATen calls that run the same kind of kernel (a dense 1x1 conv,
a depthwise conv, a matrix product, a pointwise op, a copy, ...). Within a
family, time is modelled as ``overhead + parallel * launched + work / rate +
bytes / bandwidth``; the features are read from the walker's own costs, so the
profile prices exactly what the report counts.
"""

from __future__ import annotations

import functools
from enum import StrEnum

import torch

from costmodel.ops.conv import CONVOLUTIONS, ConvArgs
from costmodel.types import OpCost, OpKind

__all__ = ["FEATURES", "GRAIN_SIZE", "Family", "family", "features", "fresh_bytes", "launches"]

#: Elements above which ATen's CPU kernels split work across threads (``at::internal::GRAIN_SIZE``).
GRAIN_SIZE = 32768

#: The features of an op call, in the order of a family's coefficients: a fixed cost per call, the extra
#: cost of waking the thread pool, and work and traffic split by whether the kernel ran serially or in
#: parallel (a parallel kernel shares them among the threads, at another rate).
FEATURES = ("call", "parallel", "work_serial", "work_parallel", "bytes_serial", "bytes_parallel")


class Family(StrEnum):
    """Kinds of kernel with one time model each."""

    CONV_1X1 = "conv_1x1"
    CONV_KXK = "conv_kxk"
    CONV_GROUPED = "conv_grouped"
    CONV_DEPTHWISE = "conv_depthwise"
    MATMUL = "matmul"
    ATTENTION = "attention"
    ELEMENTWISE = "elementwise"
    TRANSCENDENTAL = "transcendental"
    NORM = "norm"
    POOL = "pool"
    REDUCTION = "reduction"
    COPY = "copy"
    REORDER = "reorder"
    VIEW = "view"


_BY_KIND = {
    OpKind.MATMUL: Family.MATMUL,
    OpKind.ATTENTION: Family.ATTENTION,
    OpKind.ELEMENTWISE: Family.ELEMENTWISE,
    OpKind.NORM: Family.NORM,
    OpKind.POOL: Family.POOL,
    OpKind.REDUCTION: Family.REDUCTION,
    OpKind.DATA: Family.COPY,
    OpKind.EMBEDDING: Family.COPY,
    OpKind.VIEW: Family.VIEW,
    OpKind.NONE: Family.VIEW,
    OpKind.CUSTOM: Family.ELEMENTWISE,  # a user's formula: priced by its work and traffic
    OpKind.UNSUPPORTED: Family.ELEMENTWISE,  # traffic estimated; counted in Report.unsupported
}


#: Copies that make a reordered view contiguous (``contiguous()`` after a transpose: channel shuffle,
#: attention heads): strided reads, much slower per byte than ``cat`` or padding.
_REORDERING_COPIES = frozenset({torch.ops.aten.clone, torch.ops.aten.copy_, torch.ops.aten._to_copy})


#: Element-wise ops that evaluate an exponential, a logarithm, an error function or a power per element:
#: compute-bound, several times slower per element than an add, a ReLU or a clamp, which only move data.
_TRANSCENDENTAL = frozenset(
    getattr(torch.ops.aten, name)
    for name in (
        "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sigmoid", "tanh", "gelu", "silu", "mish",
        "erf", "erfc", "erfinv", "elu", "selu", "celu", "softplus", "log_sigmoid_forward", "pow", "sin", "cos",
        "tan", "asin", "acos", "atan", "sinh", "cosh", "_softmax", "_log_softmax", "_safe_softmax",
    )
    if hasattr(torch.ops.aten, name)
)  # fmt: skip


#: Kinds of call that run no kernel: views and bookkeeping.
_NO_KERNEL = frozenset({OpKind.VIEW, OpKind.NONE})


@functools.cache
def _mutates(target: object) -> bool:
    """Whether an op writes into its arguments (an in-place or ``out=`` op), by its schema."""
    schema = getattr(target, "_schema", None)
    return schema is not None and schema.is_mutable


def _conv_family(conv: ConvArgs) -> Family:
    if conv.depthwise:
        return Family.CONV_DEPTHWISE
    if conv.groups > 1:
        return Family.CONV_GROUPED
    if conv.kernel_area == 1:
        return Family.CONV_1X1
    return Family.CONV_KXK


def family(op: OpCost) -> Family:
    """The family whose time model prices ``op``."""
    kind = op.kind
    if kind is OpKind.CONV:  # ATen's convolutions by their arguments; a user-registered conv module as k x k
        packet = getattr(op.call.target, "overloadpacket", None)
        return _conv_family(ConvArgs.from_call(op.call)) if packet in CONVOLUTIONS else Family.CONV_KXK
    if kind is OpKind.DATA and getattr(op.call.target, "overloadpacket", None) in _REORDERING_COPIES:
        return Family.REORDER
    if kind is OpKind.ELEMENTWISE and getattr(op.call.target, "overloadpacket", None) in _TRANSCENDENTAL:
        return Family.TRANSCENDENTAL
    return _BY_KIND[kind]


def fresh_bytes(op: OpCost) -> int:
    """Bytes of new memory the call writes its outputs to (0 for views, bookkeeping and in-place ops).

    Inside a network each such output is a fresh allocation, which the allocator may serve
    with pages the kernel must fault in and zero: a cost isolated micro-benchmarks, which
    reuse the block they just freed, do not see.
    """
    if op.kind in _NO_KERNEL or _mutates(op.call.target):
        return 0
    return sum(spec.nbytes for spec in op.call.outputs)


def launches(op: OpCost) -> int:
    """1 for a call that runs a kernel, 0 for views and bookkeeping."""
    return int(op.kind not in _NO_KERNEL)


def features(op: OpCost) -> tuple[float, ...]:
    """The values of ``FEATURES`` for one call; work is multiply-adds plus element-wise ops."""
    largest = max((spec.numel for spec in op.call.outputs), default=0)
    work, moved = float(op.cost.flops + op.cost.elementwise), float(op.cost.mac_bytes)
    if largest >= GRAIN_SIZE:
        return (1.0, 1.0, 0.0, work, 0.0, moved)
    return (1.0, 0.0, work, 0.0, moved, 0.0)
