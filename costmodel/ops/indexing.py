"""Scatter, gather and routing: what graph networks and mixture-of-experts layers do between their products.

Accumulating writes (``scatter_add``, ``scatter_reduce``, ``index_add``, ``index_reduce``,
``index_put_`` with ``accumulate``) cost one element-wise op per source element; the in-place
forms read and write only the elements they touch, the out-of-place forms copy ``self`` first.
Selections (``topk``, ``sort``, ``histc``, ``nonzero``, ...) cost their comparisons as
element-wise ops: one per element scanned, and ``n log2 n`` for a sort along a dimension of
``n``. Plain writes (``scatter_``, ``index_fill_``, ``masked_scatter_``) are data movement.
"""

from __future__ import annotations

import math

import torch

from costmodel.ops.registry import io_cost, register_cost
from costmodel.types import Cost, OpCall, OpKind, TensorSpec

__all__ = ["accumulate", "count", "scan", "sort", "weight_norm", "write"]

aten = torch.ops.aten


def _touched(call: OpCall, source: TensorSpec) -> list[TensorSpec]:
    """The elements of ``self`` an update touches, as one spec of the source's shape and self's dtype."""
    return [TensorSpec(source.shape, call.args[0].dtype)]


def _in_place(call: OpCall) -> bool:
    return call.name.endswith("_")


@register_cost(
    aten.scatter_add, aten.scatter_add_, aten.scatter_reduce, aten.scatter_reduce_,
    aten.index_add, aten.index_add_, aten.index_reduce, aten.index_reduce_,
    kind=OpKind.ELEMENTWISE,
)  # fmt: skip
def accumulate(call: OpCall) -> Cost:
    """One add (or max, mean, ...) per source element into the rows the index names."""
    # [*s] = scatter_add([*s], dim, index[*i], src[*i]);  [*s] = index_add([*s], dim, index[i], source[*j])
    index, source = call.args[2], call.args[3]
    touched = _touched(call, source)
    if _in_place(call):  # read-modify-write of the touched elements only
        return io_cost(call, elementwise=source.numel, reads=[index, source, *touched], writes=touched)
    return io_cost(call, elementwise=source.numel, reads=[call.args[0], index, source, *touched])


@register_cost(aten.index_put_, aten._index_put_impl_, kind=OpKind.DATA)
def index_put(call: OpCall) -> Cost:
    """``self[indices] = values`` (``+=`` with ``accumulate``): writes the values' elements in place."""
    # [*s] = index_put_([*s], indices, values[*v], accumulate)
    values = call.args[2]
    accumulating = bool(call.args[3]) if len(call.args) > 3 else bool(call.kwargs.get("accumulate", False))
    indices = [t for t in call.args[1] if isinstance(t, TensorSpec)]
    touched = _touched(call, values)
    reads = [*indices, values, *(touched if accumulating else [])]
    return io_cost(call, elementwise=values.numel if accumulating else 0, reads=reads, writes=touched)


@register_cost(aten.scatter_, aten.index_fill_, aten.index_fill, aten.masked_scatter_, aten.masked_scatter,
               aten.put_, aten.put, aten.take, kind=OpKind.DATA)  # fmt: skip
def write(call: OpCall) -> Cost:
    """A plain write of selected elements: in place, only what it writes (its index and source read); out of
    place, a copy of ``self`` too."""
    # [*s] = scatter_([*s], dim, index[*i], src[*i] | value)
    if not _in_place(call):
        return io_cost(call)
    written = next((t for t in call.inputs[1:] if t.dtype != torch.bool and t.dtype.is_floating_point), None)
    selector = [t for t in call.inputs[1:] if t is not written]
    writes = [written if written is not None else max(selector, key=lambda t: t.numel)]
    return io_cost(call, reads=[*selector, *([written] if written is not None else [])], writes=writes)


@register_cost(
    aten.topk, aten.kthvalue, aten.histc, aten.bincount, aten.nonzero, aten.nonzero_static, aten.count_nonzero,
    kind=OpKind.REDUCTION,
)  # fmt: skip
def scan(call: OpCall) -> Cost:
    """A selection or count over its input: one comparison (or bin step) per element scanned."""
    # [*o] = topk([*], k, dim) / histc([*], bins) / nonzero([*])
    return io_cost(call, elementwise=call.args[0].numel)


@register_cost(aten.aminmax, kind=OpKind.REDUCTION)
def count(call: OpCall) -> Cost:
    """Minimum and maximum together: two comparisons per element."""
    # [*kept], [*kept] = aminmax([*], dim)
    return io_cost(call, elementwise=2 * call.args[0].numel)


@register_cost(aten.sort, aten.argsort, aten.msort, aten.searchsorted, kind=OpKind.REDUCTION)
def sort(call: OpCall) -> Cost:
    """A comparison sort: ``n log2 n`` comparisons per sorted line of ``n`` (a search: ``log2 n`` per value)."""
    # [*s], [*s] = sort([*s], dim);  [*v] = searchsorted(sorted[*, n], values[*v])
    first = call.args[0]
    if call.name == "searchsorted":
        values = call.args[1]
        n = first.shape[-1] if first.shape else 1
        return io_cost(call, elementwise=(values.numel if isinstance(values, TensorSpec) else 1) * _log2(n))
    dim = _dim(call)
    n = first.shape[dim] if first.shape else 1
    return io_cost(call, elementwise=first.numel * _log2(n))


def _dim(call: OpCall) -> int:
    dim = call.kwargs.get("dim", next((a for a in call.args[1:] if type(a) is int), -1))
    return int(dim)


def _log2(n: int) -> int:
    return max(1, math.ceil(math.log2(n))) if n > 1 else 1


@register_cost(aten._weight_norm_interface, kind=OpKind.NORM)
def weight_norm(call: OpCall) -> Cost:
    """Weight normalisation ``w = g * v / ||v||``: a square and an add per element for the norms, a scale per
    element for ``w``."""
    # [*v], [*g] = _weight_norm_interface(v[*v], g[*g], dim)
    return io_cost(call, elementwise=3 * call.args[0].numel)
