"""The dispatch mode of a recording: every ATen op run on meta tensors (or on small real values) and recorded.

Nothing is computed: weights become meta tensors that carry only shape and dtype. Meta
kernels are memoised per op signature (``graph.memo``); ops whose meta kernels are
narrower than needed or slow get their outputs from ``graph.shape_only``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from costmodel.graph.memo import MEMO, signature
from costmodel.graph.shape_only import shape_only
from costmodel.graph.walk import PLAIN_TYPES as _PLAIN
from costmodel.graph.walk import tensors_in
from costmodel.types import FrozenMap, OpCall, TensorSpec

__all__ = ["Recorder", "flat_specs", "spec_of"]

_NO_KWARGS: FrozenMap[str, object] = FrozenMap()


def spec_of(value: Any) -> Any:
    """Replace tensors (also inside lists) by their ``TensorSpec``; keep other values."""
    if isinstance(value, torch.Tensor):
        return TensorSpec.of(value)
    if isinstance(value, list | tuple) and any(isinstance(v, torch.Tensor) for v in value):
        return tuple(spec_of(v) for v in value)
    return value


def flat_specs(value: Any) -> tuple[TensorSpec, ...]:
    """Every tensor in a (nested) value, as specs."""
    if type(value) is torch.Tensor:  # most ops return one tensor
        return (TensorSpec.of(value),)
    return tuple([TensorSpec.of(t) for t in tensors_in(value)])


class Recorder(TorchDispatchMode):
    """Runs every ATen op on the meta device, or on small real values, and appends an ``OpCall`` to ``calls``.

    The weights (``weights``: parameters and floating buffers) met on the way are swapped for
    meta tensors of the same shape, once each, so no kernel ever touches them. An op whose
    tensors are all real and none a weight (token ids, masks and what is computed from them
    alone) runs for real, so a branch on a mask (``mask.all()``) sees its values; a factory of
    a small integer or boolean tensor (``arange`` of positions) makes a real one. Everything
    else runs on meta. With ``on_values`` every op runs as it is, on real tensors: for a
    model whose branches depend on values computed from its weights.
    """

    @classmethod
    def _should_skip_dynamo(cls) -> bool:  # never compiled: no wrapper around every dispatch
        return False

    def __init__(self, on_values: bool = False, weights: frozenset[int] = frozenset()) -> None:
        super().__init__()
        self.on_values = on_values
        self.weights = weights  # ids of the parameters and floating buffers
        self.calls: list[OpCall] = []
        self._meta: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        #: Ops run on real values so far (their values may decide what follows), and those of them run on the CPU
        #: where they asked for another device (meta: the device of the activations).
        self.on_values_count = 0
        self.moved_count = 0

    def to_meta(self, value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            if value.is_meta:
                return value
            found = self._meta.get(id(value))
            if found is None:  # a meta stand-in of the same layout (cheaper than value.to("meta")); the original
                meta = torch.empty_strided(value.shape, value.stride(), dtype=value.dtype, device="meta")
                found = (value, meta)  # is kept alive so that its id stays unique
                self._meta[id(value)] = found
            return found[1]
        if isinstance(value, list | tuple):
            return type(value)(self.to_meta(v) for v in value)
        return value

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if torch._C._is_torch_function_mode_enabled():  # a mode of the user's: not for our own bookkeeping
            with torch._C.DisableTorchFunction():
                return self._dispatch(func, args, kwargs or {})
        return self._dispatch(func, args, kwargs or {})

    def _dispatch(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.on_values:
            out, call = _on_values(func, args, kwargs)
        else:
            values = self._values(args, kwargs)
            if values is _REAL:
                self.on_values_count += 1
                if kwargs.get("device") is not None:
                    self.moved_count += 1
                    kwargs = {**kwargs, "device": torch.device("cpu")}
                out, call = _on_values(func, args, kwargs)
            else:
                factory_kwargs = kwargs
                if values is not _ON_META:  # a weight or a real tensor among meta ones: made meta first
                    args = tuple([self.to_meta(a) for a in args])
                if kwargs:
                    kwargs = {k: self.to_meta(v) for k, v in kwargs.items()}
                    if "device" in kwargs:
                        kwargs["device"] = torch.device("meta")
                out, call = _on_meta(func, args, kwargs)
                if values is _NONE and _index_like(out):  # positions, an index range: small, and values may matter
                    self.on_values_count += 1
                    self.moved_count += factory_kwargs.get("device") is not None
                    out = func(*args, **{**factory_kwargs, "device": torch.device("cpu")})
        self.calls.append(call)
        return out

    def _values(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> object:
        """``_REAL``: every tensor argument holds real values and none is a weight; ``_NONE``: no tensor
        argument (a factory); ``_ON_META``: every tensor argument is on meta already; ``_META``: a mix (the op
        runs on meta, its weights and real tensors made meta first)."""
        meta = real = False
        weights = self.weights
        for value in (*args, *kwargs.values()) if kwargs else args:
            kind = type(value)  # exact types first: most arguments are tensors, numbers and lists of them
            if kind is torch.Tensor or kind is torch.nn.Parameter:
                items: Any = (value,)
            elif kind is list or kind is tuple:  # a tensor list: cat's, stack's
                items = value
            elif kind in _PLAIN:
                continue
            elif isinstance(value, torch.Tensor):  # a subclass
                items = (value,)
            elif isinstance(value, list | tuple):
                items = value
            else:
                continue
            for item in items:
                if not isinstance(item, torch.Tensor):
                    continue
                if item.is_meta:
                    meta = True
                elif id(item) in weights:
                    return _META
                else:
                    real = True
        if meta:
            return _META if real else _ON_META
        return _REAL if real else _NONE


_REAL, _META, _ON_META, _NONE = object(), object(), object(), object()
#: The most elements a factory's integer or boolean output may have to be made real.
_INDEX_LIMIT = 1 << 20


def _index_like(out: Any) -> bool:
    """A single small integer or boolean meta tensor (what a factory of positions or flags makes)."""
    return (
        isinstance(out, torch.Tensor)
        and not (out.dtype.is_floating_point or out.dtype.is_complex)
        and out.numel() <= _INDEX_LIMIT
    )


def _on_values(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, OpCall]:
    """Run one op on real tensors; its record from the memo where one of these shapes was kept."""
    out = func(*args, **kwargs)
    key = signature(func, args, kwargs)
    return out, MEMO.recorded_call(key, lambda: _call(func, args, kwargs, out), flat_specs(out))


def _on_meta(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, OpCall]:
    """Run one op on meta tensors, through the memo of meta kernel results (``costmodel.graph.memo``)."""
    key = signature(func, args, kwargs)
    if key is not None:
        entry = MEMO.get(func, key)
        if entry is not None:
            return entry.outputs(), entry.call
    out = shape_only(func, args, kwargs)
    if out is None:
        try:
            out = func(*args, **kwargs)
        except Exception as error:
            if torch.Tag.dynamic_output_shape in func.tags:  # nonzero, a boolean mask's index: values decide
                raise RuntimeError(f"{func} has a data-dependent output shape ({error})".splitlines()[0]) from error
            raise
    if key is None:
        MEMO.bypass("unhashable argument")
        return out, _call(func, args, kwargs, out)
    if not MEMO.fresh(func):  # a view or an in-place op: its outputs are its own, only the record is kept
        return out, MEMO.recorded_call(key, lambda: _call(func, args, kwargs, out), flat_specs(out))
    call = _call(func, args, kwargs, out)
    MEMO.keep(key, func, out, call)
    return out, call


def _call(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCall:
    """The ``OpCall`` record of one dispatched call: tensors as specs."""
    return OpCall(
        func,
        tuple(spec_of(a) for a in args),
        flat_specs(out),
        FrozenMap({k: spec_of(v) for k, v in kwargs.items()}) if kwargs else _NO_KWARGS,
    )
