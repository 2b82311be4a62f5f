"""Matrix products and attention: mm, addmm, bmm, baddbmm, mv, dot, fused attention.

``nn.Linear``, ``torch.matmul`` and ``torch.einsum`` reach these ops after
PyTorch's own decomposition, so they need no formula of their own.
"""

from __future__ import annotations

import math

import torch

from costmodel.ops.registry import io_cost, register_cost
from costmodel.types import Cost, OpCall, OpKind

__all__ = ["addmm", "attention", "baddbmm", "bmm", "dot", "grouped_mm", "mm", "mv"]

aten = torch.ops.aten


@register_cost(aten.mm, kind=OpKind.MATMUL)
def mm(call: OpCall) -> Cost:
    """Matrix product."""
    # [m, n] = mm([m, k], [k, n])
    (m, k), (_, n) = call.args[0].shape, call.args[1].shape
    return io_cost(call, m * n * k)


@register_cost(aten.addmm, kind=OpKind.MATMUL)
def addmm(call: OpCall) -> Cost:
    """Matrix product plus a broadcast bias (``nn.Linear``): bias adds are element-wise."""
    # [m, n] = addmm(bias[n], [m, k], [k, n])
    (m, k), (_, n) = call.args[1].shape, call.args[2].shape
    return io_cost(call, m * n * k, m * n)


@register_cost(aten.bmm, kind=OpKind.MATMUL)
def bmm(call: OpCall) -> Cost:
    """Batched matrix product."""
    # [b, m, n] = bmm([b, m, k], [b, k, n])
    (b, m, k), n = call.args[0].shape, call.args[1].shape[2]
    return io_cost(call, b * m * n * k)


@register_cost(aten.baddbmm, kind=OpKind.MATMUL)
def baddbmm(call: OpCall) -> Cost:
    """Batched matrix product plus an added tensor."""
    # [b, m, n] = baddbmm([b, m, n], [b, m, k], [b, k, n])
    (b, m, k), n = call.args[1].shape, call.args[2].shape[2]
    return io_cost(call, b * m * n * k, b * m * n)


@register_cost(
    aten._grouped_mm,
    kind=OpKind.MATMUL,
    note="grouped matrix products (mixture of experts): multiply-adds count each routed row once, whatever the "
    "routing; every group's (expert's) weights count as read",
)
def grouped_mm(call: OpCall) -> Cost:
    """Grouped matrix product (mixture-of-experts layers): each group multiplies its own rows by its own matrix.

    The multiply-adds do not depend on how rows fall into groups (the routing): every row is
    multiplied once, by one group's matrix. Every group's matrix counts as read.
    """
    # 2D x 3D: [s, n] = _grouped_mm([s, k], [g, k, n], offs[g])   (rows routed to g experts)
    # 3D x 2D: [m, n] = _grouped_mm([g, m, k], [k, n], offs[g])   (columns in g groups)
    # 2D x 2D: [g, m, n] = _grouped_mm([m, k], [k, n], offs[g])   (k in g groups)
    # 3D x 3D: [g, m, n] = _grouped_mm([g, m, k], [g, k, n])      (a batched product)
    a, b = call.args[0], call.args[1]
    out = call.outputs[0]
    k = a.shape[-1]
    flops = out.numel // out.shape[0] * k if len(a.shape) == 2 and len(b.shape) == 2 else out.numel * k
    bias = call.args[3] if len(call.args) > 3 else call.kwargs.get("bias")
    return io_cost(call, flops, out.numel if bias is not None else 0)


@register_cost(aten.mv, kind=OpKind.MATMUL)
def mv(call: OpCall) -> Cost:
    """Matrix-vector product."""
    # [m] = mv([m, n], [n])
    return io_cost(call, call.args[0].numel)


@register_cost(aten.dot, aten.vdot, kind=OpKind.MATMUL)
def dot(call: OpCall) -> Cost:
    """Inner product."""
    # [] = dot([n], [n])
    return io_cost(call, call.args[0].numel)


@register_cost(
    aten._scaled_dot_product_flash_attention_for_cpu,
    aten._scaled_dot_product_flash_attention,
    aten._scaled_dot_product_efficient_attention,
    aten._scaled_dot_product_cudnn_attention,
    aten._scaled_dot_product_fused_attention_overrideable,
    kind=OpKind.ATTENTION,
)
def attention(call: OpCall) -> Cost:
    """Fused attention: Q K^T and P V products; softmax is element-wise; scores never hit memory.

    NB: ``F.scaled_dot_product_attention`` picks its kernel by device; on the meta
    device that costmodel runs on it takes the math path (bmm, softmax, bmm), so the
    score matrix's traffic is counted. This formula prices the fused kernels when
    they are dispatched directly.
    """
    # [b, h, s_q, d_v] = sdpa(q[b, h, s_q, d], k[b, h, s_k, d], v[b, h, s_k, d_v])
    q, k, v = call.args[:3]
    *batch, s_q, d = q.shape
    s_k, d_v = k.shape[-2], v.shape[-1]
    scores = math.prod(batch) * s_q * s_k
    # NB: softmax counted as 3 element-wise ops per score (exp, sum, divide); the
    # running-max pass of the online softmax is not counted.
    return io_cost(call, scores * (d + d_v), 3 * scores)
