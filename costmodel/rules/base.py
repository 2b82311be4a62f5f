"""The ``Rule`` base class and the views of a report that rules share (convs, blocks)."""

from __future__ import annotations

import inspect
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from costmodel.diagnostics import Diagnostic
from costmodel.types import NodeCost, OpCost, OpKind, SourceLocation, TensorSpec

if TYPE_CHECKING:
    from costmodel.report import Report

__all__ = ["Block", "ConvGeometry", "Rule", "blocks", "conv_layers", "is_depthwise"]

COMPUTE_KINDS = frozenset({OpKind.CONV, OpKind.MATMUL, OpKind.ATTENTION})


class Rule(ABC):
    """A guideline check: a code, a kebab-case name, a one-line summary, options, and its docstring.

    The docstring is the explanation ``costmodel explain CODE`` prints: what it
    does, why it costs, an example, and the paper section.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    #: Option name -> default value; users override them as ``CODE.option``.
    options: ClassVar[Mapping[str, float]] = {}

    def __init__(self, options: Mapping[str, float] | None = None) -> None:
        self.opts = {**self.options, **(options or {})}

    @classmethod
    def explanation(cls) -> str:
        """The rule's docstring, dedented."""
        return inspect.cleandoc(cls.__doc__ or "")

    @abstractmethod
    def check(self, report: Report) -> Iterator[Diagnostic]:
        """Yield the findings of this rule on ``report``."""

    def finding(
        self,
        message: str,
        module: str,
        where: SourceLocation | None,
        *,
        degree: float,
        **data: Any,
    ) -> Diagnostic:
        """A ``Diagnostic`` of this rule; ``where`` falls back to ``<model>:1:1``."""
        return Diagnostic(
            code=self.code,
            name=self.name,
            message=message,
            module=module,
            file=where.file if where else "<model>",
            line=where.line if where else 1,
            column=where.column if where else 1,
            degree=degree,
            data={k: (round(v, 4) if isinstance(v, float) else v) for k, v in data.items()},
        )


@dataclass(frozen=True, slots=True)
class ConvGeometry:
    """A convolution call read back from its ATen arguments (``c1``/``c2`` in and out channels)."""

    node: NodeCost
    op: OpCost
    c1: int
    c2: int
    groups: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    in_positions: int  # n * spatial size of the input
    out_positions: int  # n * spatial size of the output
    transposed: bool
    bias: int  # bias elements (0 without bias)

    @property
    def kernel_area(self) -> int:
        """Elements of one kernel window (k*k for 2-D)."""
        return math.prod(self.kernel)

    @property
    def depthwise(self) -> bool:
        """One group per input channel (MobileNet's and ShuffleNet's 3x3 layers)."""
        return self.groups > 1 and self.groups == self.c1

    @property
    def where(self) -> SourceLocation | None:
        """The line that built the layer, else the line that ran it."""
        return self.node.definition or self.node.location

    @property
    def shape_text(self) -> str:
        """'240->60, 1x1, g=3' for messages."""
        kernel = "x".join(map(str, self.kernel))
        return f"{self.c1}->{self.c2}, {kernel}, g={self.groups}"

    @property
    def width_ratio(self) -> str:
        """c_in:c_out with the smaller side 1 ('1:6', '6:1')."""
        return f"1:{self.c2 / self.c1:.2g}" if self.c2 >= self.c1 else f"{self.c1 / self.c2:.2g}:1"

    def facts(self) -> dict[str, int]:
        """The layer's numbers for a finding's data."""
        return {"c_in": self.c1, "c_out": self.c2, "groups": self.groups, "kernel_area": self.kernel_area}


def _conv_geometry(node: NodeCost, op: OpCost) -> ConvGeometry:
    x, weight, bias = op.call.args[:3]
    args = op.call.args
    transposed = bool(args[6]) if len(args) > 6 else False
    groups = int(args[8]) if len(args) > 8 else 1
    out: TensorSpec = op.call.outputs[0]
    c2 = weight.shape[1] * groups if transposed else weight.shape[0]
    return ConvGeometry(
        node=node,
        op=op,
        c1=x.shape[1],
        c2=c2,
        groups=groups,
        kernel=tuple(weight.shape[2:]),
        stride=tuple(args[3]) if len(args) > 3 else (1,),
        in_positions=x.shape[0] * math.prod(x.shape[2:]),
        out_positions=out.shape[0] * math.prod(out.shape[2:]),
        transposed=transposed,
        bias=bias.numel if isinstance(bias, TensorSpec) else 0,
    )


def conv_layers(report: Report) -> Iterator[ConvGeometry]:
    """Every convolution op in the report, with its geometry."""
    for node in report.nodes:
        for op in node.ops:
            if op.kind == OpKind.CONV and op.name in ("convolution", "_convolution"):
                yield _conv_geometry(node, op)


def is_depthwise(node: NodeCost) -> bool:
    """A node whose convolution has one group per input channel."""
    return any(c.depthwise for op in node.ops if op.kind == OpKind.CONV for c in [_conv_geometry(node, op)])


@dataclass(frozen=True, slots=True)
class Block:
    """A building block of the model: a user-defined module whose parts are single layers."""

    path: str
    type: str
    nodes: tuple[NodeCost, ...]
    where: SourceLocation | None

    @property
    def compute(self) -> tuple[NodeCost, ...]:
        """Nodes doing conv/matmul work, depthwise convs excluded (G4 counts those as element-wise)."""
        return tuple(n for n in self.nodes if _is_compute(n))


def _is_compute(node: NodeCost) -> bool:
    return node.kind in COMPUTE_KINDS and bool(node.flops) and not is_depthwise(node)


def blocks(report: Report) -> tuple[Block, ...]:
    """The model's units: user-defined modules with >= 2 compute nodes and no such module inside.

    A ShuffleNet unit, an inverted residual, an Inception module. If the model has
    none (a plain ``nn.Sequential``), the whole model is one block.
    """
    user_paths = {p for p in report.module_sites if p}
    grouped: dict[str, list[NodeCost]] = {p: [] for p in user_paths}
    for node in report.nodes:  # each node joins every user-defined module above it
        parts = node.module_path.split(".") if node.module_path else []
        for depth in range(1, len(parts) + 1):
            prefix = ".".join(parts[:depth])
            if prefix in grouped:
                grouped[prefix].append(node)
    members = {p: tuple(nodes) for p, nodes in grouped.items()}
    compute = {n.name for n in report.nodes if _is_compute(n)}
    heavy = {p for p, nodes in members.items() if sum(n.name in compute for n in nodes) >= 2}
    units = [p for p in heavy if not any(q != p and q.startswith(p + ".") for q in heavy)]
    if not units:
        return (Block("", report.model, report.nodes, report.module_sites.get("")),)
    order = {p: i for i, p in enumerate(report.module_types)}
    return tuple(
        Block(p, report.module_types.get(p, "?"), members[p], report.module_sites.get(p))
        for p in sorted(units, key=lambda p: order.get(p, 0))
    )


_CODE = re.compile(r"^G\d+$")
_NAME = re.compile(r"^[a-z]+(-[a-z0-9]+)*$")


def validate(rule: type[Rule]) -> None:
    """Check a rule class's identity before it is registered."""
    for attr in ("code", "name", "summary"):
        if not isinstance(getattr(rule, attr, None), str):
            raise TypeError(f"rule {rule.__name__} needs a str class attribute '{attr}'")
    if not _CODE.match(rule.code):
        raise ValueError(f"rule {rule.__name__}: code {rule.code!r} does not match {_CODE.pattern}")
    if not _NAME.match(rule.name):
        raise ValueError(f"rule {rule.__name__}: name {rule.name!r} is not kebab-case")
    if not rule.__doc__:
        raise ValueError(f"rule {rule.__name__} needs a docstring (its explanation)")
