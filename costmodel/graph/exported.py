"""An exported program (``torch.export``) costed from its graph: each node's ``meta["val"]`` gives the shapes, so
nothing runs and no input is needed.

The program's ops are first brought to the level a dispatch mode sees in eager PyTorch: composite ops
(``conv2d``, ``linear``, ``layer_norm``) are decomposed as dispatch decomposes them, and attention into its math
form, as the eager walk on meta tensors records it; so an exported program and its eager model count the same
ATen calls. Nodes are then grouped as the eager walk groups them: the ops of one call of a layer (a module that
holds no other module an op runs in) make one ``call_module`` node at its path (``nn_module_stack``); an op a
container makes is a node of its own. Source lines come from each node's ``stack_trace``; parameters are the
program's own (its ``state_dict``), counted once each.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import operator
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn

from costmodel.graph.recording_walk import NodeNames, RecordedNode
from costmodel.graph.source import class_site, trace_site
from costmodel.graph.walk import tensors_in
from costmodel.records import record
from costmodel.types import FrozenMap, OpCall, SourceLocation, TensorSpec

__all__ = ["ExportedGraph", "quiet_export", "read_exported"]


@record
class ExportedGraph:
    """What the eager walk's recording gives, read from a program's graph instead."""

    records: list[RecordedNode]
    input_names: tuple[str, ...]
    input_specs: tuple[TensorSpec, ...]
    output_names: tuple[str, ...]
    parameters: tuple[tuple[str, nn.Parameter], ...]
    module_types: dict[str, str] = field(default_factory=dict)
    module_sites: dict[str, SourceLocation] = field(default_factory=dict)


def _math_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attn_mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> torch.Tensor:
    """Attention as the eager walk records it on meta tensors: the math form."""
    math = torch.ops.aten._scaled_dot_product_attention_math.default
    return math(query, key, value, attn_mask, dropout_p, is_causal, None, scale=scale, enable_gqa=enable_gqa)[0]


def _dispatch_level(program: Any) -> Any:
    """The program with only what dispatch decomposes decomposed (and attention in its math form)."""
    from torch.export import default_decompositions

    table = {
        op: decomposition
        for op, decomposition in default_decompositions().items()
        if torch._C._dispatch_has_kernel_for_dispatch_key(op.name(), "CompositeImplicitAutograd")
    }
    table[torch.ops.aten.scaled_dot_product_attention.default] = _math_attention
    with quiet_export():
        return program.run_decompositions(table)


@contextlib.contextmanager
def quiet_export() -> Iterator[None]:
    """torch.export's own deprecation warnings silenced: they are torch's business, not the user's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


#: Export's size symbols -> the user's names for them, while a symbolic program is read.
_RENAME: contextvars.ContextVar[Mapping[Any, Any] | None] = contextvars.ContextVar("costmodel_rename", default=None)


def _size(value: Any) -> Any:
    """A size as formulas take it: an int, or for a symbolic size its sympy expression in the user's names."""
    if isinstance(value, torch.SymInt):
        expr = value.node.expr
        return int(expr) if expr.is_number else _plain_sympy(expr.xreplace(_RENAME.get() or {}))
    return value


def _plain_sympy(expr: Any) -> Any:
    """torch's own sympy functions as sympy's: ``FloorDiv(a, b)`` as ``floor(a / b)``, so a formula reads and
    evaluates as any sympy expression does."""
    import sympy
    from torch.utils._sympy.functions import CeilToInt, FloorDiv, FloorToInt

    return expr.replace(lambda e: isinstance(e, FloorDiv), lambda e: sympy.floor(e.args[0] / e.args[1])).replace(
        lambda e: isinstance(e, FloorToInt | CeilToInt),
        lambda e: (sympy.floor if isinstance(e, FloorToInt) else sympy.ceiling)(e.args[0]),
    )


def _tensor_spec(tensor: torch.Tensor) -> TensorSpec:
    """A tensor's spec; its symbolic sizes as sympy expressions."""
    shape = tensor.shape
    if any(isinstance(d, torch.SymInt) for d in shape):
        return TensorSpec(tuple(_size(d) for d in shape), tensor.dtype)
    return TensorSpec.of(tensor)


def _spec(value: Any) -> Any:
    """An argument as formulas see it: fx nodes by their value's spec, lists item by item, the rest as given."""
    if isinstance(value, fx.Node):
        found = value.meta.get("val")
        if isinstance(found, torch.Tensor):
            return _tensor_spec(found)
        if isinstance(found, list | tuple):
            return tuple(_tensor_spec(t) if isinstance(t, torch.Tensor) else _size(t) for t in found)
        return _size(found)
    if isinstance(value, list | tuple):
        return tuple(_spec(item) for item in value)
    return _size(value)


def _call(node: fx.Node) -> OpCall:
    outputs = tuple(_tensor_spec(t) for t in tensors_in(node.meta.get("val")))
    kwargs = FrozenMap({k: _spec(v) for k, v in node.kwargs.items()}) if node.kwargs else FrozenMap()
    target = torch.ops.aten.alias.default if _inference_dropout(node) else node.target
    return OpCall(target, tuple(_spec(a) for a in node.args), outputs, kwargs)


def _inference_dropout(node: fx.Node) -> bool:
    """A copy that export made of inference-mode dropout, which eager runs as nothing (its input returned):
    costed as the alias it is. (Training-mode dropout decomposes into a mask drawn and multiplied.)"""
    if node.target is not torch.ops.aten.clone.default:
        return False
    return any(str(source.target) == "aten.dropout.default" for source in node.meta.get("from_node") or ())


def _reads(node: fx.Node) -> Iterator[fx.Node]:
    """The fx nodes an op reads, through lists."""
    for value in (*node.args, *node.kwargs.values()):
        for item in value if isinstance(value, list | tuple) else (value,):
            if isinstance(item, fx.Node):
                yield item


def _short(type_name: Any) -> str:
    return str(getattr(type_name, "__name__", type_name)).rsplit(".", 1)[-1]


def _class(type_name: Any) -> type | None:
    """The class an ``nn_module_stack`` entry names, where it can be imported."""
    if isinstance(type_name, type):
        return type_name
    module, _, name = str(type_name).rpartition(".")
    try:
        found = getattr(importlib.import_module(module), name, None)
    except (ImportError, ValueError):
        return None
    return found if isinstance(found, type) else None


def _fresh(node: fx.Node) -> bool:
    """Whether an op's outputs are new memory (no aliasing return, not in place)."""
    schema = getattr(node.target, "_schema", None)
    return schema is not None and not schema.is_mutable and all(r.alias_info is None for r in schema.returns)


@dataclass
class _Group:
    """The fx nodes of one report node."""

    layer: bool
    key: str
    path: str
    type_name: str
    nodes: list[fx.Node] = field(default_factory=list)


def _size_arithmetic(node: fx.Node) -> bool:
    """A node that reads or computes sizes, or takes an item of a tuple: no tensor work of its own (its value
    reaches the ops that use it as an argument)."""
    if node.target is operator.getitem or not isinstance(node.target, torch._ops.OpOverload):
        return True
    return isinstance(node.meta.get("val"), torch.SymInt | int)


def _groups(graph: fx.Graph, root_type: str) -> list[_Group]:
    ops = [n for n in graph.nodes if n.op == "call_function" and not _size_arithmetic(n)]
    stacks = {n: list((n.meta.get("nn_module_stack") or {}).items()) for n in ops}
    containers = {path for stack in stacks.values() for _, (path, _) in stack[:-1]}
    groups: list[_Group] = []
    for node in ops:
        stack = stacks[node]
        key, (path, type_name) = stack[-1] if stack else ("", ("", root_type))
        if path.startswith("_empty_nn_module_stack"):  # a size read export added: the model's own
            key, path, type_name = "", "", root_type
        layer = path not in containers
        if layer and groups and groups[-1].layer and groups[-1].key == key:
            groups[-1].nodes.append(node)
            continue
        groups.append(_Group(layer, key, path, _short(type_name), [node]))
    return groups


def _outputs(nodes: list[fx.Node], inside: set[fx.Node]) -> tuple[TensorSpec, ...]:
    """Specs of the values a group's nodes give to nodes outside it (an item of a returned tuple, through its
    ``getitem``): what the layer returns, not the statistics batch norm also gives."""
    found: list[TensorSpec] = []
    for node in nodes:
        for value in (node, *(u for u in node.users if u.target is operator.getitem)):
            whole = value is not node or node.meta.get("val") is None or isinstance(node.meta["val"], torch.Tensor)
            if whole and any(user not in inside and user.target is not operator.getitem for user in value.users):
                found += [_tensor_spec(t) for t in tensors_in(value.meta.get("val"))]
    return tuple(found)


def read_exported(program: Any, rename: Mapping[Any, Any] | None = None) -> ExportedGraph:
    """The nodes of an exported program, as the eager walk records a model's (see the module docstring);
    ``rename`` maps the program's size symbols to the names sizes go by in the formulas."""
    token = _RENAME.set(rename or {})
    try:
        return _read(_dispatch_level(program))
    finally:
        _RENAME.reset(token)


def _read(program: Any) -> ExportedGraph:
    graph = program.graph
    signature = program.graph_signature
    state = program.state_dict
    parameters = {name: state[fqn] for name, fqn in signature.inputs_to_parameters.items()}
    weights = set(parameters) | set(signature.inputs_to_buffers) | set(signature.inputs_to_lifted_tensor_constants)
    user = [n for n in graph.nodes if n.op == "placeholder" and n.name in signature.user_inputs]
    input_specs = tuple(_tensor_spec(n.meta["val"]) for n in user if isinstance(n.meta.get("val"), torch.Tensor))
    maker: dict[fx.Node, str] = {n: n.name for n in user}
    root = next((v for n in graph.nodes for k, v in (n.meta.get("nn_module_stack") or {}).items() if v[0] == ""), None)
    root_type = _short(root[1]) if root else "model"
    names = NodeNames(maker.values())
    records: list[RecordedNode] = []
    types: dict[str, Any] = {"": root[1] if root else root_type}
    for group in _groups(graph, root_type):
        inside = set(group.nodes)
        inputs: dict[str, None] = {}
        given: list[fx.Node] = []
        used: dict[int, nn.Parameter] = {}
        for node in group.nodes:
            for stack_path, stack_type in (node.meta.get("nn_module_stack") or {}).values():
                if not stack_path.startswith("_empty_nn_module_stack"):
                    types.setdefault(stack_path, stack_type)
            for read in _reads(node):
                source = read.args[0] if read.target is operator.getitem else read
                if read in inside or source in inside:
                    continue
                if read.name in parameters:
                    used[id(parameters[read.name])] = parameters[read.name]
                elif read.name not in weights or not group.layer:
                    given.append(read)
                if isinstance(source, fx.Node) and source in maker:
                    inputs[maker[source]] = None
        last = group.nodes[-1]
        opname = str(getattr(last.target, "_opname", last.name))
        name = names.make((group.path.replace(".", "_") or "model") if group.layer else opname)
        made = _outputs(group.nodes, inside) or tuple(_tensor_spec(t) for t in tensors_in(last.meta.get("val")))
        records.append(
            RecordedNode(
                name=name,
                op="call_module" if group.layer else "call_function",
                target=group.type_name if group.layer else opname,
                module_path=group.path,
                module_type=group.type_name,
                inputs=tuple(inputs),
                input_specs=tuple(s for n in given for s in tensors_in(_spec(n)) if isinstance(s, TensorSpec)),
                output_specs=made,
                calls=tuple(_call(n) for n in group.nodes),
                parameters=tuple(used.values()),
                location=trace_site(group.nodes[0].meta.get("stack_trace")),
                output_bytes=sum(s.nbytes for s in made) if _fresh(last) else 0,
            )
        )
        for node in group.nodes:
            maker[node] = name
    for node in graph.nodes:  # an item of a tuple an op returned is made by that op's node
        if node.op == "call_function" and node.target is operator.getitem and node.args[0] in maker:
            maker[node] = maker[node.args[0]]
    output = next(n for n in graph.nodes if n.op == "output")
    classes = {path: _class(kind) for path, kind in types.items()}
    return ExportedGraph(
        records=records,
        input_names=tuple(n.name for n in user),
        input_specs=input_specs,
        output_names=tuple(dict.fromkeys(maker[n] for n in _reads(output) if n in maker)),
        parameters=tuple((signature.inputs_to_parameters[name], p) for name, p in parameters.items()),
        module_types={path: _short(kind) for path, kind in types.items()},
        module_sites={path: site for path, cls in classes.items() if cls is not None and (site := class_site(cls))},
    )
