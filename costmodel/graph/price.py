"""Turn recorded ATen calls into per-node costs (``NodeCost`` records in the order the nodes ran).

Each op call is priced by its registry formula. An op without one is still
listed on its node, its MAC estimated as inputs read plus outputs written, its
FLOPs unknown, and it is counted by name in the ``unsupported`` tally: never a
silent zero.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from torch import nn

from costmodel.cache import IdentityStore
from costmodel.graph.record import RecordedNode
from costmodel.ops import io_cost, lookup
from costmodel.records import record
from costmodel.types import Cost, FrozenMap, NodeCost, OpCall, OpCost, OpKind, Shape, SourceLocation, TensorSpec
from costmodel.units import magnitude

__all__ = ["PricedNodes", "annotate", "price"]


@record
class PricedNodes:
    """Per-node costs in graph order, unsupported ops by name, parameters never used."""

    nodes: tuple[NodeCost, ...]
    unsupported: FrozenMap[str, int]
    unused_parameters: tuple[str, ...]
    #: What the formulas used say of their counts (once each, in the order met).
    notes: tuple[str, ...] = ()


#: call -> its price. Recorded calls repeat (the meta memo hands out one ``OpCall`` per signature), so each is
#: priced once while the formulas stay as they are.
_PRICED: IdentityStore[OpCall, OpCost] = IdentityStore("graph.op_price", "recorded call -> its cost", scope="formulas")


def price(call: OpCall) -> OpCost:
    """Cost one op call with its registered formula (or mark it unsupported)."""
    found = _PRICED.get(call)
    if found is not None:
        return found
    return _PRICED.put(call, _price(call))


#: A node's calls (one tuple for every node from the node memo) -> (their prices, the node's kind, its summed
#: cost, the targets of its unsupported calls).
_NODE_PRICES: IdentityStore[
    tuple[OpCall, ...], tuple[tuple[OpCost, ...], OpKind, Cost, tuple[str, ...], tuple[str, ...]]
] = IdentityStore("graph.node_price", "a node's calls -> their costs, kind and sum", scope="formulas")
#: Specs (one tuple for every node from the node memo) -> their shapes.
_SHAPES: IdentityStore[tuple[TensorSpec, ...], tuple[Shape, ...]] = IdentityStore(
    "graph.shapes", "a node's tensor specs -> their shapes"
)


def _node_prices(
    calls: tuple[OpCall, ...],
) -> tuple[tuple[OpCost, ...], OpKind, Cost, tuple[str, ...], tuple[str, ...]]:
    """A node's prices, kind, summed cost, unsupported targets and its formulas' notes, once per calls tuple and
    formulas."""
    found = _NODE_PRICES.get(calls)
    if found is not None:
        return found
    ops = tuple(price(call) for call in calls)
    priced = (
        ops,
        _main_kind(ops),
        ops[0].cost if len(ops) == 1 else sum((op.cost for op in ops), Cost()),
        tuple(str(op.call.target) for op in ops if not op.supported),
        tuple(note for call in calls if (formula := lookup(call.target)) is not None and (note := formula.note)),
    )
    return _NODE_PRICES.put(calls, priced)


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
    return max(ops, key=lambda op: (magnitude(op.cost.flops), magnitude(op.cost.mac))).kind


def annotate(
    records: Sequence[RecordedNode],
    parameters: Sequence[tuple[str, nn.Parameter]],
    definition: Callable[[str], SourceLocation | None],
) -> PricedNodes:
    """Price every recorded node and tally unsupported ops and the ``parameters`` (by name) no node used; a layer's
    node gets the line that built it (``definition`` of its path)."""
    seen: set[int] = set()
    unsupported: Counter[str] = Counter()
    notes: dict[str, None] = {}
    nodes: list[NodeCost] = []
    for rec in records:
        ops, kind, cost, missing, said = _node_prices(rec.calls)
        if missing:
            unsupported.update(missing)
        if said:
            notes.update(dict.fromkeys(said))
        params = frozen = 0
        for p in rec.parameters:
            if id(p) not in seen:
                seen.add(id(p))
                params += p.numel()
                frozen += 0 if p.requires_grad else p.numel()
        layer = rec.op == "call_module"
        nodes.append(
            NodeCost.made(
                name=rec.name,
                op=rec.op,
                target=rec.target,
                module_path=rec.module_path,
                module_type=rec.module_type,
                kind=kind,
                input_shapes=_shapes(rec.input_specs),
                output_shapes=_shapes(rec.output_specs),
                cost=cost,
                params=params,
                ops=ops,
                location=rec.location,
                inputs=rec.inputs,
                definition=definition(rec.module_path) if layer else None,
                output_bytes=rec.output_bytes,
                frozen_params=frozen,
            )
        )
    unused = tuple(name for name, p in parameters if id(p) not in seen)
    return PricedNodes(tuple(nodes), FrozenMap(unsupported), unused, tuple(notes))
