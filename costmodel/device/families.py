"""Op families of the latency model and the features each op call is timed by.

A family groups ATen calls that run the same kind of kernel (a dense 1x1 conv,
a depthwise conv, a matrix product, a pointwise op, a copy, ...). Within a
family, time is modelled as ``overhead + parallel * launched + work / rate +
bytes / bandwidth``; the features are read from the walker's own costs, so the
profile prices exactly what the report counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

import torch

from costmodel.cache import memoize
from costmodel.ops.conv import CONVOLUTIONS, ConvArgs
from costmodel.types import NodeCost, OpCost, OpKind

__all__ = [
    "CONV_FAMILIES",
    "FEATURES",
    "GRAIN_SIZE",
    "MAPPED_FROM_BYTES",
    "Family",
    "family",
    "features",
    "fresh_bytes",
    "launches",
    "mapped_bytes",
    "onednn_conv",
    "weight_bytes",
    "weight_key",
]

#: Elements above which ATen's CPU kernels split work across threads (``at::internal::GRAIN_SIZE``).
GRAIN_SIZE = 32768

#: Output bytes from which glibc's allocator maps fresh pages for a new tensor (unless its heap holds a free block that
#: large): its mmap threshold follows the largest block freed but never passes ``DEFAULT_MMAP_THRESHOLD_MAX``, 32 MiB
#: on 64-bit
#: (``costmodel.device.calibration.memory`` times what such a byte costs).
MAPPED_FROM_BYTES = 32 * 2**20

#: The features of an op call, in the order of a family's coefficients: a fixed cost per call, the extra
#: cost of the second regime, and work and traffic split by regime. The regime is whether the kernel ran
#: in parallel (ATen's grain: at least ``GRAIN_SIZE`` output elements), or, for a family fit by backend,
#: whether ATen sent the convolution to oneDNN rather than its native im2col and matrix product.
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
    MAX_POOL = "max_pool"
    REDUCTION = "reduction"
    COPY = "copy"
    GATHER = "gather"
    INDEX = "index"
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


def _aten(*names: str) -> frozenset[object]:
    """The ATen op packets of these names (those this torch has)."""
    return frozenset(getattr(torch.ops.aten, name) for name in names if hasattr(torch.ops.aten, name))


#: Copies that make a reordered view contiguous (``contiguous()`` after a transpose: channel shuffle,
#: attention heads): strided reads, much slower per byte than ``cat`` or padding.
_REORDERING_COPIES = _aten("clone", "copy_", "_to_copy")


#: Gathers by an index tensor of the output's shape (``gather``, ``take``): vectorised, 0.3 ns per element on a
#: 2-core EPYC, against a copy's or ``index_select``'s whole rows.
_GATHERS = _aten("gather", "take", "take_along_dim")

#: Advanced indexing by index tensors (``table[index]``, ``bias[:, index]``): ATen's index kernel, an offset
#: computed per output element, about 1.1 ns per element on a 2-core EPYC (3-4 times a ``gather``'s) where the
#: indexed dimension is the last or the rows are narrow.
_INDEXING = _aten("index")

#: Pools that take a window's maximum: on CPU several times slower per window element than an average.
_MAX_POOLS = _aten(
    "max_pool1d", "max_pool2d", "max_pool3d", "max_pool2d_with_indices", "max_pool3d_with_indices",
    "mkldnn_max_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
)  # fmt: skip

#: Element-wise ops that evaluate an exponential, a logarithm, an error function or a power per element:
#: compute-bound, several times slower per element than an add, a ReLU or a clamp, which only move data.
_TRANSCENDENTAL = _aten(
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sigmoid", "tanh", "gelu", "silu", "mish",
    "erf", "erfc", "erfinv", "elu", "selu", "celu", "softplus", "log_sigmoid_forward", "pow", "sin", "cos",
    "tan", "asin", "acos", "atan", "sinh", "cosh", "_softmax", "_log_softmax", "_safe_softmax",
)  # fmt: skip

#: Kinds of op whose family also depends on which op it is: kind -> ((those ops, their family), ...).
_BY_OP: dict[OpKind, tuple[tuple[frozenset[object], Family], ...]] = {
    OpKind.DATA: ((_REORDERING_COPIES, Family.REORDER), (_GATHERS, Family.GATHER), (_INDEXING, Family.INDEX)),
    OpKind.ELEMENTWISE: ((_TRANSCENDENTAL, Family.TRANSCENDENTAL),),
    OpKind.POOL: ((_MAX_POOLS, Family.MAX_POOL),),
}


#: The families of calls that read an index per element they write (their work: the elements written).
_BY_INDEX = frozenset({Family.GATHER, Family.INDEX})

#: Kinds of call that run no kernel: views and bookkeeping.
_NO_KERNEL = frozenset({OpKind.VIEW, OpKind.NONE})


@memoize("device.mutates", "op -> whether it writes into its arguments", None)
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
    packet = getattr(op.call.target, "overloadpacket", None)
    if kind is OpKind.CONV:  # ATen's convolutions by their arguments; a user-registered conv module as k x k
        conv = _conv_args(op)
        return _conv_family(conv) if conv is not None else Family.CONV_KXK
    for ops, by_op in _BY_OP.get(kind, ()):
        if packet in ops:
            return by_op
    return _BY_KIND[kind]


def fresh_bytes(op: OpCost) -> int:
    """Bytes of new memory the call writes its outputs to (0 for views, bookkeeping and in-place ops).

    Inside a network each such output is a fresh allocation, which the allocator may serve
    with pages the kernel must fault in and zero: a cost isolated micro-benchmarks, which
    reuse the block they just freed, do not see.
    """
    return sum(spec.nbytes for spec in op.call.outputs) if _writes_fresh(op) else 0


def _writes_fresh(op: OpCost) -> bool:
    """Whether the call writes new outputs: it runs a kernel, not in place."""
    return op.kind not in _NO_KERNEL and not _mutates(op.call.target)


def _conv_args(op: OpCost) -> ConvArgs | None:
    """The arguments of one of ATen's convolutions (``None`` for any other call, a user-registered conv too)."""
    if op.kind is OpKind.CONV and getattr(op.call.target, "overloadpacket", None) in CONVOLUTIONS:
        return ConvArgs.from_call(op.call)
    return None


def mapped_bytes(op: OpCost, from_bytes: int, threads: int | None = None) -> int:
    """Bytes of the call's fresh tensors of at least ``from_bytes`` each, which the allocator maps new pages for on
    every call (``costmodel.device.calibration.memory``): its outputs, and with ``threads`` (a profile fit by ATen's
    convolution backend) a oneDNN convolution's own two buffers, its input and its output reordered to oneDNN's
    blocked layout and back (faulted per call, measured on a 2-core EPYC: three times the map, the output and both
    buffers; inputs taken as NCHW, as the recorded specs carry no strides). 0 for views, bookkeeping, in-place ops.
    """
    if not _writes_fresh(op):
        return 0
    mapped = sum(spec.nbytes for spec in op.call.outputs if spec.nbytes >= from_bytes)
    if threads is not None and (conv := _conv_args(op)) is not None and onednn_conv(conv, threads):
        mapped += sum(spec.nbytes for spec in (conv.input, conv.output) if spec.nbytes >= from_bytes)
    return mapped


def weight_bytes(node: NodeCost) -> int:
    """Bytes of weights a node's matrix product reads (its parameters, at its product's dtype); 0 for other nodes.

    A network reads each linear layer's weights once per call, from memory rather than cache: a product of few
    rows (a transformer's tokens, a classifier) then waits on them, which a micro-benchmark run back to back on
    one layer never does.
    """
    if not node.params:
        return 0
    for op in node.ops:
        if op.kind is OpKind.MATMUL and op.call.outputs:
            return node.params * op.call.outputs[0].itemsize
    return 0


def launches(op: OpCost) -> int:
    """1 for a call that runs a kernel, 0 for views and bookkeeping."""
    return int(op.kind not in _NO_KERNEL)


#: The families whose regime can be ATen's convolution backend (``onednn_conv``).
CONV_FAMILIES = frozenset({Family.CONV_1X1, Family.CONV_KXK, Family.CONV_GROUPED, Family.CONV_DEPTHWISE})

#: Input elements up to which ATen keeps a float32 convolution of batch 1 on its native path ("for some case,
#: native is faster", ``ConvParams::use_mkldnn`` in ATen's Convolution.cpp).
_NATIVE_UP_TO = 20480


def onednn_conv(conv: ConvArgs, threads: int) -> bool | None:
    """Whether ATen runs a CPU convolution with oneDNN (else its native im2col and matrix product), by ATen's
    own rule (``ConvParams::use_mkldnn``, float32): ``None`` where the rule does not apply (another dtype,
    a transposed convolution, not 4-d).

    A oneDNN convolution of NCHW tensors pays a large fixed cost (layout reorders), measured here at
    about 140 µs on a 2-core EPYC against the native path's 20 µs: which path a layer takes can decide its
    time more than its multiply-adds.
    """
    x, w = conv.input, conv.weight
    if x.dtype != torch.float32 or conv.transposed or len(x.shape) != 4 or len(w.shape) != 4:
        return None
    batch, kh, kw = x.shape[0], w.shape[-2], w.shape[-1]
    strided = any(s != 1 for s in conv.stride)
    dilated = any(d != 1 for d in conv.dilation)
    first = strided or dilated or batch >= 16 or kh != 1 or kw != 1 or threads > 1
    second = conv.groups > 1 or (kh > 3 and kw > 3) or batch > 1 or x.numel > _NATIVE_UP_TO
    return first and second


def weight_key(op: OpCost) -> str:
    """What a transcendental call's weight is stored under: its ATen op's name, and ``gelu:tanh`` for the tanh
    approximation of GELU (the same op, three times the time per element)."""
    packet = getattr(op.call.target, "overloadpacket", None)
    name = str(getattr(packet, "__name__", op.name))
    if name == "gelu" and op.call.kwargs.get("approximate") == "tanh":
        return "gelu:tanh"
    return name


def features(op: OpCost, threads: int | None = None, weights: Mapping[str, float] | None = None) -> tuple[float, ...]:
    """The values of ``FEATURES`` for one call; work is multiply-adds plus element-wise ops (a gather's: the
    elements it gathers), a transcendental call's times its op's weight in ``weights`` (``weight_key``; 1 where
    none is given).

    With ``threads`` (a family fit by backend), a convolution's regime is ATen's backend at that thread
    count (``onednn_conv``); otherwise, and where that rule does not apply, the grain of its output.
    """
    work, moved = float(op.cost.flops + op.cost.elementwise), float(op.cost.mac_bytes)
    kind = family(op)
    if not work and kind in _BY_INDEX:  # an index read per element gathered
        work = float(sum(spec.numel for spec in op.call.outputs))
    elif weights and kind is Family.TRANSCENDENTAL:
        work *= weights.get(weight_key(op), 1.0)
    second = None
    if threads is not None and (conv := _conv_args(op)) is not None:
        second = onednn_conv(conv, threads)
    if second is None:
        second = max((spec.numel for spec in op.call.outputs), default=0) >= GRAIN_SIZE
    if second:
        return (1.0, 1.0, 0.0, work, 0.0, moved)
    return (1.0, 0.0, work, 0.0, moved, 0.0)
