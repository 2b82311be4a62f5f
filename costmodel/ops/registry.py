"""The registry of cost formulas: one dict, keyed by the real op object.

Keys are ATen op packets (``torch.ops.aten.convolution``) for the ops eager
PyTorch dispatches, or ``nn.Module`` subclasses for layers a user wants costed
as a whole (the tracer then keeps them as leaves and does not look inside).
A formula is a pure function of an ``OpCall`` (shapes, never data) returning a
``Cost``; because it only multiplies and adds, it works on sympy symbols too.

Lookup order for an ATen op: its own registration, then the op families that
PyTorch itself tags (every view op moves nothing; every op tagged
``pointwise`` is element-wise), else ``None``: unsupported, counted and reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from costmodel.cache import IdentityStore, clear_scope
from costmodel.errors import DuplicateRegistration
from costmodel.records import record
from costmodel.types import Cost, OpCall, OpKind, TensorSpec

__all__ = [
    "REGISTRY",
    "Formula",
    "io_cost",
    "lookup",
    "register_cost",
    "unregister_cost",
]

CostFn = Callable[[OpCall], Cost]


@record
class Formula:
    """A registered cost formula, the kind of op it costs, and what a report using it should say (``note``:
    an assumption the count rests on, printed once in the report's header)."""

    fn: CostFn
    kind: OpKind
    note: str = ""

    def __call__(self, call: OpCall) -> Cost:
        return self.fn(call)


#: The one registry: op packet or module class -> formula.
REGISTRY: dict[Any, Formula] = {}


def _check_key(target: object) -> None:
    if isinstance(target, torch._ops.OpOverloadPacket):
        return
    if isinstance(target, type) and issubclass(target, nn.Module):
        return
    hint = (
        " (register the packet, e.g. torch.ops.aten.mm, not an overload)"
        if isinstance(target, torch._ops.OpOverload)
        else ""
    )
    raise TypeError(
        "register_cost(targets): expected torch.ops.<ns>.<op> packets or nn.Module subclasses, "
        f"got {target!r} of type {type(target).__name__}{hint}"
    )


def register_cost(
    *targets: Any, kind: OpKind | str = OpKind.CUSTOM, override: bool = False, note: str = ""
) -> Callable[[CostFn], CostFn]:
    """Register ``fn(call: OpCall) -> Cost`` as the formula for each target.

    Args:
        *targets: ATen op packets or ``nn.Module`` subclasses.
        kind: The op kind its rows are grouped under.
        override: Replace an existing registration instead of raising.
        note: An assumption the count rests on, said once in the header of a report that uses it.

    Raises:
        TypeError: A target is neither an op packet nor a module class.
        DuplicateRegistration: A target is registered already and ``override`` is false.
    """
    op_kind = OpKind(kind)
    for target in targets:
        _check_key(target)

    def decorate(fn: CostFn) -> CostFn:
        for target in targets:
            if target in REGISTRY and not override:
                raise DuplicateRegistration(
                    f"a cost formula for {target} is registered already "
                    f"({REGISTRY[target].fn.__qualname__}); pass override=True to replace it"
                )
            REGISTRY[target] = Formula(fn, op_kind, note)
            clear_scope("formulas")
        return fn

    return decorate


def unregister_cost(target: Any) -> None:
    """Remove a registration (for tests and for users replacing a formula)."""
    del REGISTRY[target]
    clear_scope("formulas")


def _free(call: OpCall) -> Cost:
    """Views and bookkeeping: no arithmetic, no traffic."""
    return Cost()


def _elementwise(call: OpCall) -> Cost:
    """Pointwise op: one op per output element, reads every input, writes every output."""
    return io_cost(call, elementwise=sum(out.numel for out in call.outputs))


_VIEW = Formula(_free, OpKind.VIEW)
_NONE = Formula(_free, OpKind.NONE)
_POINTWISE = Formula(_elementwise, OpKind.ELEMENTWISE)


#: target -> its formula or ``None``, found once per registry state. Keyed by identity: an op overload's
#: ``__hash__`` is Python code, paid on every lookup by value.
_FOUND: IdentityStore[Any, Formula | None] = IdentityStore(
    "ops.formula_of", "op overload or module class -> its formula", scope="formulas"
)
_UNSEEN = object()


def lookup(target: Any) -> Formula | None:
    """The formula for an ATen op overload or a module class, or ``None`` if unsupported (cached per target)."""
    found = _FOUND.get(target, _UNSEEN)
    if found is _UNSEEN:
        found = _FOUND.put(target, _find(target))
    return found


def _find(target: Any) -> Formula | None:
    if isinstance(target, type):
        for cls in target.__mro__:
            if cls in REGISTRY:
                return REGISTRY[cls]
        return None
    packet = getattr(target, "overloadpacket", target)
    found = REGISTRY.get(packet)
    if found is not None:
        return found
    if getattr(target, "namespace", "") == "prim":  # metadata queries (prim.device, ...)
        return _NONE
    tags = getattr(target, "tags", ())
    if getattr(target, "is_view", False) or torch.Tag.inplace_view in tags:  # as_strided_, transpose_: metadata
        return _VIEW
    if torch.Tag.pointwise in tags:
        return _POINTWISE
    name = getattr(packet, "__name__", "")
    if name.endswith("_") and not name.endswith("__") and getattr(target, "namespace", "") == "aten":
        out_of_place = getattr(torch.ops.aten, name[:-1], None)  # masked_fill_ is costed as masked_fill
        overload = getattr(out_of_place, getattr(target, "_overloadname", "default"), None)
        if overload is not None:
            return _find(overload)
    return None


def io_cost(
    call: OpCall,
    flops: int = 0,
    elementwise: int = 0,
    *,
    reads: Iterable[TensorSpec] | None = None,
    writes: Iterable[TensorSpec] | None = None,
) -> Cost:
    """A ``Cost`` whose MAC is the elements read plus written (default: all inputs, all outputs)."""
    moved = [*(call.inputs if reads is None else reads), *(call.outputs if writes is None else writes)]
    return Cost(
        flops=flops,
        elementwise=elementwise,
        mac=sum(t.numel for t in moved),
        mac_bytes=sum(t.nbytes for t in moved),
    )
