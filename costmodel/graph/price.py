"""Turn recorded ATen calls into per-node costs (``NodeCost`` records in graph order).

Each op call is priced by its registry formula. An op without one is still
listed on its node, its MAC estimated as inputs read plus outputs written, its
FLOPs unknown, and it is counted by name in the ``unsupported`` tally: never a
silent zero.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from torch import fx, nn

from costmodel.graph.interpret import fetch
from costmodel.graph.record import NodeRecord
from costmodel.graph.source import definition_site
from costmodel.graph.trace import LOCATION, TracedModel
from costmodel.identity_memo import IdentityMemo
from costmodel.ops import generation, io_cost, lookup
from costmodel.types import Cost, FrozenMap, NodeCost, OpCall, OpCost, OpKind

__all__ = ["PricedNodes", "annotate", "forget_prices", "price"]


@dataclass(frozen=True, slots=True)
class PricedNodes:
    """Per-node costs in graph order, unsupported ops by name, parameters never used."""

    nodes: tuple[NodeCost, ...]
    unsupported: FrozenMap[str, int]
    unused_parameters: tuple[str, ...]
    #: Graph node name -> the row that stands for it (an opaque part split into rows).
    aliases: FrozenMap[str, str]


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


def forget_prices() -> None:
    """Forget every memoised price (for timing a cold walk)."""
    _PRICED.clear()


def _price(call: OpCall) -> OpCost:
    formula = lookup(call.target)
    if formula is None:
        return OpCost(call, OpKind.UNSUPPORTED, io_cost(call), supported=False)
    return OpCost(call, formula.kind, formula(call))


def _target_name(node: fx.Node, module: nn.Module | None) -> str:
    if module is not None:
        return type(module).__name__
    if node.op == "call_method":
        return f".{node.target}"
    return getattr(node.target, "__name__", str(node.target))


def _enclosing(node: fx.Node, module: nn.Module | None, root: nn.Module) -> tuple[str, str]:
    """Module path and class name of the module a node belongs to."""
    if node.op == "call_module":
        return str(node.target), type(module).__name__
    stack = node.meta.get("nn_module_stack")
    if stack:
        path, (_, cls) = next(reversed(stack.items()))
        return path, getattr(cls, "__name__", str(cls))
    return "", type(root).__name__


def _main_kind(ops: Sequence[OpCost]) -> OpKind:
    """The kind of the op that does most of a node's work (FLOPs first, then MAC)."""
    if not ops:
        return OpKind.NONE
    if len(ops) == 1:
        return ops[0].kind
    return max(ops, key=lambda op: (op.cost.flops, op.cost.mac)).kind


def _parameters_of(module: nn.Module | None) -> list[nn.Parameter]:
    """A module's parameters, recursively (cheaply for the usual childless leaf layers)."""
    if module is None:
        return []
    if not module._modules:
        return [p for p in module._parameters.values() if p is not None]
    return list(module.parameters())


def annotate(traced: TracedModel, records: Sequence[NodeRecord]) -> PricedNodes:
    """Price every recorded node and tally unsupported ops and unused parameters."""
    seen: set[int] = set()
    unsupported: Counter[str] = Counter()
    nodes: list[NodeCost] = []
    aliases: dict[str, str] = {}
    for rec in records:
        if rec.stands_for is not None:
            aliases[rec.stands_for] = rec.node.name
        node, module = rec.node, rec.module
        ops = tuple(price(call) for call in rec.calls)
        for op in ops:
            if not op.supported:
                unsupported[str(op.call.target)] += 1
        params = frozen = 0
        owned = list(rec.owned) if rec.owned is not None else _parameters_of(module)
        sources = node.all_input_nodes
        for source in sources:  # weights fetched by get_attr count where they are used
            if source.op == "get_attr":
                attr = fetch(traced.root, str(source.target))
                owned += [attr] if isinstance(attr, nn.Parameter) else []
        for p in owned:
            if id(p) not in seen:
                seen.add(id(p))
                params += p.numel()
                frozen += 0 if p.requires_grad else p.numel()
        path, cls = _enclosing(node, module, traced.root)
        cost = NodeCost(
            name=node.name,
            op=node.op,
            target=_target_name(node, module),
            module_path=path,
            module_type=cls,
            kind=_main_kind(ops),
            input_shapes=tuple(s.shape for s in rec.inputs),
            output_shapes=tuple(s.shape for s in rec.outputs),
            cost=ops[0].cost if len(ops) == 1 else sum((op.cost for op in ops), Cost()),
            params=params,
            ops=ops,
            location=node.meta.get(LOCATION),
            opaque=rec.from_opaque or (node.op == "call_module" and str(node.target) in traced.opaque),
            inputs=tuple(aliases.get(s.name, s.name) for s in sources if s.op != "get_attr"),
            definition=definition_site(traced.root, str(node.target)) if node.op == "call_module" else None,
            output_bytes=rec.output_bytes,
            frozen_params=frozen,
        )
        nodes.append(cost)
    unused = tuple(name for name, p in traced.root.named_parameters() if id(p) not in seen)
    return PricedNodes(tuple(nodes), FrozenMap(unsupported), unused, FrozenMap(aliases))
