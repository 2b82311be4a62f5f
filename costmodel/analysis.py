"""The one analysis pipeline: inputs -> costed graph -> findings -> ``Report``, each built once.

normalize_inputs (graph.inputs)  ->  cost_graph (graph)  ->  run_rules (rules)  ->  Report.of (report)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from costmodel.device.predict import PREDICTED, GraphTime, predict
from costmodel.device.profile import DeviceProfile
from costmodel.errors import UnsupportedInput
from costmodel.graph import cost_graph, gc_paused
from costmodel.graph.inputs import normalize_inputs
from costmodel.report_record import Report
from costmodel.rules import LintConfig, run_rules
from costmodel.types import Diagnostic
from costmodel.units import milliseconds

__all__ = ["lint", "report"]


def _model(model: Any, caller: str) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise UnsupportedInput(f"{caller}() expects a torch.nn.Module, got {type(model).__name__}")
    return model


def report(
    model: nn.Module,
    input_shape: Any,
    *,
    name: str | None = None,
    rules: LintConfig | None = None,
    profile: DeviceProfile | None = None,
    device: DeviceProfile | None = None,
) -> Report:
    """Trace ``model`` and cost every node on inputs of ``input_shape``, then run the guideline rules.

    Args:
        model: Any ``nn.Module``; it is left as it was (weights, training flags, hooks).
        input_shape: A shape like ``(1, 3, 224, 224)``, a list of shapes for several
            inputs, or example tensors (only their shapes and dtypes are used).
        name: Name shown in the report (default: the model's class name).
        rules: Which guideline rules run for ``Report.findings`` and with which
            options (default: all, with their default options).
        profile: A calibrated ``DeviceProfile``: adds the ``predicted_ms`` column
            (``Report.predicted_ms`` in total) and states each finding's predicted
            time and saving on that device (``--profile`` on the command line).
        device: The same as ``profile`` (its name before 0.3).

    Returns:
        The frozen ``Report``.

    Raises:
        UnsupportedInput: ``model`` is not a module, it has no operations, or the
            input description is malformed.
        ShapeError: The input does not fit a layer (the message names it).
        TraceError: A part of the model depends on tensor values.
    """
    model = _model(model, "report")
    inputs = normalize_inputs(input_shape, model)
    device = profile if profile is not None else device
    with gc_paused():
        graph, _ = cost_graph(model, inputs, name or type(model).__name__)
        if device is None:
            return Report.of(graph, run_rules(graph, rules))
        time = GraphTime(device)  # each op priced once, for the column and the rules alike
        seconds = predict(time, graph)
        findings = run_rules(graph, rules, time, sum(seconds.values()))  # shares of the report's own total
        return Report.of(graph, findings).with_column(PREDICTED, {n: milliseconds(s) for n, s in seconds.items()})


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
    model = _model(model, "lint")
    with gc_paused():
        graph, _ = cost_graph(model, normalize_inputs(input_shape, model), type(model).__name__)
        return run_rules(graph, merged)
