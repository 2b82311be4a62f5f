"""Normalisation: batch norm (inference and training), layer norm, group norm.

NB: batch norm at inference is a per-channel scale and shift, 1 element-wise op
per element (and foldable into the conv before it); layers that compute
statistics count 4 per element (mean, variance, normalise, affine).
"""

from __future__ import annotations

import torch

from costmodel.ops.registry import io_cost, register_cost
from costmodel.types import Cost, OpCall, OpKind

__all__ = ["BATCH_NORMS", "batch_norm", "batch_norm_inference", "is_batch_norm", "statistics_norm"]

aten = torch.ops.aten

#: Batch-norm packets: at inference a per-channel scale and shift that deployment folds into the conv before it.
BATCH_NORMS = frozenset(
    {aten._native_batch_norm_legit_no_training, aten.native_batch_norm, aten._native_batch_norm_legit,
     aten.cudnn_batch_norm}
)  # fmt: skip


_BATCH_NORM_IDS = frozenset(id(packet) for packet in BATCH_NORMS)  # an op packet's __hash__ is Python code


def is_batch_norm(call: OpCall) -> bool:
    """A recorded call of a batch-norm kernel."""
    return id(getattr(call.target, "overloadpacket", call.target)) in _BATCH_NORM_IDS


_PASSES_WITH_STATISTICS = 4


@register_cost(aten._native_batch_norm_legit_no_training, kind=OpKind.NORM)
def batch_norm_inference(call: OpCall) -> Cost:
    """Batch norm with running statistics: one scale-and-shift per element."""
    # [n, c, *s] = bn([n, c, *s], weight[c], bias[c], mean[c], var[c], ...)
    return io_cost(call, elementwise=call.args[0].numel)


@register_cost(aten.native_batch_norm, aten._native_batch_norm_legit, aten.cudnn_batch_norm, kind=OpKind.NORM)
def batch_norm(call: OpCall) -> Cost:
    """Batch norm: inference (``training=False``) scales and shifts; training computes statistics."""
    # [n, c, *s], save_mean[c], save_invstd[c] = native_batch_norm([n, c, *s], w, b, rm, rv, training, ...)
    x = call.args[0]
    training = next((a for a in call.args[5:] if isinstance(a, bool)), True)
    passes = _PASSES_WITH_STATISTICS if training else 1
    return io_cost(call, elementwise=passes * x.numel)


@register_cost(aten.native_layer_norm, aten.native_group_norm, kind=OpKind.NORM)
def statistics_norm(call: OpCall) -> Cost:
    """Layer and group norm: statistics, normalisation and affine, 4 element-wise ops per element."""
    # [*, d], mean, rstd = native_layer_norm([*, d], normalized_shape, weight[d]?, bias[d]?, eps)
    return io_cost(call, elementwise=_PASSES_WITH_STATISTICS * call.args[0].numel)
