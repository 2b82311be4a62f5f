"""Torch calls on values met again: their recorded ATen calls kept, so the call runs with the recorder off.

A container's torch call whose tensor arguments are all real and none a weight (index arithmetic on a
graph's edge list, a mask) runs on the values: its outputs are needed as values later. Its ATen calls, recorded
the first time through the dispatch mode, follow from the arguments' metadata where the call is a C++ builtin
(no Python code that could branch on values) and none of its ops has an output whose shape or value depends on
the values (``dynamic_output_shape``, ``data_dependent_output``: a boolean mask's index, ``nonzero``, ``item``)
or returns no tensor (``is_nonzero``, ``equal``). Such a call, met again with arguments of the same signature,
runs straight to its kernels and takes the recorded calls, where its outputs have the recorded specs; where they
do not, its ops are recorded anew on copies of its arguments, and the signature is never served again.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Any

import torch

from costmodel.cache import KeyedStore
from costmodel.graph.walk import tensors_in
from costmodel.types import OpCall, TensorSpec

__all__ = ["VALUE_NODES", "ValueNodeMemo", "builtin", "replayable"]

#: The kinds of callables that are C++ code: ``torch.cat``, ``Tensor.repeat``, ``Tensor.__getitem__``.
_BUILTINS = frozenset(
    {
        types.BuiltinFunctionType,
        types.MethodDescriptorType,
        types.WrapperDescriptorType,
        types.MethodWrapperType,
        types.ClassMethodDescriptorType,
    }
)
_VALUE_TAGS = frozenset({torch.Tag.dynamic_output_shape, torch.Tag.data_dependent_output})
_OP = torch._ops.OpOverload


def builtin(run: Any) -> bool:
    """Whether a torch call is C++ code (its ATen calls cannot depend on values it does not dispatch to read)."""
    return type(run) in _BUILTINS


def replayable(calls: Sequence[OpCall]) -> bool:
    """Whether recorded calls follow from their arguments' metadata: ATen ops, each returning tensors, none tagged
    as having outputs whose shapes or values depend on the values read."""
    return bool(calls) and all(
        type(call.target) is _OP and call.outputs and _VALUE_TAGS.isdisjoint(call.target.tags) for call in calls
    )


#: A kept signature: (its recorded calls, its outputs' specs); ``False`` for one whose calls depend on values.
_Kept = tuple[tuple[OpCall, ...], tuple[TensorSpec, ...]]


class ValueNodeMemo:
    """The process-wide memo of torch calls on values (a bounded dict of ``costmodel.cache``)."""

    def __init__(self) -> None:
        self._entries: KeyedStore[Any, _Kept | bool] = KeyedStore(
            "graph.value_nodes", "signature of a torch call on values -> its recorded calls and outputs' specs"
        )

    def get(self, key: Any) -> _Kept | bool | None:
        """The kept calls and specs for a signature, ``False`` for one known to depend on values, ``None`` unseen."""
        return self._entries.get(key)

    def keep(self, key: Any, calls: tuple[OpCall, ...], result: Any, as_asked: bool) -> None:
        """Keep a signature's first recorded calls and its result's specs, where they follow from metadata: every
        op ran on values as asked (``as_asked``: none moved to the CPU, none on meta), the result is real tensors,
        and the calls are ``replayable``; else mark the signature as one that depends on values."""
        made = tensors_in(result)
        if as_asked and made and not any(t.is_meta for t in made) and replayable(calls):
            self._entries.put(key, (calls, tuple([TensorSpec.of(t) for t in made])))
        else:
            self.refuse(key)

    def refuse(self, key: Any) -> None:
        """Never serve this signature: its calls depend on values."""
        self._entries.put(key, False)

    def bypass(self, reason: str) -> None:
        """Count a call that was not looked up, by reason."""
        self._entries.bypass(reason)

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()


#: The one memo of the process.
VALUE_NODES = ValueNodeMemo()
