"""A call of a layer in disguise (attention's Python functions) split into nodes by its big ops."""

from __future__ import annotations

from collections.abc import Iterable

from costmodel.ops import lookup
from costmodel.types import OpCall, OpKind

__all__ = ["all_free", "big_op_parts", "part_name"]


#: Ops that get a node of their own when a call is split by its big ops.
_BIG = frozenset({OpKind.CONV, OpKind.MATMUL, OpKind.ATTENTION, OpKind.EMBEDDING})
#: Ops that move no data: a run of only these joins the part after it.
_FREE = frozenset({OpKind.VIEW, OpKind.NONE})


def all_free(calls: Iterable[OpCall]) -> bool:
    """Whether every call only moves no data (views, metadata)."""
    for call in calls:  # a loop, not all() over a generator: this runs for every node of a walk
        formula = lookup(call.target)
        if formula is None or formula.kind not in _FREE:
            return False
    return True


def _kind(call: OpCall) -> OpKind | None:
    formula = lookup(call.target)
    return formula.kind if formula is not None else None


def big_op_parts(calls: list[OpCall]) -> list[list[OpCall]]:
    """A call's ATen calls in parts: each big op (product, convolution, attention core) a part of its own, and
    each run of the cheaper ops between them one part; a run of views joins the part after it."""
    parts: list[list[OpCall]] = []
    run: list[OpCall] = []
    for call in calls:
        kind = _kind(call)
        if kind in _BIG:
            if run and not all(_kind(c) in _FREE for c in run):
                parts.append(run)
                run = []
            parts.append([*run, call])
            run = []
        else:
            run.append(call)
    if run:
        if parts and all(_kind(c) in _FREE for c in run):
            parts[-1] += run
        else:
            parts.append(run)
    return parts or [calls]


def part_name(calls: list[OpCall]) -> str:
    """A part's name: its big op's, else its first op's that moves data, else its first op's."""
    main = max(calls, key=lambda c: (_kind(c) in _BIG, _kind(c) not in _FREE))
    return main.name
