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
import operator
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import field, fields
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import torch
from torch import nn

from costmodel.cache import KeyedStore
from costmodel.records import record

__all__ = [
    "COMPUTE_KINDS",
    "ELEMENTWISE_KINDS",
    "ActivationMemory",
    "Cost",
    "CostedGraph",
    "Diagnostic",
    "FrozenMap",
    "ModelInputs",
    "ModuleCost",
    "NodeCost",
    "OpCall",
    "OpCost",
    "OpKind",
    "Shape",
    "SourceLocation",
    "TensorSpec",
    "TimeModel",
]

Shape = tuple[int, ...]

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class FrozenMap(Mapping[K, V]):
    """A read-only mapping, hashable when its values are: what frozen records hold instead of dicts.

    It compares equal to any mapping with the same items (a plain dict included).
    """

    __slots__ = ("_data",)

    def __init__(self, items: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        self._data: dict[K, V] = dict(items)

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: K, default: Any = None) -> Any:  # the dict's own, not Mapping's try/except
        """The value of ``key``, else ``default``."""
        return self._data.get(key, default)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def with_item(self, key: K, value: V) -> FrozenMap[K, V]:
        """A copy with ``key`` set to ``value``."""
        copy: FrozenMap[K, V] = object.__new__(FrozenMap)
        copy._data = {**self._data, key: value}
        return copy

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


_EMPTY: FrozenMap[Any, Any] = FrozenMap()


def _freeze(record: Any, *names: str) -> None:
    """In a frozen dataclass's ``__post_init__``: replace the named mapping fields by ``FrozenMap``s."""
    for name in names:
        value = getattr(record, name)
        if not isinstance(value, FrozenMap):
            object.__setattr__(record, name, FrozenMap(value) if value else _EMPTY)


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


#: Kinds that do the multiply-adds counted as FLOPs (the paper's "Conv" slice of Fig. 2).
COMPUTE_KINDS = frozenset({OpKind.CONV, OpKind.MATMUL, OpKind.ATTENTION})
#: Kinds of element-wise work (guideline G4 and the paper's "Elemwise" slice of Fig. 2).
ELEMENTWISE_KINDS = frozenset({OpKind.ELEMENTWISE, OpKind.NORM})


@record
class TensorSpec:
    """Shape and dtype of a tensor, never its data. Shapes may hold sympy symbols."""

    shape: Shape
    dtype: torch.dtype = torch.float32

    @classmethod
    def of(cls, tensor: torch.Tensor) -> TensorSpec:
        """The spec of a tensor (real, meta or fake); equal specs are one shared record."""
        key = (tensor.shape, tensor.dtype)
        found = _SPEC_ENTRIES.get(key)  # read directly (every tensor of a walk), the counts kept here
        if found is None:
            _SPECS.misses += 1
            found = cls(tuple(tensor.shape), tensor.dtype)
            if cls is TensorSpec:
                _SPECS.put(key, found)
            return found
        _SPECS.hits += 1
        return found

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


#: (shape, dtype) -> its one shared spec: walks meet the same few shapes thousands of times.
_SPECS: KeyedStore[tuple[Any, torch.dtype], TensorSpec] = KeyedStore(
    "types.tensor_specs", "(shape, dtype) -> its one shared TensorSpec", 100_000
)
_SPEC_ENTRIES = _SPECS.entries


@record
class OpCall:
    """One call of an op as formulas see it: tensors replaced by ``TensorSpec``.

    ``args`` keeps the call's positional arguments (tensors as specs, lists of
    tensors as tuples of specs, other values as given); ``outputs`` is the flat
    tuple of tensors the op returned. A module formula's call (``target`` the
    layer's class) holds its layer weakly (``module``), so a kept call never
    keeps a model alive.
    """

    target: Any
    args: tuple[Any, ...] = ()
    outputs: tuple[TensorSpec, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    layer: weakref.ref[nn.Module] | None = None

    def __post_init__(self) -> None:
        _freeze(self, "kwargs")

    @classmethod
    def of_layer(cls, module: nn.Module, args: tuple[Any, ...], outputs: tuple[TensorSpec, ...]) -> OpCall:
        """A module formula's call: the layer's class as target, the layer held weakly."""
        return cls(type(module), args, outputs, _EMPTY, weakref.ref(module))

    @property
    def module(self) -> nn.Module | None:
        """The layer of a module formula's call while it lives (``None`` for ATen calls, or once it is gone)."""
        return self.layer() if self.layer is not None else None

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


@record
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


class _CostTotals:
    """The four cost figures of a record with a ``cost`` (a node, a module, a whole graph)."""

    __slots__ = ()
    cost: Cost

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
        """Memory access cost: elements read plus written."""
        return self.cost.mac

    @property
    def mac_bytes(self) -> int:
        """Memory access cost in bytes."""
        return self.cost.mac_bytes


@record
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


@record
class SourceLocation:
    """Where in the user's code a node was created."""

    file: str
    line: int
    column: int = 1
    code: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@record
class NodeCost(_CostTotals):
    """One node of the model's run with its costs: a layer's call, or a torch call a container makes (see the
    module docstring for units).

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
    extras: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    inputs: tuple[str, ...] = ()
    definition: SourceLocation | None = None
    #: Bytes of the node's outputs in new memory (0 for views and in-place ops), and the part of ``params``
    #: that does not require grad.
    output_bytes: int = 0
    frozen_params: int = 0

    def __post_init__(self) -> None:
        _freeze(self, "extras")

    @property
    def predicted_ms(self) -> float | None:
        """Predicted milliseconds on the report's device profile (``None`` without one)."""
        return self.extras.get("predicted_ms")

    @classmethod
    def made(
        cls,
        *,
        name: str,
        op: str,
        target: str,
        module_path: str,
        module_type: str,
        kind: OpKind,
        input_shapes: tuple[Shape, ...],
        output_shapes: tuple[Shape, ...],
        cost: Cost,
        params: int,
        ops: tuple[OpCost, ...],
        location: SourceLocation | None,
        inputs: tuple[str, ...],
        definition: SourceLocation | None,
        output_bytes: int,
        frozen_params: int,
    ) -> NodeCost:
        """A node from every field but ``extras`` (empty), by keyword: the walk's fast constructor (a record's
        ``__init__`` binds keyword arguments one by one; this sets the slots in order)."""
        node = object.__new__(cls)
        for set_slot, slot_value in zip(
            _NODE_SETTERS,
            (name, op, target, module_path, module_type, kind, input_shapes, output_shapes, cost, params, ops,
             location, inputs, definition, output_bytes, frozen_params),
            strict=True,
        ):  # fmt: skip
            set_slot(node, slot_value)
        _set_extras(node, _EMPTY)
        return node

    def with_extra(self, name: str, value: float) -> NodeCost:
        """A copy with one more per-node column (a fast ``dataclasses.replace``: the other fields are shared)."""
        copy = object.__new__(NodeCost)
        for set_slot, slot_value in zip(_NODE_SETTERS, _node_values(self), strict=True):
            set_slot(copy, slot_value)
        _set_extras(copy, self.extras.with_item(name, value))  # type: ignore[attr-defined]
        return copy

    @property
    def aliases_input(self) -> bool:
        """Whether the output lives in an input's memory (a view, a tuple item, an in-place op)."""
        return bool(self.inputs) and not self.output_bytes

    @property
    def unsupported(self) -> tuple[str, ...]:
        """Names of the ops in this node that have no formula."""
        return tuple(op.name for op in self.ops if not op.supported)


# Slot accessors for ``NodeCost.with_extra``: the slots' own descriptors write past the frozen ``__setattr__``.
_NODE_SLOTS = tuple(slot for slot in NodeCost.__slots__ if slot != "extras")
_node_values = operator.attrgetter(*_NODE_SLOTS)
_NODE_SETTERS = tuple(NodeCost.__dict__[slot].__set__ for slot in _NODE_SLOTS)
_set_extras = NodeCost.__dict__["extras"].__set__


@record
class ModuleCost(_CostTotals):
    """Costs of one module of the hierarchy, summed over the nodes inside it."""

    path: str
    type: str
    depth: int
    cost: Cost
    params: int
    nodes: int
    extras: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    #: Shapes of the tensors that enter the module from outside, and of those it hands out.
    input_shapes: tuple[Shape, ...] = ()
    output_shapes: tuple[Shape, ...] = ()

    def __post_init__(self) -> None:
        _freeze(self, "extras")

    @property
    def predicted_ms(self) -> float | None:
        """Predicted milliseconds of the module's nodes (``None`` without a device profile)."""
        return self.extras.get("predicted_ms")


@record
class Diagnostic:
    """One finding: what (code, module, numbers), why and what to do (message), and where (file:line:col).

    ``degree`` says how far past its threshold the finding is (1.0 = at it), so a
    network that moves further from the guideline gets a larger degree; ``data``
    holds the measured values behind the message.
    """

    code: str
    name: str
    message: str
    module: str
    file: str
    line: int
    column: int = 1
    degree: float = 1.0
    data: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    #: What kind of module it is about (a block's class, a layer's class and shape): repeats group by it.
    module_type: str = ""

    def __post_init__(self) -> None:
        _freeze(self, "data")

    @property
    def sort_key(self) -> tuple[Any, ...]:
        """Sorted by file, line, column, code, then module path in natural order (stages.2 < stages.10)."""
        natural = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in self.module.split("."))
        return (self.file, self.line, self.column, self.code, natural)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "code": self.code,
            "name": self.name,
            "message": self.message,
            "module": self.module,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "degree": round(self.degree, 4),
            "data": dict(self.data),
            "module_type": self.module_type,
        }

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.code} {self.message}"


class TimeModel(Protocol):
    """What the rules need of a calibrated device (``costmodel.DeviceProfile`` is one): predicted seconds."""

    device: str

    def op_seconds(self, op: OpCost) -> float:
        """Predicted seconds of one ATen call."""
        ...

    def node_seconds(self, node: NodeCost) -> float:
        """Predicted seconds of one graph node."""
        ...


@record
class ModelInputs:
    """The model's inputs as the user calls it, normalised once as they enter.

    A spec each, the example tensor if one was given, and the keyword it is passed
    by (``None``: positional, in order). Inputs given as shapes take the dtype rule
    of ``costmodel.graph.inputs``; an example tensor keeps its own dtype and is used
    as is where values are needed. ``forward`` parameters not given keep their defaults.
    """

    specs: tuple[TensorSpec, ...]
    examples: tuple[torch.Tensor | None, ...]
    names: tuple[str | None, ...] = ()
    #: Keyword inputs that are plain Python values (``return_dict=False``, ``use_cache=True``).
    constants: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def __post_init__(self) -> None:
        _freeze(self, "constants")
        if not self.names:
            object.__setattr__(self, "names", (None,) * len(self.specs))
        if not len(self.specs) == len(self.examples) == len(self.names):
            raise ValueError("ModelInputs: specs, examples and names differ in length")

    @property
    def shapes(self) -> tuple[Shape, ...]:
        """The input shapes."""
        return tuple(spec.shape for spec in self.specs)

    @property
    def positional_count(self) -> int:
        """How many inputs are passed by position (they come first)."""
        return sum(name is None for name in self.names)

    @property
    def keywords(self) -> tuple[str, ...]:
        """The keywords of the tensor inputs passed by name (``constants`` not included)."""
        return tuple(name for name in self.names if name is not None)

    def split(self, values: Sequence[T]) -> tuple[list[T], dict[str, Any]]:
        """One value per tensor input, in input order -> (positional, keyword) for ``forward``, constants added."""
        positional = [v for v, name in zip(values, self.names, strict=True) if name is None]
        keyword = {name: v for v, name in zip(values, self.names, strict=True) if name is not None}
        return positional, {**keyword, **self.constants}

    def __len__(self) -> int:
        return len(self.specs)


@record
class ActivationMemory:
    """Activation memory of one inference run, in bytes: the most live at once, and all outputs written."""

    peak_bytes: int
    written_bytes: int


@record
class CostedGraph(_CostTotals):
    """A model's data-flow graph with every node costed: what the rules read and ``Report`` extends.

    ``module_types`` maps each module path to its class name (``""`` is the model),
    ``module_sites`` each user-defined module to the line of its class.
    """

    model: str
    input_shapes: tuple[Shape, ...]
    nodes: tuple[NodeCost, ...]
    unsupported: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    unused_parameters: tuple[str, ...] = ()
    module_types: Mapping[str, str] = field(default_factory=lambda: _EMPTY, repr=False)
    module_sites: Mapping[str, SourceLocation] = field(default_factory=lambda: _EMPTY, repr=False)
    #: Each user-defined module's ``self.<name> = ...`` line in its parent (where that instance was built).
    module_definitions: Mapping[str, SourceLocation] = field(default_factory=lambda: _EMPTY, repr=False)
    #: The graph's input nodes (named as ``NodeCost.inputs`` names them) and their bytes, and the nodes it returns.
    input_names: tuple[str, ...] = ()
    input_bytes: int = 0
    output_names: tuple[str, ...] = ()
    #: Where values decided a branch, so the model ran on example values (``None``: shapes were enough).
    on_values: str | None = None
    #: Assumptions the counts rest on, said by the formulas used (``register_cost(..., note=...)``).
    notes: tuple[str, ...] = ()
    #: The named input sizes the costs are formulas of (sympy symbols of these names); empty: numbers.
    symbols: tuple[str, ...] = ()
    #: What a symbolic graph was counted from, to count it at given sizes (``costmodel.graph.symbolic``).
    symbolic_source: Any = field(default=None, repr=False, compare=False)
    #: Sum of every node's cost (``cost``), summed once as the record is made.
    _cost: Cost = field(init=False, repr=False, compare=False, default=Cost())

    def __post_init__(self) -> None:
        _freeze(self, "unsupported", "module_types", "module_sites", "module_definitions")
        object.__setattr__(self, "_cost", sum((n.cost for n in self.nodes), Cost()))

    def graph_fields(self) -> dict[str, Any]:
        """This record's fields by name (to build a ``Report`` that extends it)."""
        return {f.name: getattr(self, f.name) for f in fields(CostedGraph) if f.init}

    @property
    def cost(self) -> Cost:  # type: ignore[override]
        """Sum of every node's cost."""
        return self._cost

    @property
    def total(self) -> Cost:
        """Sum of every node's cost (``cost``, by its older name)."""
        return self.cost

    @property
    def params(self) -> int:
        """Unique parameters used by the forward pass."""
        return sum(n.params for n in self.nodes)

    @property
    def frozen_params(self) -> int:
        """The part of ``params`` that does not require grad (frozen)."""
        return sum(n.frozen_params for n in self.nodes)

    @property
    def trainable_params(self) -> int:
        """The part of ``params`` that requires grad."""
        return self.params - self.frozen_params
