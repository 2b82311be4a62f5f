"""``costmodel.report``: costs of every node of a model, totals, roll-ups and views.

A ``Report`` is computed once and never changes; its views (table, DataFrame,
JSON, rich and Jupyter display) render it at the edge, in ``costmodel.render``.
"""

from __future__ import annotations

import contextlib
import gc
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from torch import nn

from costmodel.cost import annotate
from costmodel.diagnostics import Diagnostic
from costmodel.errors import UnsupportedInput, UnsupportedOpWarning
from costmodel.inputs import normalize_inputs
from costmodel.record import record
from costmodel.rules import LintConfig, check
from costmodel.source import class_site
from costmodel.trace import TracedModel, trace
from costmodel.types import Cost, NodeCost, OpKind, Shape, SourceLocation

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console, ConsoleOptions, RenderResult

__all__ = ["CONVENTIONS", "ModuleCost", "Report", "lint", "report"]

#: The units, as printed in every report header and JSON document.
CONVENTIONS: Mapping[str, str] = {
    "flops": "multiply-adds of conv/matmul/attention (1 FMA = 1; torch's FlopCounterMode reports 2x)",
    "elementwise": "element-wise arithmetic (activations, adds, bias, norms, pooling), kept out of FLOPs",
    "mac": "memory access cost: tensor elements read + written per op as eager PyTorch runs it",
    "mac_bytes": "the same traffic in bytes, by dtype",
    "params": "unique parameter elements (shared weights counted once)",
}


@dataclass(frozen=True, slots=True)
class ModuleCost:
    """Costs of one module of the hierarchy, summed over the nodes inside it."""

    path: str
    type: str
    depth: int
    cost: Cost
    params: int
    nodes: int

    @property
    def flops(self) -> int:
        """Multiply-adds."""
        return self.cost.flops

    @property
    def mac(self) -> int:
        """Elements read plus written."""
        return self.cost.mac


@dataclass(frozen=True, slots=True)
class Report:
    """The cost of one model on one input: per node, per module, in total."""

    model: str
    input_shapes: tuple[Shape, ...]
    nodes: tuple[NodeCost, ...]
    unsupported: Mapping[str, int] = field(default_factory=dict)
    opaque: tuple[str, ...] = ()
    unused_parameters: tuple[str, ...] = ()
    module_types: Mapping[str, str] = field(default_factory=dict, repr=False)
    module_sites: Mapping[str, SourceLocation] = field(default_factory=dict, repr=False)
    findings: tuple[Diagnostic, ...] = ()

    # -- totals ---------------------------------------------------------------
    @property
    def total(self) -> Cost:
        """Sum of every node's cost."""
        return sum((n.cost for n in self.nodes), Cost())

    @property
    def flops(self) -> int:
        """Total multiply-adds."""
        return self.total.flops

    @property
    def elementwise(self) -> int:
        """Total element-wise ops."""
        return self.total.elementwise

    @property
    def mac(self) -> int:
        """Total memory access cost, in elements."""
        return self.total.mac

    @property
    def mac_bytes(self) -> int:
        """Total memory access cost, in bytes."""
        return self.total.mac_bytes

    @property
    def params(self) -> int:
        """Unique parameters used by the forward pass."""
        return sum(n.params for n in self.nodes)

    # -- views ----------------------------------------------------------------
    def by_module(self, depth: int = 2) -> tuple[ModuleCost, ...]:
        """Costs rolled up by module path, for every module up to ``depth`` levels deep.

        The first row (path ``""``) is the whole model; rows come in graph order.
        """
        if depth < 0:
            raise ValueError(f"depth must be >= 0, got {depth}")
        sums: dict[str, list[Any]] = {}
        for node in self.nodes:
            parts = node.module_path.split(".") if node.module_path else []
            for level in range(min(depth, len(parts)) + 1):
                path = ".".join(parts[:level])
                entry = sums.setdefault(path, [Cost(), 0, 0])
                entry[0] += node.cost
                entry[1] += node.params
                entry[2] += 1
        return tuple(
            ModuleCost(
                path,
                self.module_types.get(path, self.model if not path else "?"),
                path.count(".") + 1 if path else 0,
                cost,
                params,
                count,
            )
            for path, (cost, params, count) in sums.items()
        )

    def by_kind(self) -> dict[OpKind, Cost]:
        """Costs summed by op kind (conv, elementwise, data, ...), over every op of every node."""
        kinds: dict[OpKind, Cost] = {}
        for node in self.nodes:
            for op in node.ops:
                kinds[op.kind] = kinds.get(op.kind, Cost()) + op.cost
        return kinds

    def with_column(self, name: str, values: Mapping[str, float]) -> Report:
        """A copy with a per-node column added (node name -> value), e.g. measured or predicted time."""
        nodes = tuple(
            replace(n, extras={**n.extras, name: values[n.name]}) if n.name in values else n for n in self.nodes
        )
        return replace(self, nodes=nodes)

    # -- rendering (see costmodel.render) ---------------------------------------
    def table(self, *, depth: int | None = None, max_rows: int | None = None) -> str:
        """Plain-text table: per node, or per module when ``depth`` is given."""
        from costmodel import render

        return render.text(self, depth=depth, max_rows=max_rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: conventions, totals, unsupported ops, nodes."""
        from costmodel import render

        return render.to_dict(self)

    def to_json(self, **kwargs: Any) -> str:
        """``to_dict()`` as a JSON string (keyword arguments go to ``json.dumps``)."""
        import json

        return json.dumps(self.to_dict(), **kwargs)

    def to_dataframe(self, *, depth: int | None = None) -> pd.DataFrame:
        """One row per node (or per module when ``depth`` is given) as a pandas DataFrame."""
        from costmodel import render

        return render.to_dataframe(self, depth=depth)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return (
            f"Report(model={self.model!r}, nodes={len(self.nodes)}, flops={self.flops}, "
            f"params={self.params}, mac={self.mac}, unsupported={len(self.unsupported)})"
        )

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from costmodel import render

        yield from render.rich_renderables(self)

    def _repr_html_(self) -> str:
        from costmodel import render

        return render.html(self)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def report(model: nn.Module, input_shape: Any, *, name: str | None = None, rules: LintConfig | None = None) -> Report:
    """Trace ``model`` and cost every node on inputs of ``input_shape``.

    Args:
        model: Any ``nn.Module``; it is left as it was (weights, training flags, hooks).
        input_shape: A shape like ``(1, 3, 224, 224)``, a list of shapes for several
            inputs, or example tensors (only their shapes and dtypes are used).
        name: Name shown in the report (default: the model's class name).
        rules: Which guideline rules run for ``Report.findings`` and with which
            options (default: all, with their default options).

    Returns:
        The frozen ``Report``.

    Raises:
        UnsupportedInput: ``model`` is not a module, it has no operations, or the
            input description is malformed.
        ShapeError: The input does not fit a layer (the message names it).
        TraceError: A part of the model depends on tensor values.
    """
    return analyse(model, input_shape, name=name, rules=rules)[0]


def analyse(
    model: nn.Module, input_shape: Any, *, name: str | None = None, rules: LintConfig | None = None
) -> tuple[Report, TracedModel]:
    """``report`` and the traced graph it was made from (for callers that run the graph again)."""
    if not isinstance(model, nn.Module):
        raise UnsupportedInput(f"report() expects a torch.nn.Module, got {type(model).__name__}")
    inputs = normalize_inputs(input_shape)
    model_name = name or type(model).__name__
    with _gc_paused():  # the walk makes many short-lived records; collection only slows it
        traced = trace(model)
        costed = annotate(traced, record(traced, inputs))
    if not costed.nodes:
        raise UnsupportedInput(f"model {model_name} has no operations to cost (empty model)")
    if costed.unsupported:
        listed = ", ".join(f"{op} ({count}x)" for op, count in sorted(costed.unsupported.items()))
        warnings.warn(
            f"{model_name}: no cost formula for {listed}; their FLOPs are not counted "
            "(see Report.unsupported, or register one with costmodel.register_cost)",
            UnsupportedOpWarning,
            stacklevel=3,
        )
    classes = {path: type(m) for path, m in model.named_modules()}
    types = {path: cls.__name__ for path, cls in classes.items()}
    rep = Report(
        model=model_name,
        input_shapes=tuple(tuple(x.shape) if hasattr(x, "shape") else x for x in inputs),
        nodes=costed.nodes,
        unsupported=costed.unsupported,
        opaque=tuple(sorted(traced.opaque)),
        unused_parameters=costed.unused_parameters,
        module_types=types,
        module_sites={path: site for path, cls in classes.items() if (site := class_site(cls))},
    )
    return replace(rep, findings=check(rep, rules)), traced


def lint(
    model: nn.Module,
    input_shape: Any,
    *,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    options: Mapping[str, float] | None = None,
    config: LintConfig | None = None,
) -> tuple[Diagnostic, ...]:
    """The guideline findings for ``model``: ``report(...).findings`` with the rules configured here.

    Args:
        model: Any ``nn.Module``.
        input_shape: As for ``report``.
        select: Rule code prefixes to run (default: all).
        ignore: Rule code prefixes to skip.
        options: ``"CODE.option" -> value`` overrides, e.g. ``{"G4.max_share": 0.5}``.
        config: A base configuration (e.g. from ``costmodel.rules.load_config()``).
    """
    merged = (config or LintConfig()).merged(select, ignore, options)
    return report(model, input_shape, rules=merged).findings
