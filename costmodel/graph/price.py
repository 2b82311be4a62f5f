"""Turn recorded ATen calls into per-row costs (``NodeCost`` records in the order the rows ran).

Each op call is priced by its registry formula. An op without one is still
listed on its node, its MAC estimated as inputs read plus outputs written, its
FLOPs unknown, and it is counted by name in the ``unsupported`` tally: never a
silent zero.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from costmodel.graph.record import NodeRecord
from costmodel.graph.walk import Structure
from costmodel.identity_memo import IdentityMemo
from costmodel.ops import generation, io_cost, lookup
from costmodel.types import Cost, FrozenMap, NodeCost, OpCall, OpCost, OpKind, Shape, SourceLocation, TensorSpec

__all__ = ["PricedNodes", "annotate", "forget_prices", "price"]


@dataclass(frozen=True, slots=True)
class PricedNodes:
    """Per-node costs in graph order, unsupported ops by name, parameters never used."""

    nodes: tuple[NodeCost, ...]
    unsupported: FrozenMap[str, int]
    unused_parameters: tuple[str, ...]


#: call -> (registry generation, its price). Recorded calls repeat (the meta memo hands out one ``OpCall``
#: per signature), so each is priced once while the registry stays as it is.
_PRICED: IdentityMemo[OpCall, tuple[int, OpCost]] = IdentityMemo()


def price(call: OpCall) -> OpCost:
    """Cost one op call with its registered formula (or mark it unsupported)."""
    found = _PRICED.get(call)
    now = generation()
    if found is not None and found[0] == now:
        return found[1]
    priced = _price(call)
    if call.module is None:  # a module formula's call is kept nowhere, so the memo never holds a model
        _PRICED.put(call, (now, priced))
    return priced


#: A row's calls (one tuple for every row from the row memo) -> (registry generation, their prices, the row's
#: kind, its summed cost, the targets of its unsupported calls).
_ROW_PRICES: IdentityMemo[tuple[OpCall, ...], tuple[int, tuple[OpCost, ...], OpKind, Cost, tuple[str, ...]]] = (
    IdentityMemo()
)
#: Specs (one tuple for every row from the row memo) -> their shapes.
_SHAPES: IdentityMemo[tuple[TensorSpec, ...], tuple[Shape, ...]] = IdentityMemo()


def forget_prices() -> None:
    """Forget every memoised price (for timing a cold walk)."""
    _PRICED.clear()
    _ROW_PRICES.clear()
    _SHAPES.clear()


def _row_prices(calls: tuple[OpCall, ...]) -> tuple[int, tuple[OpCost, ...], OpKind, Cost, tuple[str, ...]]:
    """A row's prices, kind, summed cost and unsupported targets, once per calls tuple and registry generation."""
    found = _ROW_PRICES.get(calls)
    now = generation()
    if found is not None and found[0] == now:
        return found
    ops = tuple(price(call) for call in calls)
    priced = (
        now,
        ops,
        _main_kind(ops),
        ops[0].cost if len(ops) == 1 else sum((op.cost for op in ops), Cost()),
        tuple(str(op.call.target) for op in ops if not op.supported),
    )
    if not any(call.module is not None for call in calls):  # a module formula's call holds its model: not kept
        _ROW_PRICES.put(calls, priced)
    return priced


def _shapes(specs: tuple[TensorSpec, ...]) -> tuple[Shape, ...]:
    found = _SHAPES.get(specs)
    if found is None:
        found = _SHAPES.put(specs, tuple([spec.shape for spec in specs]))
    return found


def _price(call: OpCall) -> OpCost:
    formula = lookup(call.target)
    if formula is None:
        return OpCost(call, OpKind.UNSUPPORTED, io_cost(call), supported=False)
    return OpCost(call, formula.kind, formula(call))


def _main_kind(ops: Sequence[OpCost]) -> OpKind:
    """The kind of the op that does most of a node's work (FLOPs first, then MAC)."""
    if not ops:
        return OpKind.NONE
    if len(ops) == 1:
        return ops[0].kind
    return max(ops, key=lambda op: (op.cost.flops, op.cost.mac)).kind


def annotate(
    records: Sequence[NodeRecord], structure: Structure, definition: Callable[[str], SourceLocation | None]
) -> PricedNodes:
    """Price every recorded row and tally unsupported ops and unused parameters; a layer's row gets the line that
    built it (``definition`` of its path)."""
    seen: set[int] = set()
    unsupported: Counter[str] = Counter()
    nodes: list[NodeCost] = []
    for rec in records:
        _, ops, kind, cost, missing = _row_prices(rec.calls)
        if missing:
            unsupported.update(missing)
        params = frozen = 0
        for p in rec.parameters:
            if id(p) not in seen:
                seen.add(id(p))
                params += p.numel()
                frozen += 0 if p.requires_grad else p.numel()
        layer = rec.op == "call_module"
        nodes.append(
            NodeCost.of_row(  # the fields in declaration order, extras left out
                rec.name,
                rec.op,
                rec.target,
                rec.module_path,
                rec.module_type,
                kind,
                _shapes(rec.input_specs),
                _shapes(rec.output_specs),
                cost,
                params,
                ops,
                rec.location,
                rec.inputs,
                definition(rec.module_path) if layer else None,
                rec.output_bytes,
                frozen,
            )
        )
    unused = tuple(name for name, p in structure.parameters if id(p) not in seen)
    return PricedNodes(tuple(nodes), FrozenMap(unsupported), unused)
