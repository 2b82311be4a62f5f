"""Tracing: torch.fx graph of any ``nn.Module``, with module paths and source lines.

Standard ``torch.nn`` layers stay leaves, so a conv's groups and kernel are
visible. A submodule fx cannot trace (data-dependent control flow, unsupported
Python) does not sink the trace: it becomes an *opaque* leaf whose inside is
costed op by op at the ATen level later, and the trace is retried. If the
model's own ``forward`` cannot be traced, the whole model is one opaque leaf.
"""

from __future__ import annotations

import dis
import functools
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from torch import fx, nn

from costmodel.errors import TraceError
from costmodel.graph.source import call_site
from costmodel.ops import lookup

__all__ = ["LOCATION", "ROOT", "TracedModel", "trace"]

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


class _Tracer(fx.Tracer):
    """fx tracer that keeps nn layers, registered module classes and opaque paths as leaves."""

    def __init__(self, opaque: frozenset[str]) -> None:
        super().__init__()
        self.opaque = opaque
        self.failed_in: str | None = None

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if module_qualified_name in self.opaque or lookup(type(m)) is not None:
            return True
        return super().is_leaf_module(m, module_qualified_name)

    def call_module(
        self, m: nn.Module, forward: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        path = self.path_of_module(m)
        if self.is_leaf_module(m, path):
            return super().call_module(m, forward, args, kwargs)
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception:
            if self.failed_in is None:  # the innermost module that failed
                self.failed_in = path
            raise

    def proxy(self, node: fx.Node) -> fx.Proxy:
        return _Proxy(node, self)

    def create_node(self, *args: Any, **kwargs: Any) -> fx.Node:
        node = super().create_node(*args, **kwargs)
        node.meta[LOCATION] = call_site(2)
        return node


def _root_graph(model: nn.Module) -> fx.Graph:
    """A graph with one node calling the whole model: a leaf layer, or a forward fx cannot trace."""
    import inspect

    graph = fx.Graph()
    params = [
        p
        for p in inspect.signature(model.forward).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    inputs = []
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            inputs.append(graph.placeholder("*" + p.name))
        else:
            default = () if p.default is p.empty else (p.default,)
            inputs.append(graph.placeholder(p.name, default_value=default[0] if default else inspect.Parameter.empty))
    node = graph.create_node("call_module", ROOT, tuple(inputs), name="model")
    node.meta[LOCATION] = None
    graph.output(node)
    return graph


def trace(model: nn.Module) -> TracedModel:
    """Trace ``model`` with torch.fx, making untraceable submodules opaque leaves.

    Raises:
        TraceError: Never for untraceable Python in a submodule (that becomes opaque);
            only if tracing fails for a reason retries cannot fix.
    """
    opaque: frozenset[str] = frozenset()
    if _Tracer(opaque).is_leaf_module(model, ROOT):  # a single nn layer: keep it whole
        return TracedModel(model, _root_graph(model), opaque)
    for _ in range(sum(1 for _ in model.modules()) + 1):
        tracer = _Tracer(opaque)
        try:
            return TracedModel(model, tracer.trace(model), opaque)
        except Exception as error:  # fx raises many types; each one makes a module opaque
            failed = tracer.failed_in
            if failed is None or failed == ROOT:
                return TracedModel(model, _root_graph(model), frozenset({ROOT}))
            if failed in opaque:
                raise TraceError(f"tracing {type(model).__name__} failed in '{failed}': {error}") from error
            opaque = opaque | {failed}
    raise TraceError(f"tracing {type(model).__name__} did not converge")  # pragma: no cover
