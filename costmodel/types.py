"""Typed records shared by every layer of costmodel.

Units, stated once for the whole library:

* **FLOPs** are multiply-adds (one fused multiply-add = 1), the convention of the
  ShuffleNet V1/V2 and MobileNet V2 papers and of fvcore. Only conv, matmul and
  attention count here; ``torch.utils.flop_counter`` reports twice this number.
* **Element-wise ops** (``elementwise``) are the arithmetic of everything else:
  one per output element of an activation, add, mul, bias add; one per element
  and pass for normalisation; one per window element for pooling. They are kept
  out of FLOPs, as the papers do, and are what guideline G4 is about.
* **MAC** (memory access cost) is the number of tensor *elements* an op reads
  plus writes as eager PyTorch runs it: input activations + weights + outputs.
  Views move nothing; copies (``contiguous``, ``cat``, shuffle) cost their reads
  and writes. ``mac_bytes`` is the same traffic in bytes (element size by dtype).
* **Parameters** are counted once per unique tensor (shared weights once).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import torch
from torch import nn

__all__ = [
    "Cost",
    "NodeCost",
    "OpCall",
    "OpCost",
    "OpKind",
    "Shape",
    "SourceLocation",
    "TensorSpec",
]

Shape = tuple[int, ...]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class OpKind(StrEnum):
    """What an op does, for grouping costs (the paper's Fig. 2 categories and more)."""

    CONV = "conv"
    MATMUL = "matmul"
    ATTENTION = "attention"
    NORM = "norm"
    ELEMENTWISE = "elementwise"
    POOL = "pool"
    REDUCTION = "reduction"
    DATA = "data"  # copies: cat, contiguous, pad, dtype casts
    VIEW = "view"  # aliases: free
    EMBEDDING = "embedding"
    CUSTOM = "custom"  # a user-registered module formula
    UNSUPPORTED = "unsupported"
    NONE = "none"  # graph bookkeeping that runs no op (getitem, identity, eval dropout)


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """Shape and dtype of a tensor, never its data. Shapes may hold sympy symbols."""

    shape: Shape
    dtype: torch.dtype = torch.float32

    @classmethod
    def of(cls, tensor: torch.Tensor) -> TensorSpec:
        """The spec of a tensor (real, meta or fake)."""
        return cls(tuple(tensor.shape), tensor.dtype)

    @property
    def numel(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        """Bytes per element."""
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        """Bytes of the whole tensor."""
        return self.numel * self.itemsize

    def __str__(self) -> str:
        return "[" + ", ".join(map(str, self.shape)) + "]"


@dataclass(frozen=True, slots=True)
class OpCall:
    """One call of an op as formulas see it: tensors replaced by ``TensorSpec``.

    ``args`` keeps the call's positional arguments (tensors as specs, lists of
    tensors as tuples of specs, other values as given); ``outputs`` is the flat
    tuple of tensors the op returned. ``module`` is set for module formulas.
    """

    target: Any
    args: tuple[Any, ...] = ()
    outputs: tuple[TensorSpec, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    module: nn.Module | None = None

    @property
    def inputs(self) -> tuple[TensorSpec, ...]:
        """Every tensor among the positional and keyword arguments, flattened."""
        found: list[TensorSpec] = []
        for value in (*self.args, *self.kwargs.values()):
            if isinstance(value, TensorSpec):
                found.append(value)
            elif isinstance(value, tuple | list):
                found.extend(v for v in value if isinstance(v, TensorSpec))
        return tuple(found)

    @property
    def name(self) -> str:
        """Short op name: ``convolution`` for ``aten.convolution.default``, the class name for modules."""
        if isinstance(self.target, type):
            return self.target.__name__
        return getattr(self.target, "__name__", str(self.target)).split(".")[0]


@dataclass(frozen=True, slots=True)
class Cost:
    """FLOPs (multiply-adds), element-wise ops, and memory traffic (elements and bytes)."""

    flops: int = 0
    elementwise: int = 0
    mac: int = 0
    mac_bytes: int = 0

    def __add__(self, other: Cost) -> Cost:
        if not isinstance(other, Cost):
            return NotImplemented
        return Cost(
            self.flops + other.flops,
            self.elementwise + other.elementwise,
            self.mac + other.mac,
            self.mac_bytes + other.mac_bytes,
        )

    def __radd__(self, other: object) -> Cost:
        if other == 0:  # sum() starts from 0
            return self
        return NotImplemented


@dataclass(frozen=True, slots=True)
class OpCost:
    """The cost of one op call inside a graph node."""

    call: OpCall
    kind: OpKind
    cost: Cost
    supported: bool = True

    @property
    def name(self) -> str:
        """The op's short name."""
        return self.call.name


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where in the user's code a node was created."""

    file: str
    line: int
    column: int = 1
    code: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class NodeCost:
    """One fx graph node with its costs (see the module docstring for units).

    ``extras`` holds further per-node columns that join later (measured or
    predicted time, say), keyed by column name. ``inputs`` names the nodes whose
    outputs this node consumes (graph inputs are named by their placeholder), so
    the report is the model's data-flow graph. ``location`` is the line that ran
    the node; ``definition`` the ``self.<name> = ...`` line that built its layer.
    """

    name: str
    op: str
    target: str
    module_path: str
    module_type: str
    kind: OpKind
    input_shapes: tuple[Shape, ...]
    output_shapes: tuple[Shape, ...]
    cost: Cost
    params: int
    ops: tuple[OpCost, ...] = ()
    location: SourceLocation | None = None
    opaque: bool = False
    extras: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    inputs: tuple[str, ...] = ()
    definition: SourceLocation | None = None

    @property
    def flops(self) -> int:
        """Multiply-adds."""
        return self.cost.flops

    @property
    def elementwise(self) -> int:
        """Element-wise arithmetic ops."""
        return self.cost.elementwise

    @property
    def mac(self) -> int:
        """Elements read plus written."""
        return self.cost.mac

    @property
    def mac_bytes(self) -> int:
        """Bytes read plus written."""
        return self.cost.mac_bytes

    @property
    def unsupported(self) -> tuple[str, ...]:
        """Names of the ops in this node that have no formula."""
        return tuple(op.name for op in self.ops if not op.supported)
