"""Memoised nodes: a node (a layer's call, a container's torch call) run once per signature, like the meta kernels.

A node that runs again on arguments of the same metadata, by the same torch function or by
a layer of the same class and state (torch's or an installed library's class: a user's own
layer always runs), gets its result rebuilt and its recorded ATen calls without running:
new meta tensors of the recorded shapes, strides and dtypes, and arguments or views of
them where the node returned those. The key holds what the node's calls can depend on: the
function (or the layer's class, attributes and weights' metadata), every argument's
metadata and non-tensor value, which arguments hold real values, the default dtype and
which attention kernels are enabled. A node whose ops read real values (a mask's, token
ids') is never kept: what it does may depend on them; nor is a layer's call that changed
the layer's attributes. A transformer's second layer, and any report of a model reported
before, is then recorded at the cost of a lookup per node.
"""

from __future__ import annotations

import os
import sys
import types
from typing import Any

import torch

from costmodel.cache import KeyedStore
from costmodel.graph.memo import SEQUENCES, TENSORS, aliases, arg_key, arguments_key, rebuild, recipe
from costmodel.graph.walk import tensors_in
from costmodel.types import OpCall, TensorSpec

__all__ = ["NODES", "NodeEntry", "NodeMemo", "layout", "module_key", "node_key"]


def _global_state() -> tuple[Any, ...]:
    """What a torch function's ATen calls depend on beyond its arguments: the default dtype, and which
    attention kernels are allowed (``scaled_dot_product_attention`` decomposes by them)."""
    return (
        torch.get_default_dtype(),
        torch._C._get_flash_sdp_enabled(),
        torch._C._get_mem_efficient_sdp_enabled(),
        torch._C._get_math_sdp_enabled(),
        torch._C._get_cudnn_sdp_enabled(),
    )


#: What ``nn.Module.__init__`` sets on every module (hooks, children, parameter dicts): not a layer's own state.
_MODULE_INTERNALS = frozenset(torch.nn.Module().__dict__) - {"training"}
_FUNCTIONS = frozenset({types.FunctionType, types.BuiltinFunctionType})


def module_key(module: torch.nn.Module) -> Any:
    """What a layer's call depends on besides its arguments: its class, its attributes, and the metadata of its
    parameters and floating buffers. ``None`` where the layer's nodes are not memoised:

    - a class of the user's own code (not torch's, not an installed library's): its ``forward`` may read what
      its attributes do not show (a global flag, a class attribute set between reports);
    - an attribute with no hashable stand-in;
    - outside torch's own classes, a tensor attribute or an integer or boolean buffer: their values may decide
      what ``forward`` does, and values are not part of the key.
    """
    cls = type(module)
    origin = _ORIGINS.get(cls)
    if origin is None:
        origin = _ORIGINS.put(cls, _origin(cls))
    if origin is _USER or "parametrizations" in module._modules:  # a parametrized layer's weights are computed
        return None
    torchs = origin is _TORCH
    try:
        attributes = [
            (k, v if type(v) in _PLAIN else _attribute_key(v, torchs))
            for k, v in module.__dict__.items()
            if k not in _MODULE_INTERNALS
        ]
        return (
            cls,
            tuple(attributes),
            tuple([(k, arg_key(v)) for k, v in module._parameters.items()]),
            tuple([(k, _buffer_key(v, torchs)) for k, v in module._buffers.items()]) if module._buffers else (),
        )
    except TypeError:
        return None


_TORCH, _LIBRARY, _USER = "torch", "library", "user"
#: Module class -> where it comes from (``_origin``).
_ORIGINS: KeyedStore[type, str] = KeyedStore("graph.layer_origins", "layer class -> torch's, a library's or the user's")


def _origin(cls: type) -> str:
    """torch's own layer, an installed library's (a file under site-packages), or the user's own code."""
    if cls.__module__.startswith("torch.nn."):
        return _TORCH
    filename = getattr(sys.modules.get(cls.__module__), "__file__", None) or ""
    parts = os.path.normpath(filename).split(os.sep)
    return _LIBRARY if "site-packages" in parts or "dist-packages" in parts else _USER


#: Attribute types that stand for themselves in a key: no value of another type equals one of theirs (unlike
#: ``True == 1 == 1.0``, which ``arg_key`` tells apart by type).
_PLAIN = frozenset({str, type(None)})


def _attribute_key(value: Any, tensors: bool) -> Any:
    """A layer attribute's stand-in: a function is itself (kept alive by the key, so its identity stays its
    own), a tensor its metadata where ``tensors`` allows it; else as an argument's."""
    kind = type(value)
    if kind in _FUNCTIONS:
        return value
    if kind in SEQUENCES:
        return (kind, *[_attribute_key(v, tensors) for v in value])
    if kind in TENSORS and not tensors:
        raise TypeError("a tensor attribute")
    return arg_key(value)


def _buffer_key(value: Any, integers: bool) -> Any:
    if value is not None and not integers and not value.is_floating_point():
        raise TypeError("an integer or boolean buffer")
    return arg_key(value)


def node_key(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The memo key of one node: what runs it (``module_key``, or the torch function itself), its arguments'
    metadata, and the global state; ``None`` where an argument has no hashable stand-in."""
    try:
        return (owner, _global_state(), arguments_key(args, kwargs))
    except TypeError:
        return None


def layout(tensor: torch.Tensor) -> tuple[Any, ...]:
    """A tensor's shape, stride, storage offset and dtype: all an op on meta tensors can change."""
    return (tensor.shape, tensor.stride(), tensor.storage_offset(), tensor.dtype)


class NodeEntry:
    """What one node signature gave: its outputs' recipe, its recorded ATen calls, its tensors' specs, and the
    bytes of its outputs in new memory."""

    __slots__ = ("aliases", "calls", "input_specs", "output_bytes", "output_specs", "template")

    def __init__(
        self,
        template: Any,
        calls: tuple[OpCall, ...],
        given: list[torch.Tensor],
        made: list[torch.Tensor],
        output_bytes: int,
    ) -> None:
        self.template = template
        self.aliases = aliases(template)
        self.calls = calls
        self.input_specs = tuple(TensorSpec.of(t) for t in given)
        self.output_specs = tuple(TensorSpec.of(t) for t in made)
        self.output_bytes = output_bytes

    def outputs(self, metas: list[torch.Tensor] | None) -> Any:
        """The result rebuilt: new meta tensors, and arguments or views of them (``metas``: the arguments as
        meta tensors, needed only where ``aliases``)."""
        return rebuild(self.template, metas or ())


class NodeMemo:
    """The process-wide memo of whole nodes (a bounded dict): a node that runs again on arguments of the same
    signature (metadata only: every tensor argument on meta) gets its result rebuilt and the recorded calls
    without running.

    A node is kept only if its result is tensors (in lists and tuples) and it changed no argument's shape,
    stride or offset (an in-place op on meta changes nothing else), and its arguments share no memory.
    """

    def __init__(self) -> None:
        self._entries: KeyedStore[Any, NodeEntry] = KeyedStore(
            "graph.nodes", "node signature -> its outputs' recipe and recorded calls"
        )

    def bypass(self, reason: str) -> None:
        """Count a node that ran without a lookup, by reason."""
        self._entries.bypass(reason)

    def get(self, key: Any) -> NodeEntry | None:
        """The entry for a node signature, if one was kept (``None`` too for a key that cannot be hashed)."""
        try:
            return self._entries.get(key)
        except TypeError:
            self._entries.bypass("unhashable key")
            return None

    def keep(
        self,
        key: Any,
        result: Any,
        given: list[torch.Tensor],
        metas: list[torch.Tensor],
        before: list[tuple[Any, ...]],
        calls: list[OpCall] | tuple[OpCall, ...],
        output_bytes: int,
    ) -> NodeEntry | None:
        """Keep a node's result and calls; ``metas`` are its tensor arguments as meta tensors and ``before`` their
        ``layout`` before it ran. ``None`` when it cannot be kept (see the class docstring)."""
        if any(layout(m) != b for m, b in zip(metas, before, strict=True)):
            self.bypass("changed an argument in place")
            return None
        storages = [m.untyped_storage()._cdata for m in metas]
        if len(set(storages)) < len(storages):
            self.bypass("arguments share memory")
            return None
        try:
            template = recipe(result, metas, storages)
        except TypeError:
            self.bypass("result is not meta tensors")
            return None
        entry = NodeEntry(template, tuple(calls), given, tensors_in(result), output_bytes)
        try:
            return self._entries.put(key, entry)
        except TypeError:  # a function that cannot be hashed
            self.bypass("unhashable key")
            return None

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()


#: The one node memo of the process.
NODES = NodeMemo()
