"""Per-layer rows for a part fx cannot trace: its ATen calls split by the module call they run in.

An opaque module (or a whole model whose ``forward`` fx cannot trace, such as a
Hugging Face model behind its decorators) is run as Python runs it, with global
module hooks keeping the stack of module calls. Each call of a module that calls
no other module becomes one row, as if fx had kept it as a leaf (``call_module``,
its path, its parameters); the ops a container runs between its children become
rows of that container (``call_function``), one per matrix product, convolution
or attention core and one per run of the cheaper ops between them. Each row knows
the rows whose tensors it reads, so memory and fork analyses see the data flow.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn

from costmodel.ops import lookup
from costmodel.types import OpCall, OpKind, TensorSpec

__all__ = ["Row", "Segment", "SplitRun", "tensors_in"]

#: Ops that get a row of their own inside a container: the work the per-layer view is about.
_OWN_ROW = frozenset({OpKind.CONV, OpKind.MATMUL, OpKind.ATTENTION, OpKind.EMBEDDING})
#: Layers whose inside is functional (no child module calls): split by their big ops all the same,
#: so attention shows its input projection, attention core and output projection as rows.
_SPLIT_INSIDE: tuple[type[nn.Module], ...] = (nn.MultiheadAttention,)
#: Ops that move no data: a run of only these joins the row after it.
_FREE = frozenset({OpKind.VIEW, OpKind.NONE})


def _kind(call: OpCall) -> OpKind | None:
    formula = lookup(call.target)
    return formula.kind if formula is not None else None


def tensors_in(value: Any) -> list[torch.Tensor]:
    """Every tensor in a (nested) value: lists, tuples and dict values, in order."""
    if isinstance(value, torch.Tensor):
        return [value]
    found: list[torch.Tensor] = []
    _collect(value, found)
    return found


def _collect(value: Any, found: list[torch.Tensor]) -> None:
    if isinstance(value, torch.Tensor):
        found.append(value)
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, torch.Tensor):
                found.append(item)
            elif isinstance(item, list | tuple | dict):
                _collect(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, found)


@dataclass(slots=True, eq=False)
class Row:
    """A graph node of a split part, as the pricing reads nodes: what an ``fx.Node`` of the same place would say."""

    name: str
    op: str  # "call_module" (one layer's call) or "call_function" (a container's own ops)
    target: Any  # the layer's path, or the op packet the row is named after
    all_input_nodes: list[Any]  # the rows and graph nodes whose tensors it reads
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Segment:
    """One row to be: the calls of one module call (``module`` set), or a run of a container's own ops."""

    path: str
    module: nn.Module
    leaf: bool
    calls: list[OpCall] = field(default_factory=list)
    #: (tensor id, the row that had made it when read: -1 an input) of each tensor read that an earlier row or
    #: input made; the maker is taken at the read, since an in-place op later makes the same tensor anew.
    reads: list[tuple[int, int]] = field(default_factory=list)
    input_specs: list[TensorSpec] = field(default_factory=list)
    output_specs: tuple[TensorSpec, ...] = ()  # the last call's
    fresh_bytes: int = 0


class SplitRun:
    """Collects one opaque run's calls into segments (``observe`` is the recorder's callback).

    ``paths`` maps ``id(module)`` to its qualified name below the model.
    """

    def __init__(self, path: str, module: nn.Module, paths: dict[int, str], inputs: Any) -> None:
        self.paths = paths
        self.segments: list[Segment] = []
        #: (path, module, called a child yet, the call's arguments) of each module call under way.
        self._stack: list[tuple[str, nn.Module, bool, Any]] = []
        #: (path, module, arguments) of the innermost module call under way when an op failed, if not the part.
        self.failed: tuple[str, nn.Module, Any] | None = None
        self._open: Segment | None = None
        self._open_big = False  # the open row is a container's big op: the next op starts a new row
        self._maker: dict[int, int] = {}  # tensor id -> segment index (-1: an input of the opaque part)
        self._alive: list[torch.Tensor] = []  # keeps ids unique while this run lives
        for tensor in tensors_in(inputs):
            self._maker[id(tensor)] = -1
            self._alive.append(tensor)
        self._enter(path, module)

    # -- module stack (global hooks) --------------------------------------------------------------
    def _enter(self, path: str, module: nn.Module, args: Any = ()) -> None:
        if self._stack:
            parent_path, parent, _, parent_args = self._stack[-1]
            self._stack[-1] = (parent_path, parent, True, parent_args)
        self._stack.append((path, module, isinstance(module, _SPLIT_INSIDE), args))
        self._open = None

    def _pre_hook(self, module: nn.Module, args: Any) -> None:
        path = self.paths.get(id(module))
        if path is not None and self._stack:
            self._enter(path, module, args)

    def _post_hook(self, module: nn.Module, args: Any, output: Any) -> None:
        if not self._stack or self._stack[-1][1] is not module or len(self._stack) == 1:
            return
        path, _, called_child, _ = self._stack.pop()
        opened = self._open
        if not called_child and opened is not None and opened.path == path:
            opened.leaf = True  # a module that called no other module: one row, like an fx leaf
        self._open = None

    @contextlib.contextmanager
    def hooks(self) -> Iterator[None]:
        """Global module hooks for the run (removed afterwards; the model keeps only its own)."""
        before = nn.modules.module.register_module_forward_pre_hook(self._pre_hook)
        after = nn.modules.module.register_module_forward_hook(self._post_hook, always_call=True)
        try:
            yield
        finally:
            before.remove()
            after.remove()

    # -- ATen calls (the recorder's callback) ------------------------------------------------------
    def observe(self, call: OpCall, args: Any, output: Any) -> None:
        """File one ATen call under the module call it runs in; a container's big ops get rows of their own."""
        path, module, called_child, _ = self._stack[-1]
        kind = _kind(call)
        segment = self._open
        if segment is None or segment.path != path or (called_child and (kind in _OWN_ROW or self._open_big)):
            segment = self._start(path, module)
        self._open_big = called_child and kind in _OWN_ROW
        segment.calls.append(call)
        index = len(self.segments) - 1  # the open row is always the newest
        makers = self._maker
        for tensor in tensors_in(args):
            maker = makers.get(id(tensor))
            if maker is not None and maker != index and (id(tensor), maker) not in segment.reads:
                segment.reads.append((id(tensor), maker))
                segment.input_specs.append(TensorSpec.of(tensor))
        segment.output_specs = call.outputs  # the call's outputs are the flat specs of what it returned
        for tensor in tensors_in(output):
            if id(tensor) not in makers and tensor._base is None:
                segment.fresh_bytes += tensor.numel() * tensor.element_size()
            makers[id(tensor)] = index
            self._alive.append(tensor)

    def _start(self, path: str, module: nn.Module) -> Segment:
        previous = self._open
        if previous is not None and previous.path == path and all(_kind(c) in _FREE for c in previous.calls):
            return previous  # views only so far: they join this row
        segment = Segment(path, module, leaf=False)
        self.segments.append(segment)
        self._open = segment
        return segment

    def note_failure(self) -> None:
        """An op failed: remember the innermost module call under way (the recorder's callback), once."""
        if self.failed is None and len(self._stack) > 1:
            path, module, _, args = self._stack[-1]
            self.failed = (path, module, args)

    def finish(self) -> None:
        """Close the run: an opaque part that called no module at all is one row, as before."""
        if not self._stack[0][2]:
            for segment in self.segments:
                segment.leaf = True

    def maker(self, tensor: torch.Tensor) -> int | None:
        """The segment that made ``tensor`` (-1: an input of the opaque part; ``None``: neither)."""
        return self._maker.get(id(tensor))

    # -- rows ---------------------------------------------------------------------------------------
    def nodes(self, taken: set[str], inputs: dict[int, fx.Node]) -> list[tuple[Segment, Row]]:
        """One row per segment (with calls), reading the rows and graph nodes whose tensors it reads.

        ``inputs`` maps the ids of the opaque part's input tensors to the graph nodes that made them.
        """
        made: list[Row | None] = []
        for segment in self.segments:
            if not segment.calls:
                made.append(None)
                continue
            sources: list[fx.Node | Row] = []
            for tensor_id, maker in segment.reads:
                source = inputs.get(tensor_id) if maker == -1 else made[maker]
                if source is not None and source not in sources:
                    sources.append(source)
            if segment.leaf:
                node = Row(_unique(_row_name(segment, None), taken), "call_module", segment.path, sources)
            else:
                main = _main(segment)
                name = _unique(_row_name(segment, main), taken)
                node = Row(name, "call_function", getattr(main.target, "overloadpacket", main.target), sources)
                node.meta["nn_module_stack"] = {segment.path: (segment.path, type(segment.module))}
            made.append(node)
        return [(segment, node) for segment, node in zip(self.segments, made, strict=True) if node is not None]


def _row_name(segment: Segment, main: OpCall | None) -> str:
    base = segment.path.replace(".", "_") or "model"
    if main is None:
        return base
    op = str(getattr(main.target, "__name__", "op")).split(".")[0]
    return f"{base}_{op}"


def _main(segment: Segment) -> OpCall:
    """The call a container's row is named after: its big op, else its first that moves data."""
    return max(segment.calls, key=lambda c: (_kind(c) in _OWN_ROW, _kind(c) not in _FREE))


def _unique(name: str, taken: set[str]) -> str:
    candidate, count = name, 0
    while candidate in taken:
        count += 1
        candidate = f"{name}_{count}"
    taken.add(candidate)
    return candidate
