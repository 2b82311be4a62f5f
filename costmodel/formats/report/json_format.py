"""The report as JSON: conventions, totals, unsupported ops, every node and every finding; one array of
reports."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from costmodel.formats.registry import register_format
from costmodel.formats.report.formulas import formula_dict
from costmodel.formats.report.table import TableView
from costmodel.types import CostedGraph, ModuleCost, NodeCost
from costmodel.units import CONVENTIONS
from costmodel.views import activation_memory, completeness

__all__ = ["module_dict", "node_dict", "report_dict", "write"]


def node_dict(node: NodeCost) -> dict[str, Any]:
    """One node's fields, JSON-ready."""
    return {
        "name": node.name,
        "op": node.op,
        "target": node.target,
        "module_path": node.module_path,
        "module_type": node.module_type,
        "kind": node.kind.value,
        "input_shapes": [list(s) for s in node.input_shapes],
        "output_shapes": [list(s) for s in node.output_shapes],
        "flops": node.flops,
        "elementwise": node.elementwise,
        "params": node.params,
        "mac": node.mac,
        "mac_bytes": node.mac_bytes,
        "unsupported": list(node.unsupported),
        "location": str(node.location) if node.location else None,
        "ops": [op.name for op in node.ops],
        **dict(node.extras),
    }


def module_dict(module: ModuleCost) -> dict[str, Any]:
    """One module roll-up's fields, JSON-ready."""
    return {
        "module_path": module.path,
        "type": module.type,
        "depth": module.depth,
        "flops": module.flops,
        "elementwise": module.cost.elementwise,
        "params": module.params,
        "mac": module.mac,
        "mac_bytes": module.cost.mac_bytes,
        "nodes": module.nodes,
        "input_shapes": [list(s) for s in module.input_shapes],
        "output_shapes": [list(s) for s in module.output_shapes],
        **dict(module.extras),
    }


def report_dict(rep: CostedGraph) -> dict[str, Any]:
    """A report as a JSON-ready dict: conventions, totals, unsupported ops, nodes, findings."""
    if rep.symbols:
        return formula_dict(rep)
    memory = activation_memory(rep)
    predicted = [n.extras["predicted_ms"] for n in rep.nodes if "predicted_ms" in n.extras]
    return {
        "model": rep.model,
        "input_shapes": [list(s) for s in rep.input_shapes],
        "conventions": dict(CONVENTIONS),
        "totals": {
            "flops": rep.flops,
            "elementwise": rep.elementwise,
            "params": rep.params,
            "mac": rep.mac,
            "mac_bytes": rep.mac_bytes,
            "frozen_params": rep.frozen_params,
            "activation_peak_bytes": memory.peak_bytes,
            "activation_written_bytes": memory.written_bytes,
            **({"predicted_ms": sum(predicted)} if predicted else {}),
        },
        "unsupported": dict(rep.unsupported),
        "lower_bound": completeness(rep).lower_bound,
        "notes": list(rep.notes),
        "on_values": rep.on_values,
        "unused_parameters": list(rep.unused_parameters),
        "nodes": [node_dict(n) for n in rep.nodes],
        "findings": [f.to_dict() for f in getattr(rep, "findings", ())],
    }


@register_format("report", "json", "one JSON array, an object per model: totals, nodes, findings (for diff)")
def write(reports: Sequence[CostedGraph], view: TableView) -> str:
    """Every report in one JSON array (the view does not apply: every node is listed)."""
    return json.dumps([report_dict(rep) for rep in reports], indent=2) + "\n"
