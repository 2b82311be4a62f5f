"""Outputs of the commonest ops made without their meta kernels, which are slow Python (addmm's takes ~1 ms).

A shape function per op gives the meta tensors the op's meta kernel would give: the same shapes, strides
and dtypes (``tests/graph/test_memo.py`` compares each against torch's own meta kernel). A shape function answers
only where the output is certain and returns ``None`` otherwise (mixed dtypes, shapes that do not
fit, an argument it does not know): the real meta kernel then runs, and raises its own error
where the call is wrong. The shape functions matter on a walk's first meeting with an op signature (a
process's first report); later meetings come from the memo.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = ["shape_only"]

_aten = torch.ops.aten
_FLOATS = frozenset({torch.float32, torch.float64})


def _empty(shape: Any, dtype: torch.dtype) -> torch.Tensor:
    """A contiguous meta tensor (``torch.empty_like`` on meta is ~50x slower: it runs Python refs)."""
    return torch.empty(shape, dtype=dtype, device="meta")


_CHANNELS_LAST = {4: torch.channels_last, 5: torch.channels_last_3d}


def _batch_norm_inference(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Inference batch norm: a channels-last output for an input that is channels-last contiguous and not contiguous
    (N,C,1,1 is both: contiguous), else a contiguous one, as the CPU kernel makes it (not by the suggested memory
    format ``cat`` reads: a channels-last map sliced to width 1 is channels-last here); no saved statistics ([0],
    where the meta kernel gives [c])."""
    x = args[0]
    layout = _CHANNELS_LAST.get(x.dim())
    if layout is not None and not x.is_contiguous() and x.is_contiguous(memory_format=layout):
        out = torch.empty(x.shape, dtype=x.dtype, device="meta", memory_format=layout)
    else:
        out = _empty(x.shape, x.dtype)
    return out, _empty((0,), x.dtype), _empty((0,), x.dtype)


def _native_batch_norm(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if len(args) > 5 and args[5] is False and not kwargs:  # inference: no saved statistics
        return _batch_norm_inference(args, kwargs)
    return None


def _mm(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    a, b = args
    if kwargs or a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0] or a.dtype != b.dtype:
        return None
    return _empty((a.shape[0], b.shape[1]), a.dtype) if a.dtype in _FLOATS else None


def _bmm(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    a, b = args
    if kwargs or a.dim() != 3 or b.dim() != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        return None
    if a.dtype != b.dtype or a.dtype not in _FLOATS:
        return None
    return _empty((a.shape[0], a.shape[1], b.shape[2]), a.dtype)


def _addmm(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if len(args) != 3 or set(kwargs) - {"beta", "alpha"}:
        return None
    bias, a, b = args
    if not isinstance(bias, torch.Tensor) or bias.dtype != a.dtype or bias.dim() > 2:
        return None
    out = _mm((a, b), {})
    if out is None:
        return None
    target = out.shape[2 - bias.dim() :]  # bias broadcasts from the right: (n,), (1, n), (m, 1), (m, n)
    if any(size not in (1, want) for size, want in zip(bias.shape, target, strict=True)):
        return None
    return out


def _native_layer_norm(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if kwargs or len(args) != 5:
        return None
    x, normalized, weight, bias = args[:4]
    dims = len(normalized)
    if x.dtype not in _FLOATS or not 0 < dims <= x.dim() or tuple(x.shape[x.dim() - dims :]) != tuple(normalized):
        return None
    for affine in (weight, bias):
        if affine is not None and (affine.dtype != x.dtype or tuple(affine.shape) != tuple(normalized)):
            return None
    statistics = (*x.shape[: x.dim() - dims], *([1] * dims))  # the mean and 1/std per normalised slice
    return _empty(x.shape, x.dtype), _empty(statistics, x.dtype), _empty(statistics, x.dtype)


#: Pointwise ops whose output takes the floating dtype of their inputs (one dtype), laid out by TensorIterator.
_SAME_AS_INPUT = frozenset(
    f"{name}{suffix}"
    for name in (
        "relu", "hardtanh", "add", "sub", "mul", "div", "sigmoid", "tanh", "silu", "gelu", "hardswish",
        "hardsigmoid", "leaky_relu", "elu", "clamp", "neg", "abs", "exp", "pow", "rsqrt", "sqrt", "sin", "cos",
        "log",
    )
    for suffix in ("", "_")
)  # fmt: skip


def _pointwise(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A float-preserving pointwise op (not a comparison, which returns bool) whose tensor arguments share one
    floating dtype: its output as TensorIterator lays it out (``_iterated``); in place, its first argument."""
    name = func._schema.name.partition("::")[2]
    if name not in _SAME_AS_INPUT or kwargs:
        return None
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    first = tensors[0] if tensors else None
    if first is None or not first.is_floating_point() or any(t.dtype != first.dtype for t in tensors):
        return None
    if name.endswith("_"):  # in place: its first argument, which must have the broadcast shape
        return first if _broadcast_shape(tensors) == tuple(first.shape) else None
    return _iterated(tensors, first.dtype)


def _broadcast_shape(tensors: list[torch.Tensor]) -> tuple[int, ...] | None:
    """The shape the tensors broadcast to (``None`` where they do not). Not ``torch.broadcast_shapes``: it imports
    torch's symbolic shapes, and with them sympy, on a process's first call."""
    rank = max(t.dim() for t in tensors)
    shape = [1] * rank
    for t in tensors:
        for d, size in enumerate(t.shape, rank - t.dim()):
            if size != 1:
                if shape[d] not in (1, size):
                    return None
                shape[d] = size
    return tuple(shape)


def _iterated(tensors: list[torch.Tensor], dtype: torch.dtype) -> torch.Tensor | None:
    """The output TensorIterator allocates for a pointwise op on these inputs: for inputs of one shape, its fast
    set-ups (all contiguous: contiguous; all channels-last: channels-last; all dense with one layout: that layout);
    otherwise (shapes that broadcast, a bias, a mask, a rotary table; or layouts that differ) dense strides in its
    order of dimensions (``_iterator_strides``). ``None`` where the shapes do not broadcast (the meta kernel
    raises)."""
    first = tensors[0]
    if all(t.shape == first.shape for t in tensors):
        if all(t.is_contiguous() for t in tensors):
            return _empty(first.shape, dtype)
        layout = _CHANNELS_LAST.get(first.dim())
        if layout is not None and all(t.is_contiguous(memory_format=layout) for t in tensors):
            return torch.empty(first.shape, dtype=dtype, device="meta", memory_format=layout)
        if _dense(first) and all(t.stride() == first.stride() for t in tensors):
            return torch.empty_strided(first.shape, first.stride(), dtype=dtype, device="meta")
    shape = _broadcast_shape(tensors)
    if shape is None:
        return None
    return torch.empty_strided(shape, _iterator_strides(shape, tensors), dtype=dtype, device="meta")


def _iterator_strides(shape: tuple[int, ...], tensors: list[torch.Tensor]) -> tuple[int, ...]:
    """Dense output strides in the order of dimensions TensorIterator chooses for these inputs
    (``TensorIteratorBase::reorder_dimensions``): an insertion sort of the dimensions, innermost first, where the
    first input with both strides non-zero decides (its smaller stride goes inner; at equal strides the shorter
    dimension), and a broadcast (zero) stride leaves the decision to the next input."""
    rank = len(shape)
    strides = []
    for t in tensors:  # each input's strides over the broadcast shape: 0 where it is broadcast
        offset = rank - t.dim()
        own = [0] * offset + [
            0 if size == 1 and shape[offset + d] != 1 else stride
            for d, (size, stride) in enumerate(zip(t.shape, t.stride(), strict=True))
        ]
        strides.append(own)

    def after(dim0: int, dim1: int) -> int:  # 1: dim0 goes outside dim1; -1: inside; 0: no input decides
        for own in strides:
            stride0, stride1 = own[dim0], own[dim1]
            if stride0 == 0 or stride1 == 0:
                continue
            if stride0 != stride1:
                return 1 if stride0 > stride1 else -1
            if shape[dim0] > shape[dim1]:
                return 1
        return 0

    order = list(range(rank - 1, -1, -1))  # innermost first
    for i in range(1, rank):
        dim1 = i
        for dim0 in range(i - 1, -1, -1):
            comparison = after(order[dim0], order[dim1])
            if comparison > 0:
                order[dim0], order[dim1] = order[dim1], order[dim0]
                dim1 = dim0
            elif comparison < 0:
                break
    out = [0] * rank
    step = 1
    for dim in order:
        out[dim] = step
        step *= shape[dim]
    return tuple(out)


def _where(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``where(condition, x, y)``: a boolean condition, and ``x`` and ``y`` of one floating dtype (a mask filled
    with 0 and the dtype's lowest value): the broadcast of the three, laid out as TensorIterator lays it out."""
    if kwargs or len(args) != 3 or not all(isinstance(a, torch.Tensor) for a in args):
        return None
    condition, x, y = args
    if condition.dtype != torch.bool or x.dtype != y.dtype or not x.is_floating_point():
        return None
    return _iterated([condition, x, y], x.dtype)


def _arange(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``arange([start,] end[, step])`` of Python ints (positions, a mask's columns): ``ceil((end - start) / step)``
    elements, contiguous, in the dtype asked for (int64 if none). Float bounds go to the meta kernel."""
    bounds = [*args, 1] if len(args) == 2 else [0, *args, 1] if len(args) == 1 else list(args)
    start, end, step = bounds
    if (
        any(type(b) is not int for b in bounds)
        or step == 0
        or set(kwargs) - {"dtype", "layout", "device", "pin_memory"}
    ):
        return None
    if kwargs.get("layout") not in (None, torch.strided):
        return None
    dtype = kwargs.get("dtype") or torch.int64
    return _empty((max(0, -(-(end - start) // step)),), dtype)


def _embedding(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``embedding(weight, indices, ...)``: one row of a 2-D weight per index, contiguous, in the weight's dtype."""
    weight, indices = args[0], args[1]
    if kwargs or weight.dim() != 2 or indices.dtype not in (torch.int64, torch.int32):
        return None
    return _empty((*indices.shape, weight.shape[1]), weight.dtype)


def _dense(t: torch.Tensor) -> bool:
    """Non-overlapping and dense: its strides are a contiguous tensor's, in some order of its dimensions."""
    expected = 1
    for size, stride in sorted(((n, s) for n, s in zip(t.shape, t.stride(), strict=True) if n > 1),
                               key=lambda pair: pair[1]):  # fmt: skip
        if stride != expected:
            return False
        expected *= size
    return True


def _convolution(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``convolution(input, weight, bias?, stride, padding, dilation, transposed, output_padding, groups)`` on
    contiguous input and weight (the CPU kernel's output is contiguous then; other layouts go to the meta kernel,
    whose Python also pulls in sympy on a process's first convolution)."""
    if kwargs or len(args) != 9:
        return None
    x, w, bias, stride, padding, dilation, transposed, output_padding, groups = args
    spatial = x.dim() - 2
    if (
        spatial < 1
        or w.dim() != x.dim()
        or x.dtype != w.dtype
        or x.dtype not in _FLOATS
        or not (x.is_contiguous() and w.is_contiguous())
        or (
            bias is not None
            and (bias.dtype != x.dtype or bias.shape != (w.shape[1] * groups if transposed else w.shape[0],))
        )
        or not all(len(v) == spatial for v in (stride, padding, dilation, output_padding))
        or x.shape[1] != (w.shape[0] if transposed else w.shape[1] * groups)
    ):
        return None
    sizes = []
    for i in range(spatial):
        n, k, s, p, d = x.shape[2 + i], w.shape[2 + i], stride[i], padding[i], dilation[i]
        if transposed:
            size = (n - 1) * s - 2 * p + d * (k - 1) + output_padding[i] + 1
        else:
            size = (n + 2 * p - d * (k - 1) - 1) // s + 1
        if size <= 0:
            return None
        sizes.append(size)
    channels = w.shape[1] * groups if transposed else w.shape[0]
    return _empty((x.shape[0], channels, *sizes), x.dtype)


def _reduction(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``mean.dim`` / ``sum.dim_IntList(x, dims, keepdim=False)`` of a contiguous floating tensor, no dtype given
    (``mean``'s Python reference otherwise imports torch._dynamo on a process's first call: about a second)."""
    x, dims, *rest = args
    keepdim = rest[0] if rest else kwargs.get("keepdim", False)
    if set(kwargs) - {"keepdim"} or len(rest) > 1 or x.dtype not in _FLOATS or not x.is_contiguous() or not x.dim():
        return None
    if dims is None or len(dims) == 0:
        return None  # all dimensions: a scalar, left to the meta kernel
    ranked = {d % x.dim() for d in dims}
    shape = (
        [1 if i in ranked else n for i, n in enumerate(x.shape)]
        if keepdim
        else [n for i, n in enumerate(x.shape) if i not in ranked]
    )
    return _empty(tuple(shape), x.dtype)


def _pooled_size(size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool) -> int:
    """A pooling window's output size (ATen's ``pooling_output_shape``)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = span // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _pair(value: Any, default: Any = None) -> tuple[int, int] | None:
    if value is None or (isinstance(value, list | tuple) and len(value) == 0):
        return default
    if isinstance(value, int):
        return (value, value)
    return (value[0], value[0]) if len(value) == 1 else (value[0], value[1])


def _window(x: torch.Tensor, kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool) -> Any:
    """The output shape of a 2-D pooling window over a contiguous [N, C, H, W] or [C, H, W] input; ``None`` where
    unsure (another layout, a window larger than its padded input)."""
    if x.dim() not in (3, 4) or not x.is_contiguous():
        return None
    k = _pair(kernel)
    s, p, d = _pair(stride, k), _pair(padding, (0, 0)), _pair(dilation, (1, 1))
    if k is None or any(p[i] * 2 > k[i] for i in range(2)):
        return None
    sizes = [_pooled_size(x.shape[-2 + i], k[i], s[i], p[i], d[i], bool(ceil_mode)) for i in range(2)]
    if min(sizes) <= 0:
        return None
    return (*x.shape[:-2], *sizes)


def _max_pool2d_with_indices(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``max_pool2d_with_indices(x, kernel, stride=[], padding=0, dilation=1, ceil_mode=False)``."""
    if kwargs or _not_float(args[0]):
        return None
    defaults = ([], 0, 1, False)  # stride (the kernel's), padding, dilation, ceil_mode
    x, kernel, stride, padding, dilation, ceil_mode = (*args, *defaults[len(args) - 2 :])
    shape = _window(x, kernel, stride, padding, dilation, ceil_mode)
    return None if shape is None else (_empty(shape, x.dtype), _empty(shape, torch.int64))


def _avg_pool2d(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``avg_pool2d(x, kernel, stride=[], padding=0, ceil_mode=False, count_include_pad=True, divisor=None)``."""
    if kwargs or _not_float(args[0]):
        return None
    given = args[:5]  # count_include_pad and the divisor change values, not the shape
    defaults = ([], 0, False)  # stride (the kernel's), padding, ceil_mode
    x, kernel, stride, padding, ceil_mode = (*given, *defaults[len(given) - 2 :])
    shape = _window(x, kernel, stride, padding, 1, ceil_mode)
    return None if shape is None else _empty(shape, x.dtype)


def _adaptive_avg_pool2d(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``_adaptive_avg_pool2d(x, output_size)`` of a contiguous input."""
    x, size = args
    out = _pair(size)
    if kwargs or _not_float(x) or x.dim() not in (3, 4) or not x.is_contiguous() or out is None or min(out) <= 0:
        return None
    return _empty((*x.shape[:-2], *out), x.dtype)


def _not_float(x: Any) -> bool:
    """Not a tensor of a dtype these rules are checked on."""
    return not isinstance(x, torch.Tensor) or x.dtype not in _FLOATS


def _cat(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``cat(tensors, dim=0)`` of tensors of one dtype and rank, equal but along ``dim`` (1-D empty tensors, which
    cat skips, aside: a cache's first keys; they make the output contiguous). The CPU kernel's output is laid out
    by every input's suggested memory format (``_suggested``). (The Python reference behind ``cat``'s meta
    kernel imports torch._dynamo on a process's first call: most of a second.)"""
    given, dim = args[0], (args[1] if len(args) > 1 else kwargs.get("dim", 0))
    if set(kwargs) - {"dim"} or not given:
        return None
    tensors = [t for t in given if not (t.dim() == 1 and t.shape[0] == 0)]
    if not tensors or any(t.dtype != given[0].dtype for t in given):
        return None
    first = tensors[0]
    rank = first.dim()
    if rank == 0:
        return None
    dim %= rank
    for t in tensors:
        if t.dim() != rank or any(t.shape[i] != first.shape[i] for i in range(rank) if i != dim):
            return None
    shape = list(first.shape)
    shape[dim] = sum(t.shape[dim] for t in tensors)
    return _suggested(shape, first.dtype, given)


def _suggested(shape: Any, dtype: torch.dtype, tensors: list[torch.Tensor]) -> torch.Tensor:
    """A contiguous output, or a channels-last one where every input's ``suggest_memory_format`` is channels-last
    (a 4-D or 5-D tensor whose strides are channels-last-like: ``_channels_last_like``)."""
    rank = len(shape)
    if rank in (4, 5) and all(t.dim() == rank and _channels_last_like(t) for t in tensors):
        return torch.empty(shape, dtype=dtype, device="meta", memory_format=_CHANNELS_LAST[rank])
    return _empty(tuple(shape), dtype)


def _channels_last_like(t: torch.Tensor) -> bool:
    """c10's ``is_channels_last_strides_2d`` / ``_3d`` (what ``suggest_memory_format`` reads): strides that grow
    over channels, then the spatial dimensions from the last, then the batch; ambiguous cases are not."""
    sizes, strides = t.shape, t.stride()
    if strides[1] == 0:
        return False
    least = 0
    for d in (1, 3, 2, 0) if t.dim() == 4 else (1, 4, 3, 2, 0):
        if sizes[d] == 0 or strides[d] < least:
            return False
        if d == 0 and least == strides[1]:
            return False
        least = strides[d] * (sizes[d] if sizes[d] > 1 else 1)
    return True


def _softmax(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``_softmax(x, dim, half_to_float=False)`` and ``_safe_softmax(x, dim, dtype=None)`` of a floating tensor: a
    contiguous output of its shape and dtype, whatever its layout, as the CPU kernel makes (``_safe_softmax``'s
    Python decomposition imports torch._dynamo on a process's first call)."""
    x, dim, *rest = args
    if kwargs or any(rest) or not isinstance(x, torch.Tensor) or x.dtype not in _SOFTMAX_DTYPES:
        return None
    if not -x.dim() <= dim < max(x.dim(), 1):
        return None
    return _empty(x.shape, x.dtype)


#: The dtypes the CPU grouped matrix product takes (its meta kernel takes bfloat16 alone: narrower than the CPU's).
_GROUPED_DTYPES = frozenset({torch.float32, torch.bfloat16, torch.float16})
#: The dtypes softmax's shape function answers for (the CPU kernel keeps each, contiguous).
_SOFTMAX_DTYPES = _GROUPED_DTYPES | _FLOATS


def _grouped_mm(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``_grouped_mm(a, b, offs?, bias?, out_dtype?)``: 2D x 3D (routed tokens by expert), 3D x 2D, 2D x 2D (groups
    along K) and 3D x 3D (batched); a contiguous output of ``a``'s dtype, as the CPU kernel gives."""
    a, b, *rest = args
    offs = rest[0] if rest else kwargs.get("offs")
    bias = rest[1] if len(rest) > 1 else kwargs.get("bias")
    out_dtype = rest[2] if len(rest) > 2 else kwargs.get("out_dtype")
    if set(kwargs) - {"offs", "bias", "out_dtype"} or bias is not None or out_dtype not in (None, a.dtype):
        return None
    if a.dtype != b.dtype or a.dtype not in _GROUPED_DTYPES or a.dim() not in (2, 3) or b.dim() not in (2, 3):
        return None
    if a.shape[-1] != b.shape[-2] or ((a.dim() == 2 or b.dim() == 2) and offs is None):
        return None
    if a.dim() == 2:
        shape = (offs.shape[0], a.shape[0], b.shape[1]) if b.dim() == 2 else (a.shape[0], b.shape[-1])
    else:
        shape = (a.shape[1], b.shape[1]) if b.dim() == 2 else (a.shape[0], a.shape[1], b.shape[-1])
    return _empty(shape, a.dtype)


_REDUCTIONS = frozenset({"sum", "prod", "mean", "amax", "amin"})


def _scatter_(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``scatter_add_(self, dim, index, src)`` and ``scatter_reduce_.two(self, dim, index, src, reduce,
    include_self=True)`` (a graph network's aggregation by edge) where ATen's scatter checks pass: an int64
    index of the rank of ``self`` and ``src`` within their sizes, ``src`` of ``self``'s floating dtype. In place:
    ``self``."""
    self, dim, index, src, *rest = args
    reduce = rest[0] if rest else None  # scatter_reduce_'s, with include_self its only keyword
    if (
        len(rest) > 1
        or (rest and reduce not in _REDUCTIONS)
        or (kwargs and (not rest or set(kwargs) != {"include_self"}))
    ):
        return None
    if not all(isinstance(t, torch.Tensor) for t in (self, index, src)) or type(dim) is not int:
        return None
    rank = self.dim()
    if not self.is_floating_point() or src.dtype != self.dtype or index.dtype != torch.int64 or not rank:
        return None
    if index.dim() != rank or src.dim() != rank or not -rank <= dim < rank or not index.numel():
        return None
    dim %= rank
    sizes = zip(index.shape, src.shape, self.shape, strict=True)
    if any(i > s or (d != dim and i > t) for d, (i, s, t) in enumerate(sizes)):
        return None
    return self


#: id(op) -> its shape function (ops live as long as the process; their ``__hash__`` is Python code).
_SHAPE_FUNCTIONS: dict[int, Callable[[tuple[Any, ...], dict[str, Any]], Any]] = {
    id(_aten._native_batch_norm_legit_no_training.default): _batch_norm_inference,
    id(_aten.native_batch_norm.default): _native_batch_norm,
    id(_aten.mm.default): _mm,
    id(_aten.bmm.default): _bmm,
    id(_aten.addmm.default): _addmm,
    id(_aten.native_layer_norm.default): _native_layer_norm,
    id(_aten._grouped_mm.default): _grouped_mm,
    id(_aten.convolution.default): _convolution,
    id(_aten.mean.dim): _reduction,
    id(_aten.cat.default): _cat,
    id(_aten._softmax.default): _softmax,
    id(_aten._safe_softmax.default): _softmax,
    id(_aten.max_pool2d_with_indices.default): _max_pool2d_with_indices,
    id(_aten.avg_pool2d.default): _avg_pool2d,
    id(_aten._adaptive_avg_pool2d.default): _adaptive_avg_pool2d,
    id(_aten.sum.dim_IntList): _reduction,
    id(_aten.scatter_add_.default): _scatter_,
    id(_aten.scatter_reduce_.two): _scatter_,
    id(_aten.where.self): _where,
    id(_aten.embedding.default): _embedding,
    id(_aten.arange.default): _arange,
    id(_aten.arange.start): _arange,
    id(_aten.arange.start_step): _arange,
}


def shape_only(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The outputs of ``func`` on these meta arguments, without its meta kernel; ``None`` where not certain."""
    shape_function = _SHAPE_FUNCTIONS.get(id(func))
    if shape_function is not None:
        return shape_function(args, kwargs)
    return _pointwise(func, args, kwargs)
