"""G4 elementwise-heavy."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import ClassVar

from costmodel.ops.norm import is_batch_norm
from costmodel.records import record
from costmodel.rules.base import Rule
from costmodel.rules.blocks import blocks
from costmodel.rules.layers import is_depthwise
from costmodel.rules.memo import per_ops
from costmodel.types import ELEMENTWISE_KINDS, CostedGraph, Diagnostic, NodeCost, OpCost, OpKind
from costmodel.units import human, magnitude


@record
class ElementwiseParts:
    """The element-wise work of some nodes: op calls, depthwise conv nodes, all MAC, and names as users wrote them."""

    ops: list[OpCost]
    depthwise: list[NodeCost]
    total: int
    names: Counter[str]
    #: MAC of the batch norms left out of ``total`` (foldable into the conv before them at inference).
    batchnorm_mac: int = 0


def elementwise_parts(nodes: Iterable[NodeCost], *, count_batchnorm: bool = False) -> ElementwiseParts:
    """The element-wise work over ``nodes``.

    Element-wise: activations, adds and other pointwise ops, unfused norms (layer
    and group norm; batch norm only with ``count_batchnorm``, as it folds into the
    conv before it at inference, and then it leaves the total too), and depthwise
    convs (the paper counts them here for their high MAC/FLOPs ratio).
    """
    ops: list[OpCost] = []
    depthwise: list[NodeCost] = []
    names: Counter[str] = Counter()
    total = left_out = 0
    memo = _PARTS_WITH_BATCHNORM if count_batchnorm else _PARTS
    for node in nodes:
        parts = memo.get(node.ops)
        if parts is None:
            parts = memo.put(node.ops, _node_parts(node, count_batchnorm))
        folded, is_depthwise_node, mine, op_names = parts  # type: ignore[misc]
        left_out += folded
        total += node.mac - folded
        if is_depthwise_node:
            depthwise.append(node)
            continue
        if mine:
            ops += mine
            names.update((_plain(node.target),) if len(mine) == 1 and node.target else op_names)
    if depthwise:
        names["depthwise conv"] = len(depthwise)
    return ElementwiseParts(ops, depthwise, total, names, left_out)


#: Per node's ops: (batch norm MAC left out, depthwise?, its element-wise ops, their ATen names).
_PARTS = per_ops("elementwise_parts", "a node's ops -> its element-wise parts (batch norm left out)")
_PARTS_WITH_BATCHNORM = per_ops("elementwise_parts_bn", "a node's ops -> its element-wise parts (batch norm in)")


def _node_parts(node: NodeCost, count_batchnorm: bool) -> tuple[int, bool, list[OpCost], list[str]]:
    """What ``elementwise_parts`` reads of one node's ops (its own MAC it reads from the node). A lone
    element-wise op goes by the node's own name (``relu6`` for ``F.relu6``, ATen runs ``hardtanh``), others by
    their ATen names."""
    folded = 0 if count_batchnorm else sum(o.cost.mac for o in node.ops if is_batch_norm(o.call))
    if is_depthwise(node):
        return folded, True, [], []
    mine = [op for op in node.ops if op.kind in ELEMENTWISE_KINDS and (count_batchnorm or not is_batch_norm(op.call))]
    return folded, False, mine, [_plain(op.name) for op in mine]


def _plain(name: str) -> str:
    """One spelling per op: ``ReLU``, ``F.relu``, ``.relu_`` and ATen's ``relu`` are all ``relu``."""
    return name.lstrip("._").rstrip("_").lower()


def elementwise_traffic(
    nodes: Iterable[NodeCost], *, count_batchnorm: bool = False
) -> tuple[int, int, int, Counter[str]]:
    """(element-wise MAC, all MAC, element-wise op calls, op names) over ``nodes`` (see ``elementwise_parts``)."""
    parts = elementwise_parts(nodes, count_batchnorm=count_batchnorm)
    return _elementwise_mac(parts), parts.total, len(parts.ops) + len(parts.depthwise), parts.names


def _elementwise_mac(parts: ElementwiseParts) -> int:
    return sum(op.cost.mac for op in parts.ops) + sum(node.mac for node in parts.depthwise)


def _advice(nodes: Sequence[NodeCost]) -> str:
    """What to do about element-wise work, for the kind of network these nodes are: the kind that does most of
    their FLOPs (a ViT's patch conv does not make it a CNN)."""
    flops = {OpKind.CONV: 0, OpKind.MATMUL: 0}
    for node in nodes:
        for op in node.ops:
            kind = OpKind.MATMUL if op.kind is OpKind.ATTENTION else op.kind
            if kind in flops:
                flops[kind] += magnitude(op.cost.flops)
    if flops[OpKind.CONV] and flops[OpKind.CONV] >= flops[OpKind.MATMUL]:
        return (
            "fuse them into the convs (conv, batch norm and activation as one kernel: torch.compile, TensorRT), drop "
            "activations on one branch, join branches with concat rather than add; the paper's ResNet ran about 20% "
            "faster without its ReLUs and shortcuts (Table 4)"
        )
    if flops[OpKind.MATMUL]:
        return (
            "fuse them into the matrix products and attention (a fused attention kernel such as SDPA's, fused "
            "bias-activation and norm kernels, torch.compile)"
        )
    return "fuse them into one kernel (torch.compile) or drop those that do not change the result"


class ElementwiseHeavy(Rule):
    """Element-wise ops take a share of the memory traffic that FLOPs do not show.

    ## What it does
    It sums the MAC of element-wise work: activations (ReLU, ReLU6, ...), adds
    and other pointwise ops, bias and unfused normalisation, and depthwise convs,
    which the paper counts here for their high MAC/FLOPs ratio. It reports each
    building block, and the whole model, whose element-wise share of MAC is at
    least ``max_share``.

    ## Why is this bad?
    Element-wise ops have almost no FLOPs but read and write whole feature maps.
    Removing ReLU and the shortcut from a ResNet bottleneck makes it about 20%
    faster on GPU and ARM (the paper's Table 4).

    ## Example
    MobileNet V2's inverted residual runs ReLU6, batch norm and a depthwise conv on
    its 6x-wide feature map. ShuffleNet V2 applies ReLU on one branch only and joins
    branches with concat, not add.

    ## Options
    - ``max_share`` (0.3): the element-wise share of MAC a block or model may have.
    - ``count_batchnorm`` (0): 1 counts inference batch norm too; by default it is
      left out of both sides, as deployment folds it into the conv before it.

    ## Reference
    Ma et al., ShuffleNet V2, ECCV 2018, Sec. 2, guideline G4, Table 4 and Fig. 2.
    """

    code = "G4"
    name = "elementwise-heavy"
    summary = "element-wise ops (activations, adds, norms, depthwise convs) take a large share of MAC"
    options: ClassVar[Mapping[str, float]] = {"max_share": 0.3, "count_batchnorm": 0}

    def _timing(self, ops: list[OpCost], depthwise: list[NodeCost]) -> dict[str, float]:
        """The element-wise time (depthwise convs included) and what fusing the pointwise ops would save."""
        if self.time is None:
            return {}
        fusable = sum(self.time.op_seconds(op) for op in ops)
        return {"predicted_s": fusable + sum(self.time.node_seconds(n) for n in depthwise), "saving_s": fusable}

    def _finding(
        self, path: str, label: str, nodes: Sequence[NodeCost], where: object, module_type: str = ""
    ) -> Iterator[Diagnostic]:
        parts = elementwise_parts(nodes, count_batchnorm=bool(self.opts["count_batchnorm"]))
        ew_mac, total, names = _elementwise_mac(parts), parts.total, parts.names
        calls = len(parts.ops) + len(parts.depthwise)
        share = ew_mac / total if total else 0.0
        if share < self.opts["max_share"]:
            return
        shown = names.most_common(5 if len(names) == 5 else 4)
        rest = sum(names.values()) - sum(count for _, count in shown)
        listed = ", ".join(f"{name} x{count}" for name, count in shown) + (f", {rest} more" if rest else "")
        batchnorm = (
            f"; batch norm left out as foldable into the conv: {human(total + parts.batchnorm_mac)} elements with it "
            "(G4.count_batchnorm=1 counts it)"
        )
        yield self.finding(
            f"{label} spends {share:.0%} of its MAC ({human(ew_mac)} of {human(total)} elements) in {calls} "
            f"element-wise op{'s' if calls != 1 else ''} ({listed}); they move whole tensors for almost no FLOPs: "
            f"{_advice(nodes)} (ShuffleNet V2 Sec. 2, G4)" + (batchnorm if parts.batchnorm_mac else ""),
            path,
            where,  # type: ignore[arg-type]
            degree=share / self.opts["max_share"],
            module_type=module_type,
            **self._timing(parts.ops, parts.depthwise),
            share=float(share),
            elementwise_mac=ew_mac,
            mac=total,
            elementwise_ops=calls,
        )

    def find(self, graph: CostedGraph) -> Iterator[Diagnostic]:
        units = blocks(graph)
        if len(units) > 1 or units[0].path:
            for block in units:
                label = f"block '{block.path}' ({block.type})"
                yield from self._finding(block.path, label, block.nodes, block.where, block.type)
        yield from self._finding("", f"model {graph.model}", graph.nodes, graph.module_sites.get(""))
