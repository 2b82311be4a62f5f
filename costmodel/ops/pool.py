"""Pooling, reductions and resampling: window arithmetic is element-wise, never FLOPs."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from costmodel.ops.registry import io_cost, register_cost
from costmodel.types import Cost, OpCall, OpKind

__all__ = ["RESAMPLE_TAPS", "adaptive_pool", "reduction", "upsample", "windowed_pool"]

aten = torch.ops.aten


def _window(kernel: int | Sequence[int], spatial_dims: int) -> int:
    """Elements in a pooling window given ``kernel_size`` as an int or a sequence."""
    if isinstance(kernel, int):
        return kernel**spatial_dims
    kernel = tuple(kernel)
    return math.prod(kernel) if len(kernel) > 1 else kernel[0] ** spatial_dims


@register_cost(
    aten.max_pool1d,
    aten.max_pool2d,
    aten.max_pool3d,
    aten.max_pool2d_with_indices,
    aten.max_pool3d_with_indices,
    aten.avg_pool1d,
    aten.avg_pool2d,
    aten.avg_pool3d,
    aten.mkldnn_max_pool2d,
    kind=OpKind.POOL,
)
def windowed_pool(call: OpCall) -> Cost:
    """Max/avg pooling: one compare or add per window element per output.

    NB: ``max_pool*_with_indices`` also returns indices; eager CPU inference runs the
    kernel without them, so only the values are counted as written.
    """
    # [n, c, *o] = pool([n, c, *i], kernel_size, stride, padding, ...)
    x, kernel = call.args[:2]
    out = call.outputs[0]
    window = _window(kernel, len(x.shape) - 2)
    return io_cost(call, elementwise=out.numel * window, reads=(x,), writes=(out,))


@register_cost(
    aten._adaptive_avg_pool2d,
    aten._adaptive_avg_pool3d,
    aten.adaptive_avg_pool1d,
    aten.adaptive_max_pool1d,
    aten.adaptive_max_pool2d,
    aten.adaptive_max_pool3d,
    kind=OpKind.POOL,
)
def adaptive_pool(call: OpCall) -> Cost:
    """Adaptive pooling: every input element enters about one window."""
    # [n, c, *o] = adaptive_pool([n, c, *i], output_size)
    return io_cost(call, elementwise=call.args[0].numel)


@register_cost(
    aten.mean,
    aten.sum,
    aten.prod,
    aten.amax,
    aten.amin,
    aten.max,
    aten.min,
    aten.argmax,
    aten.argmin,
    aten.var,
    aten.std,
    aten.var_mean,
    aten.std_mean,
    aten.logsumexp,
    aten.norm,
    aten.linalg_vector_norm,
    aten.any,
    aten.all,
    aten.cumsum,
    kind=OpKind.REDUCTION,
)
def reduction(call: OpCall) -> Cost:
    """Reductions (global average pooling is ``mean``): one op per input element."""
    # [*kept] = reduce([*], dims)
    return io_cost(call, elementwise=call.args[0].numel)


#: Input taps per output element and spatial dimension, by interpolation packet (nearest copies: 0).
RESAMPLE_TAPS = {
    aten.upsample_nearest1d: 0,
    aten.upsample_nearest2d: 0,
    aten.upsample_nearest3d: 0,
    aten._upsample_nearest_exact1d: 0,
    aten._upsample_nearest_exact2d: 0,
    aten._upsample_nearest_exact3d: 0,
    aten.upsample_linear1d: 2,
    aten.upsample_bilinear2d: 2,
    aten.upsample_trilinear3d: 2,
    aten._upsample_bilinear2d_aa: 2,
    aten.upsample_bicubic2d: 4,
    aten._upsample_bicubic2d_aa: 4,
}


@register_cost(*RESAMPLE_TAPS, kind=OpKind.POOL)
def upsample(call: OpCall) -> Cost:
    """Interpolation: a weighted sum of taps per output element (nearest copies, no arithmetic)."""
    # [n, c, *o] = upsample_<mode>([n, c, *i], output_size, ...)
    taps = RESAMPLE_TAPS[call.target.overloadpacket]
    dims = len(call.args[0].shape) - 2
    return io_cost(call, elementwise=call.outputs[0].numel * taps**dims)
