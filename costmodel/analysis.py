"""The one analysis pipeline: inputs -> costed graph -> findings -> ``Report``, each built once.

normalize_inputs (graph.inputs)  ->  cost_graph (graph)  ->  run_rules (rules)  ->  Report.of (report)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from torch import nn

from costmodel.errors import UnsupportedInput
from costmodel.graph import cost_exported, cost_graph, cost_symbolic, gc_paused, graph_at, is_exported_program
from costmodel.graph.inputs import normalize_inputs, symbol_names
from costmodel.report_record import Report
from costmodel.rules import LintConfig, run_rules
from costmodel.types import CostedGraph, Diagnostic
from costmodel.units import milliseconds

if TYPE_CHECKING:
    from costmodel.device.profile import DeviceProfile

__all__ = ["lint", "report"]


def _model(model: Any, caller: str) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise UnsupportedInput(
            f"{caller}() expects a torch.nn.Module or a torch.export.ExportedProgram, got {type(model).__name__}"
        )
    return model


def _costed(model: Any, input_shape: Any, name: str | None, caller: str) -> CostedGraph:
    """The costed graph of a module (run on ``input_shape``) or of an exported program (read from its graph;
    ``input_shape``, if given, must be the shapes it was exported with)."""
    if is_exported_program(model):
        graph = cost_exported(model, name or _program_name(model))
        if input_shape is not None:
            given = normalize_inputs(input_shape, nn.Module()).shapes
            if given != graph.input_shapes:
                raise UnsupportedInput(
                    f"{caller}(): the exported program takes {list(map(list, graph.input_shapes))}, got "
                    f"{list(map(list, given))}: export it at these shapes (or with dynamic shapes)"
                )
        return graph
    model = _model(model, caller)
    if input_shape is None:
        raise UnsupportedInput(f"{caller}() needs input_shape for a module (only an exported program has its own)")
    if symbol_names(input_shape):
        return cost_symbolic(model, input_shape, name or type(model).__name__)
    graph, _ = cost_graph(model, normalize_inputs(input_shape, model), name or type(model).__name__)
    return graph


def _program_name(program: Any) -> str:
    """An exported program's model class, from its graph's outermost module entry."""
    for node in program.graph.nodes:
        for path, kind in (node.meta.get("nn_module_stack") or {}).values():
            if path == "":
                return str(getattr(kind, "__name__", kind)).rsplit(".", 1)[-1]
    return "ExportedProgram"


def report(
    model: nn.Module | Any,
    input_shape: Any = None,
    *,
    name: str | None = None,
    rules: LintConfig | None = None,
    profile: DeviceProfile | None = None,
    device: DeviceProfile | None = None,
) -> Report:
    """Trace ``model`` and cost every node on inputs of ``input_shape``, then run the guideline rules.

    Args:
        model: Any ``nn.Module`` (a ``torch.fx.GraphModule`` too); it is left as it was (weights, training
            flags, hooks). Or a ``torch.export.ExportedProgram``: costed from its graph, nothing run.
        input_shape: A shape like ``(1, 3, 224, 224)``, a list of shapes for several
            inputs, or example tensors (only their shapes and dtypes are used). Optional for an exported
            program (it has its own).
        name: Name shown in the report (default: the model's class name).
        rules: Which guideline rules run for ``Report.findings`` and with which
            options (default: all, with their default options).
        profile: A calibrated ``DeviceProfile``: adds the ``predicted_ms`` column
            (``Report.predicted_ms`` in total) and states each finding's predicted
            time and saving on that device (``--profile`` on the command line).
        device: The same as ``profile`` (its older name).

    Returns:
        The frozen ``Report``.

    Raises:
        UnsupportedInput: ``model`` is not a module, it has no operations, or the
            input description is malformed.
        ShapeError: The input does not fit a layer (the message names it).
        TraceError: A part of the model depends on tensor values.
    """
    device = profile if profile is not None else device
    with gc_paused():
        graph = _costed(model, input_shape, name, "report")
        if graph.symbols:
            return _symbolic_report(graph, rules, device)
        return _finished(graph, rules, device)


def _finished(graph: CostedGraph, rules: LintConfig | None, profile: DeviceProfile | None) -> Report:
    """The report of a numeric costed graph: its findings and, with a profile, its predicted time."""
    if profile is None:
        return Report.of(graph, run_rules(graph, rules))
    from costmodel.device.predict import PREDICTED, GraphTime, predict  # the device part only with a profile

    time = GraphTime(profile)  # each op priced once, for the column and the rules alike
    seconds = predict(time, graph)
    findings = run_rules(graph, rules, time, sum(seconds.values()))  # shares of the report's own total
    return Report.of(graph, findings).with_column(PREDICTED, {n: milliseconds(s) for n, s in seconds.items()})


def _symbolic_report(graph: CostedGraph, rules: LintConfig | None, profile: DeviceProfile | None) -> Report:
    """A report of formulas: no findings (the rules compare numbers); ``Report.at`` gives the numeric report
    of given sizes, with its findings and, with a profile, its predicted time."""

    def recount(sizes: dict[str, int]) -> Report:
        return _finished(graph_at(graph, sizes), rules, profile)

    source = dataclasses.replace(graph.symbolic_source, recount=recount)
    return Report.of(dataclasses.replace(graph, symbolic_source=source))


def lint(
    model: nn.Module | Any,
    input_shape: Any = None,
    *,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    options: Mapping[str, float] | None = None,
    config: LintConfig | None = None,
) -> tuple[Diagnostic, ...]:
    """The guideline findings for ``model``: ``report(...).findings`` with the rules configured here.

    Args:
        model: Any ``nn.Module``, or a ``torch.export.ExportedProgram``.
        input_shape: As for ``report``.
        select: Rule code prefixes to run (default: all).
        ignore: Rule code prefixes to skip.
        options: ``"CODE.option" -> value`` overrides, e.g. ``{"G4.max_share": 0.5}``.
        config: A base configuration (e.g. from ``costmodel.rules.load_config()``).
    """
    merged = (config or LintConfig()).merged(select, ignore, options)
    with gc_paused():
        graph = _costed(model, input_shape, None, "lint")
        if graph.symbols:
            raise UnsupportedInput(f"lint() compares numbers: give sizes for {', '.join(graph.symbols)}")
        return run_rules(graph, merged)
