"""A report of named input sizes as text and JSON: each total, and each module's, as a formula of the sizes."""

from __future__ import annotations

from typing import Any

from costmodel.types import CostedGraph
from costmodel.views import activation_memory, by_module

__all__ = ["formula_dict", "formula_text"]

#: The figures shown, as (attribute, label).
_FIGURES = (("flops", "FLOPs"), ("elementwise", "elementwise"), ("params", "params"), ("mac", "MAC"),
            ("mac_bytes", "MAC bytes"))  # fmt: skip


def _shape(shape: tuple[Any, ...]) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def formula_text(rep: CostedGraph, depth: int | None = None) -> str:
    """The totals as formulas, then every module to ``depth`` (default 1) with its FLOPs and MAC."""
    sizes = ", ".join(rep.symbols)
    lines = [f"{rep.model} on input {', '.join(_shape(s) for s in rep.input_shapes)}: costs as formulas of {sizes}"]
    lines += [f"  {label} = {getattr(rep, attribute)}" for attribute, label in _FIGURES]
    memory = activation_memory(rep)
    lines += [
        f"  activations written = {memory.written_bytes} bytes",
        f"  activations peak = {memory.peak_bytes} bytes",
    ]
    lines += [f"note: {note}" for note in rep.notes]
    lines.append(f"by module, to depth {1 if depth is None else depth}:")
    for module in by_module(rep, 1 if depth is None else depth)[1:]:
        lines.append(f"  {'  ' * (module.depth - 1)}{module.path} ({module.type}): FLOPs = {module.flops}; "
                     f"MAC = {module.mac}")  # fmt: skip
    example = ", ".join(f"{name}=..." for name in rep.symbols)
    lines.append(f"numbers, findings and predicted time at given sizes: Report.at({example})")
    return "\n".join(lines) + "\n"


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | float) else str(value)


def formula_dict(rep: CostedGraph) -> dict[str, Any]:
    """A report of formulas, JSON-ready: the sizes, each total and each node's figures as strings."""
    return {
        "model": rep.model,
        "symbols": list(rep.symbols),
        "input_shapes": [[_plain(d) for d in s] for s in rep.input_shapes],
        "totals": {
            **{attribute: _plain(getattr(rep, attribute)) for attribute, _ in _FIGURES},
            "activation_peak_bytes": _plain(activation_memory(rep).peak_bytes),
            "activation_written_bytes": _plain(activation_memory(rep).written_bytes),
        },
        "notes": list(rep.notes),
        "nodes": [
            {
                "name": node.name,
                "module_path": node.module_path,
                "target": node.target,
                **{attribute: _plain(getattr(node, attribute)) for attribute, _ in _FIGURES},
            }
            for node in rep.nodes
        ],
    }
