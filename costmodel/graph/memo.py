"""Memoised meta kernels: an ATen op's output metadata, computed once per signature.

Most meta kernels are Python (``torch._refs``, ``torch._meta_registrations``) and cost
tens of microseconds a call, more than the rest of the walk. Their result depends only
on the op and the metadata of its arguments (shapes, strides, dtypes), the values of its
non-tensor arguments and the default dtype, so it is kept, keyed by exactly that, like FakeTensorMode's
dispatch cache: a later call with the same signature gets fresh meta tensors of the
recorded shapes, strides and dtypes (``torch.empty_strided``, C++) and the recorded
``OpCall``.

Only ops whose outputs are new memory have their outputs rebuilt: views and in-place or
``out=`` ops still run (their outputs alias an input, which a fresh tensor would not), and so
do calls on real values (where branches depend on them); those reuse the recorded ``OpCall``
only, and only where their outputs have the recorded shapes. Results that are not tensors
are never kept (a data-dependent op fails on meta). Keys tell ``1`` from ``1.0`` and
``True``, since they give different dtypes; an argument of any other type (a tensor
subclass, an enum) leaves the call unmemoised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from costmodel.cache import KeyedStore
from costmodel.types import OpCall

__all__ = [
    "MEMO",
    "SEQUENCES",
    "TENSORS",
    "Memo",
    "MemoEntry",
    "arg_key",
    "arguments_key",
    "signature",
]

_SCALARS = frozenset(
    {int, float, bool, str, type(None), type(Ellipsis), torch.dtype, torch.device, torch.memory_format, torch.layout}
)
#: Sequence types keyed item by item, and the exact tensor types keyed by metadata (not a subclass).
SEQUENCES = frozenset({list, tuple, torch.Size})
TENSORS = frozenset({torch.Tensor, torch.nn.Parameter})


def arg_key(value: Any) -> Any:
    """A hashable stand-in for one argument; raises ``TypeError`` for what cannot be keyed.

    Exact types only (a tensor subclass or an enum may carry more than its value says): anything
    else is not keyed, and the call is not memoised.
    """
    kind = type(value)
    if kind in TENSORS:
        return (value.shape, value.stride(), value.dtype)
    if kind in _SCALARS:
        return (kind, value)
    if kind in SEQUENCES:
        return (kind, *[arg_key(v) for v in value])
    if kind is slice:  # indexing (``x[:, :4]``): unhashable before Python 3.12
        return (slice, arg_key(value.start), arg_key(value.stop), arg_key(value.step))
    raise TypeError(kind.__name__)


def arguments_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A call's arguments as hashable stand-ins (``arg_key``); raises ``TypeError`` where one has none."""
    return (
        tuple([(a.shape, a.stride(), a.dtype) if type(a) in TENSORS else arg_key(a) for a in args]),  # arg_key's
        tuple([(k, arg_key(v)) for k, v in kwargs.items()]) if kwargs else (),
    )


def signature(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The memo key of one call, or ``None`` when an argument has no hashable stand-in."""
    try:
        return (
            id(func),  # ops live as long as the process, and their __hash__ is Python code
            torch.get_default_dtype(),  # factories and scalar promotion follow it
            arguments_key(args, kwargs),
        )
    except TypeError:
        return None


#: id(op) -> whether its outputs are fresh (ops live as long as the process; their ``__hash__`` is Python code).
_FRESH: KeyedStore[int, bool] = KeyedStore("graph.fresh_outputs", "op -> whether its outputs are always new memory")


def _returns_fresh(func: Any) -> bool:
    """Whether an op's outputs are always new memory: not mutable, no aliasing return (cached per op)."""
    found = _FRESH.get(id(func))
    if found is None:
        schema = func._schema
        found = _FRESH.put(id(func), not schema.is_mutable and all(r.alias_info is None for r in schema.returns))
    return found


_META = torch.device("meta")  # a device object: quicker to pass than its name
#: How a recipe rebuilds each output tensor: new memory of a shape, stride and dtype; an argument itself; or a
#: view of an argument (its shape, stride, and storage offset from the argument's own).
_NEW, _SAME, _VIEW = 0, 1, 2


def recipe(value: Any, arguments: list[torch.Tensor] | tuple[()] = (), storages: list[int] | tuple[()] = ()) -> Any:
    """How to rebuild a result from its arguments (meta tensors, and ``storages`` their storages' ids), nested as
    returned; ``TypeError`` where it cannot be (a real tensor, a value that is not tensors in lists and tuples)."""
    if isinstance(value, torch.Tensor):
        if not value.is_meta:
            raise TypeError("not a meta tensor")
        if arguments:
            storage = value.untyped_storage()._cdata
            for index, argument in enumerate(arguments):
                if storages[index] == storage:
                    if value is argument:
                        return (_SAME, index)
                    offset = value.storage_offset() - argument.storage_offset()
                    return (_VIEW, index, tuple(value.shape), value.stride(), offset)
        return (_NEW, tuple(value.shape), value.stride(), value.dtype)
    kind = type(value)
    if kind is list or kind is tuple or (kind.__module__ == "torch.return_types" and issubclass(kind, tuple)):
        return [kind, *(recipe(v, arguments, storages) for v in value)]
    if value is None:
        return None
    raise TypeError(kind.__name__)


def rebuild(made: Any, arguments: list[torch.Tensor] | tuple[()] = ()) -> Any:
    """The result a ``recipe`` describes: new meta tensors, and the arguments or views of them."""
    if type(made) is tuple:
        tag = made[0]
        if tag == _NEW:
            return torch.empty_strided(made[1], made[2], dtype=made[3], device=_META)
        argument = arguments[made[1]]
        if tag == _SAME:
            return argument
        return argument.as_strided(made[2], made[3], argument.storage_offset() + made[4])
    if made is None:
        return None
    kind, *items = made
    return kind([rebuild(item, arguments) for item in items])


def aliases(made: Any) -> bool:
    """Whether a recipe returns an argument or a view of one (rebuilding it needs the arguments)."""
    if type(made) is tuple:
        return made[0] != _NEW
    return made is not None and any(aliases(item) for item in made[1:])


class MemoEntry:
    """What one signature gave: the outputs' recipe and the recorded call."""

    __slots__ = ("call", "template")

    def __init__(self, template: Any, call: OpCall) -> None:
        self.template = template
        self.call = call

    def outputs(self) -> Any:
        """Fresh meta tensors of the recorded shapes, strides and dtypes, in the returned structure."""
        return rebuild(self.template)


class Memo:
    """The process-wide memo of meta kernel results and recorded calls (two stores of ``costmodel.cache``)."""

    def __init__(self) -> None:
        self._entries: KeyedStore[Any, MemoEntry] = KeyedStore(
            "graph.meta_kernels", "op signature -> its outputs' recipe and recorded call"
        )
        #: Calls that still ran (views, in place, on values): records only.
        self._calls: KeyedStore[Any, OpCall] = KeyedStore(
            "graph.recorded_calls", "op signature -> the recorded call of an op that runs each time"
        )

    @staticmethod
    def fresh(func: Any) -> bool:
        """Whether ``func``'s outputs are always new memory (only those are rebuilt from a memo entry)."""
        return _returns_fresh(func)

    def bypass(self, reason: str) -> None:
        """Count a call that could not be looked up, by reason."""
        self._entries.bypass(reason)

    def get(self, func: Any, key: Any) -> MemoEntry | None:
        """The entry for ``func``'s signature ``key``, if one was kept. The lookup comes first (a hit costs one
        dict lookup); a miss of an op whose outputs alias its arguments (never kept) counts as a bypass."""
        entry = self._entries.get(key)
        if entry is None and not _returns_fresh(func):
            self._entries.misses -= 1
            self._entries.bypass("outputs alias an argument (views, in-place ops)")
        return entry

    def keep(self, key: Any, func: Any, out: Any, call: OpCall) -> None:
        """Keep what ``func`` gave for ``key``, when its outputs are fresh tensors."""
        if not _returns_fresh(func):
            return
        try:
            template = recipe(out)  # a fresh op (``_returns_fresh``): new tensors only
        except TypeError:
            self._entries.bypass("result is not meta tensors")
            return
        self._entries.put(key, MemoEntry(template, call))

    def recorded_call(self, key: Any, make: Callable[[], OpCall], outputs: tuple[Any, ...]) -> OpCall:
        """The recorded call of an op that ran for real (on values, or a view or in-place op on meta): the one
        kept for ``key`` if its outputs are ``outputs`` (a shape may depend on values, so they are compared),
        else ``make()``, kept."""
        if key is None:
            self._calls.bypass("unhashable argument")
            return make()
        found = self._calls.get(key)
        if found is not None and found.outputs == outputs:
            return found
        return self._calls.put(key, make())

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()
        self._calls.clear()

    def __len__(self) -> int:
        return len(self._entries)


#: The one memo of the process.
MEMO = Memo()
