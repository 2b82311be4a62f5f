"""``Report``: the frozen result of an analysis (a costed graph plus its findings) and its views.

Built once by ``costmodel.analysis``. Its data views (``by_module``, ``by_kind``,
``with_column``, ``to_dict``, ``to_json``, ``to_dataframe``) live here; text, rich
and HTML rendering live in ``costmodel.render``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from costmodel import render
from costmodel.types import CONVENTIONS, CostedGraph, Diagnostic, ModuleCost, NodeCost

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console, ConsoleOptions, RenderResult

__all__ = ["CONVENTIONS", "ModuleCost", "Report"]


def _node_dict(node: NodeCost) -> dict[str, Any]:
    return {
        "name": node.name,
        "op": node.op,
        "target": node.target,
        "module": node.module_path,
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


def _module_dict(module: ModuleCost) -> dict[str, Any]:
    return {
        "module": module.path,
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


@dataclass(frozen=True, slots=True)
class Report(CostedGraph):
    """The cost of one model on one input: per node, per module (``by_module``), in total, and its findings.

    Totals (``flops``, ``mac``, ``params``, ...) and roll-ups come from
    ``CostedGraph``; see ``costmodel.types`` for the units.
    """

    findings: tuple[Diagnostic, ...] = ()

    @classmethod
    def of(cls, graph: CostedGraph, findings: tuple[Diagnostic, ...] = ()) -> Report:
        """The report of a costed graph with its findings (the graph's fields shared, its totals too)."""
        return _shared(cls, graph, findings=findings)

    @property
    def predicted_ms(self) -> float | None:
        """Predicted milliseconds of one inference on the device profile given to ``report`` (``None`` without)."""
        return self.column_total("predicted_ms")

    def column_total(self, name: str) -> float | None:
        """The sum of a per-node column over the nodes that have it (``None`` if none has)."""
        values = [n.extras[name] for n in self.nodes if name in n.extras]
        return sum(values) if values else None

    def with_column(self, name: str, values: Mapping[str, float]) -> Report:
        """A copy with a per-node column added (node name -> value), e.g. measured or predicted time."""
        nodes = tuple(n.with_extra(name, values[n.name]) if n.name in values else n for n in self.nodes)
        return _shared(type(self), self, nodes=nodes)  # the nodes' costs, and so the totals, are unchanged

    # -- data views -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: conventions, totals, unsupported ops, nodes, findings."""
        memory = self.activation_memory()
        return {
            "model": self.model,
            "input_shapes": [list(s) for s in self.input_shapes],
            "conventions": dict(CONVENTIONS),
            "totals": {
                "flops": self.flops,
                "elementwise": self.elementwise,
                "params": self.params,
                "mac": self.mac,
                "mac_bytes": self.mac_bytes,
                "frozen_params": self.frozen_params,
                "activation_peak_bytes": memory.peak_bytes,
                "activation_written_bytes": memory.written_bytes,
                **({"predicted_ms": self.predicted_ms} if self.predicted_ms is not None else {}),
            },
            "unsupported": dict(self.unsupported),
            "on_values": self.on_values,
            "unused_parameters": list(self.unused_parameters),
            "nodes": [_node_dict(n) for n in self.nodes],
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_json(self, **kwargs: Any) -> str:
        """``to_dict()`` as a JSON string (keyword arguments go to ``json.dumps``)."""
        return json.dumps(self.to_dict(), **kwargs)

    def to_dataframe(self, *, depth: int | None = None) -> pd.DataFrame:
        """One row per node (or per module when ``depth`` is given) as a pandas DataFrame."""
        import pandas as pd

        if depth is None:
            return pd.DataFrame([_node_dict(n) for n in self.nodes])
        return pd.DataFrame([_module_dict(m) for m in self.by_module(depth)])

    # -- rendering (costmodel.render) -------------------------------------------
    def table(
        self,
        *,
        depth: int | None = None,
        max_rows: int | None = None,
        sort: str | None = None,
        top: int | None = None,
        width: int | None = None,
    ) -> str:
        """Plain-text table: per node, or per module when ``depth`` is given.

        ``sort`` ("flops", "mem-access", "params", "time") orders rows largest first and ``top``
        keeps that many; ``width`` (characters) drops and shortens columns to fit a terminal.
        """
        if sort is not None and sort not in render.SORT_KEYS:
            raise ValueError(f"sort must be one of {', '.join(render.SORT_KEYS)}, got {sort!r}")
        view = render.TableView(depth=depth, sort=sort, top=top, max_rows=max_rows, width=width)
        return render.text(self, self.findings, view)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return (
            f"Report(model={self.model!r}, nodes={len(self.nodes)}, flops={self.flops}, "
            f"params={self.params}, mac={self.mac}, unsupported={len(self.unsupported)})"
        )

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from render.rich_renderables(self, self.findings)

    def _repr_html_(self) -> str:
        return render.html(self, self.findings)


#: (slot, its setter) of every field of a ``Report``, its base's included (the summed totals too).
_REPORT_SLOTS = tuple(
    (slot, cls.__dict__[slot].__set__) for cls in Report.__mro__ for slot in getattr(cls, "__slots__", ()) if slot
)


def _shared(cls: type[Report], source: CostedGraph, **changed: Any) -> Report:
    """A report whose fields are ``source``'s but those ``changed``: a direct copy, no field frozen or summed again
    (``source``'s already were)."""
    report = object.__new__(cls)
    for slot, set_slot in _REPORT_SLOTS:
        set_slot(report, changed[slot] if slot in changed else getattr(source, slot))
    return report
