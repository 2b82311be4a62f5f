"""Tracing: torch.fx graph of any ``nn.Module``, with module paths and source lines.

Standard ``torch.nn`` layers stay leaves, so a conv's groups and kernel are
visible. A submodule fx cannot trace (data-dependent control flow, unsupported
Python) does not sink the trace: it becomes an *opaque* leaf whose inside is
costed op by op at the ATen level later, and the trace is retried. If the
model's own ``forward`` cannot be traced, the whole model is one opaque leaf.

``forward`` parameters the user did not give keep their defaults, and the trace
is specialised on them (``if mask is not None`` takes the branch the call takes).
"""

from __future__ import annotations

import collections
import dis
import functools
import inspect
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn
from torch.fx._symbolic_trace import _assert_is_none

from costmodel.errors import TraceError
from costmodel.graph.source import call_site
from costmodel.ops import lookup
from costmodel.types import ModelInputs

__all__ = ["LOCATION", "ROOT", "TRACED_INTO", "TracedModel", "trace"]

#: ``node.meta`` key holding the node's ``SourceLocation`` (the user's line that created it).
LOCATION = "costmodel_location"
#: Module path of the model itself, used as the target when the whole model is opaque.
ROOT = ""


@dataclass(frozen=True, slots=True)
class TracedModel:
    """The fx graph of a model and the submodules that were costed opaquely."""

    root: nn.Module
    graph: fx.Graph
    opaque: frozenset[str]
    #: The ``forward`` parameter each placeholder stands for, in placeholder order.
    parameters: tuple[str, ...] = ()


@functools.lru_cache(maxsize=1024)
def _unpack_counts(code: types.CodeType) -> dict[int, int]:
    """Bytecode offset -> element count of every UNPACK_SEQUENCE in a function (disassembled once)."""
    return {i.offset: i.argval for i in dis.get_instructions(code) if i.opname == "UNPACK_SEQUENCE"}


class _Unpacking:
    """Tuple unpacking (``a, b = x.chunk(2)``, ``n, c, h, w = x.shape``) from a cached disassembly.

    fx disassembles the whole calling function on every unpack; this keeps its
    behaviour (unpack to ``self[i]``, else ``tracer.iter``) at a fraction of the cost.
    """

    def __iter__(self) -> Iterator[fx.Proxy]:
        calling = sys._getframe(1)
        count = _unpack_counts(calling.f_code).get(calling.f_lasti)
        if count is not None:
            return (self[i] for i in range(count))  # type: ignore[index]
        return self.tracer.iter(self)  # type: ignore[attr-defined]


class _Proxy(_Unpacking, fx.Proxy):
    """fx's Proxy with cheap unpacking, also for its attributes (``x.shape``)."""

    def __getattr__(self, k: str) -> fx.proxy.Attribute:
        return _Attribute(self, k)


class _Attribute(_Unpacking, fx.proxy.Attribute):
    """fx's lazily created attribute proxy, with cheap unpacking."""


#: Standard layers that are containers in all but name: traced into (or split into rows), never kept whole.
TRACED_INTO: tuple[type[nn.Module], ...] = (
    nn.Transformer,
    nn.TransformerEncoder,
    nn.TransformerDecoder,
    nn.TransformerEncoderLayer,
    nn.TransformerDecoderLayer,
    nn.MultiheadAttention,
)


class _ModuleStack(collections.OrderedDict):  # type: ignore[type-arg]
    """fx's stack of module calls, with a direct ``copy.copy`` (the generic one goes through ``__reduce_ex__``)."""

    def __copy__(self) -> collections.OrderedDict:  # type: ignore[type-arg]
        return collections.OrderedDict(self)


#: Argument types fx stores in the graph as they are (``torch.fx.node.base_types``, exactly these classes).
_PLAIN_ARGUMENTS = frozenset({int, float, bool, str, type(None), torch.dtype, torch.device, torch.memory_format})


class _Tracer(fx.Tracer):
    """fx tracer that keeps nn layers, registered module classes and opaque paths as leaves."""

    def __init__(self, opaque: frozenset[str]) -> None:
        super().__init__()
        self.opaque = opaque
        self.failed_in: str | None = None
        self.module_stack = _ModuleStack()  # fx copies it into every node's meta

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if module_qualified_name in self.opaque or lookup(type(m)) is not None:
            return True
        if isinstance(m, TRACED_INTO):
            return False
        return super().is_leaf_module(m, module_qualified_name)

    def call_module(
        self, m: nn.Module, forward: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception:
            path = self.path_of_module(m)
            if self.failed_in is None and not self.is_leaf_module(m, path):  # the innermost module that failed
                self.failed_in = path
            raise

    def proxy(self, node: fx.Node) -> fx.Proxy:
        return _Proxy(node, self)

    def create_arg(self, a: Any) -> Any:
        """fx's ``create_arg``, with its result for the commonest arguments (a proxy, a plain number, a plain
        tuple, list or str-keyed dict of them) given directly: fx checks each against every special type first."""
        kind = type(a)
        if kind is _Proxy or kind is _Attribute:
            return a.node
        if kind in _PLAIN_ARGUMENTS:
            return a
        if kind is tuple or kind is list:
            return kind([self.create_arg(item) for item in a])
        if kind is dict and all(type(key) is str for key in a):
            return {key: self.create_arg(value) for key, value in a.items()}
        return super().create_arg(a)

    def create_node(
        self,
        kind: str,
        target: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        name: str | None = None,
        type_expr: Any | None = None,
    ) -> fx.Node:
        # The arguments join the node after it is made: the same node, without fx's scan of every argument
        # for raw symbolic values, which a trace on concrete shapes never has.
        node = super().create_node(kind, target, (), {}, name, type_expr)
        if args:
            node.args = args
        if kwargs:
            node.kwargs = kwargs
        node.meta[LOCATION] = call_site(2)
        return node


def _forward_parameters(model: nn.Module) -> list[inspect.Parameter]:
    """``forward``'s parameters, ``*args`` and ``**kwargs`` excluded (through decorators' ``__wrapped__``)."""
    try:
        signature = inspect.signature(model.forward)
    except (TypeError, ValueError):
        return []
    return [p for p in signature.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _behind_a_wrapper(model: nn.Module) -> bool:
    """Whether ``forward`` is a decorator's ``(*args, **kwargs)`` around the real one (Hugging Face models)."""
    forward = getattr(type(model).forward, "__code__", None)
    wrapped = hasattr(type(model).forward, "__wrapped__")
    return wrapped and forward is not None and bool(forward.co_flags & inspect.CO_VARARGS)


def _defaults_kept(model: nn.Module, inputs: ModelInputs | None) -> dict[str, Any]:
    """The parameters not given, with their (non-tensor) defaults, and the constants given: the trace is
    specialised on them."""
    if inputs is None:
        return {}
    given = set(inputs.keywords) | set(inputs.constants)
    positional = inputs.positional_count
    kept = {}
    for index, p in enumerate(_forward_parameters(model)):
        passed = (index < positional and p.kind is not p.KEYWORD_ONLY) or p.name in given
        if not passed and p.default is not p.empty and not isinstance(p.default, torch.Tensor):
            kept[p.name] = p.default
    return {**kept, **inputs.constants}


def _is_specialisation_check(node: fx.Node) -> bool:
    """fx's guard that a specialised parameter still has its default (never true for user code)."""
    if node.op != "call_function" or node.target not in (_assert_is_none, torch._assert):
        return False
    return len(node.args) > 1 and isinstance(node.args[1], str) and "has been specialized to have value" in node.args[1]


def _drop_specialisation_checks(graph: fx.Graph) -> None:
    """Remove fx's guards on specialised defaults and the comparisons that only fed them."""
    for node in reversed(list(graph.nodes)):
        if _is_specialisation_check(node):
            sources = node.all_input_nodes
            graph.erase_node(node)
            for source in sources:
                if source.op == "call_function" and not source.users:
                    graph.erase_node(source)


def _root_graph(model: nn.Module, inputs: ModelInputs | None) -> fx.Graph:
    """A graph with one node calling the whole model (a leaf layer, or a forward fx cannot trace).

    The node passes what the user gives, positional and keyword, and nothing else: the
    parameters not given keep their defaults. Without inputs every positional parameter is one.
    """
    graph = fx.Graph()
    parameters = _forward_parameters(model)
    if inputs is None:
        positional_names = [p.name for p in parameters if p.kind is not p.KEYWORD_ONLY and p.default is p.empty]
        keywords: tuple[str, ...] = ()
    else:
        names = [p.name for p in parameters if p.kind is not p.KEYWORD_ONLY]
        count = inputs.positional_count
        positional_names = names[:count]  # more inputs than parameters: bind_inputs says so
        keywords = inputs.keywords
    args = tuple(graph.placeholder(name) for name in positional_names)
    kwargs: dict[str, Any] = {name: graph.placeholder(name) for name in keywords}
    kwargs.update(inputs.constants if inputs is not None else {})
    node = graph.create_node("call_module", ROOT, args, kwargs, name="model")
    node.meta[LOCATION] = None
    graph.output(node)
    return graph


def trace(model: nn.Module, inputs: ModelInputs | None = None) -> TracedModel:
    """Trace ``model`` with torch.fx, making untraceable submodules opaque leaves.

    ``inputs`` says which parameters the call gives; the others keep their defaults.

    Raises:
        TraceError: Never for untraceable Python in a submodule (that becomes opaque);
            only if tracing fails for a reason retries cannot fix.
    """
    opaque: frozenset[str] = frozenset()
    if _Tracer(opaque).is_leaf_module(model, ROOT):  # a single nn layer: keep it whole
        return _whole(model, inputs, opaque)
    if _behind_a_wrapper(model):  # fx traces the wrapper's (*args, **kwargs), never the real forward
        return _whole(model, inputs, frozenset({ROOT}))
    kept = _defaults_kept(model, inputs)
    for _ in range(sum(1 for _ in model.modules()) + 1):
        tracer = _Tracer(opaque)
        try:
            graph = tracer.trace(model, concrete_args=kept or None)
        except Exception as error:  # fx raises many types; each one makes a module opaque
            failed = tracer.failed_in
            if failed is None or failed == ROOT:
                return _whole(model, inputs, frozenset({ROOT}))
            if failed in opaque:
                raise TraceError(f"tracing {type(model).__name__} failed in '{failed}': {error}") from error
            opaque = opaque | {failed}
            continue
        _drop_specialisation_checks(graph)
        names = [p.name for p in _forward_parameters(model)]
        placeholders = [n for n in graph.nodes if n.op == "placeholder"]
        aligned = len(names) == len(placeholders)
        return TracedModel(model, graph, opaque, tuple(names if aligned else (str(n.target) for n in placeholders)))
    raise TraceError(f"tracing {type(model).__name__} did not converge")  # pragma: no cover


def _whole(model: nn.Module, inputs: ModelInputs | None, opaque: frozenset[str]) -> TracedModel:
    graph = _root_graph(model, inputs)
    names = tuple(str(n.target) for n in graph.nodes if n.op == "placeholder")
    return TracedModel(model, graph, opaque, names)
