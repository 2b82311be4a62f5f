"""Data movement: copies cost their reads and writes, views and allocation cost nothing.

Every op PyTorch marks as a view (``view``, ``transpose``, ``split``, ``t``, ...)
is free through the registry's view family; the copies here are what channel
shuffle, concat, ``contiguous()`` and padding really cost.
"""

from __future__ import annotations

import torch

from costmodel.ops.registry import io_cost, register_cost
from costmodel.types import Cost, OpCall, OpKind

__all__ = ["col2im", "copy", "embedding", "fill", "free", "im2col"]

aten = torch.ops.aten


@register_cost(
    aten.cat,
    aten.stack,
    aten.clone,
    aten._to_copy,
    aten.copy_,
    aten.copy,
    aten.constant_pad_nd,
    aten.reflection_pad1d,
    aten.reflection_pad2d,
    aten.reflection_pad3d,
    aten.replication_pad1d,
    aten.replication_pad2d,
    aten.replication_pad3d,
    aten.channel_shuffle,
    aten.native_channel_shuffle,
    aten.pixel_shuffle,
    aten.pixel_unshuffle,
    aten.index_select,
    aten.gather,
    aten.index,
    aten.repeat,
    aten.flip,
    aten.roll,
    aten.tril,
    aten.triu,
    aten.slice_scatter,
    aten.select_scatter,
    aten.masked_select,
    aten.scatter,
    aten.index_put,
    kind=OpKind.DATA,
)
def copy(call: OpCall) -> Cost:
    """A copy: reads its inputs, writes its outputs, no arithmetic."""
    # [*o] = copy([*i], ...)
    return io_cost(call)


@register_cost(
    aten.zeros,
    aten.ones,
    aten.full,
    aten.zeros_like,
    aten.ones_like,
    aten.full_like,
    aten.fill,
    aten.fill_,
    aten.zero_,
    aten.new_zeros,
    aten.new_ones,
    aten.new_full,
    aten.arange,
    aten.scalar_tensor,
    kind=OpKind.DATA,
)
def fill(call: OpCall) -> Cost:
    """A filled tensor: writes its output, reads nothing."""
    # [*o] = fill(..., value)
    return io_cost(call, reads=())


@register_cost(
    aten.empty,
    aten.empty_like,
    aten.empty_strided,
    aten.new_empty,
    aten.new_empty_strided,
    aten._unsafe_view,
    aten.detach,
    aten.lift_fresh,
    aten.lift_fresh_copy,
    aten.alias,
    aten._local_scalar_dense,
    aten.sym_size,
    aten.sym_numel,
    aten.sym_stride,
    aten.is_same_size,
    aten._assert_async,
    aten._assert_tensor_metadata,
    aten.resize_,
    aten.unsafe_split,  # split and chunk without the view bookkeeping (recurrent layers' gates)
    aten.unsafe_split_with_sizes,
    aten.unsafe_chunk,
    kind=OpKind.VIEW,
)
def free(call: OpCall) -> Cost:
    """Allocation, aliasing and metadata: nothing is read or written."""
    return Cost()


@register_cost(aten.im2col, kind=OpKind.DATA)
def im2col(call: OpCall) -> Cost:
    """``nn.Unfold``: copies every sliding block into a column; reads the input, writes the columns."""
    # [n, c*kh*kw, L] = im2col(x[n, c, h, w], kernel, dilation, padding, stride)
    return io_cost(call)


@register_cost(aten.col2im, kind=OpKind.DATA)
def col2im(call: OpCall) -> Cost:
    """``nn.Fold``: sums the columns back into an image, one add per column element."""
    # [n, c, h, w] = col2im(cols[n, c*kh*kw, L], output_size, kernel, dilation, padding, stride)
    return io_cost(call, elementwise=call.args[0].numel)


@register_cost(aten.embedding, kind=OpKind.EMBEDDING)
def embedding(call: OpCall) -> Cost:
    """Embedding lookup: reads the indices and only the rows it gathers, writes the output."""
    # [*idx, d] = embedding(weight[v, d], indices[*idx])
    out = call.outputs[0]
    return io_cost(call, reads=(call.args[1], out))
