"""``Report``: the frozen result of an analysis (a costed graph plus its findings), with its views as methods.

Built once by ``costmodel.analysis``. The views are computed in ``costmodel.views``
(roll-ups, liveness) and written by the report formats (``costmodel.formats.report``):
the methods here only call them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from costmodel.records import record
from costmodel.types import ActivationMemory, Cost, CostedGraph, Diagnostic, ModuleCost, OpKind
from costmodel.units import CONVENTIONS

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console, ConsoleOptions, RenderResult
    from torch import fx, nn

__all__ = ["CONVENTIONS", "ModuleCost", "Report"]


@record
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

    # -- views (costmodel.views: loaded when a view is first asked for, not to build a report) ------------
    def by_module(self, depth: int = 2) -> tuple[ModuleCost, ...]:
        """Costs rolled up by module path, for every module up to ``depth`` levels deep (the first is the model)."""
        from costmodel.views.rollup import by_module

        return by_module(self, depth)

    def by_kind(self) -> dict[OpKind, Cost]:
        """Costs summed by op kind (conv, elementwise, data, ...), over every op of every node."""
        from costmodel.views.rollup import by_kind

        return by_kind(self)

    def column_by_kind(self, column: str) -> dict[OpKind, float]:
        """A per-node column (``predicted_ms``, ``time_ms``) summed by each node's kind."""
        from costmodel.views.rollup import column_by_kind

        return column_by_kind(self, column)

    def activation_memory(self) -> ActivationMemory:
        """Activation bytes of one inference run in graph order, each output freed after its last reader."""
        from costmodel.views.liveness import activation_memory

        return activation_memory(self)

    # -- formats (costmodel.formats.report) ---------------------------------------
    def at(self, **sizes: int) -> Report:
        """The numeric report of a symbolic one at these sizes (``r.at(B=1, H=224, W=224)``): every op priced
        again, findings and predicted time as a numeric report has them."""
        source = self.symbolic_source
        if source is None or source.recount is None:
            raise ValueError(f"at() is for a report of named sizes; {self.model}'s sizes are numbers already")
        return source.recount(sizes)  # type: ignore[no-any-return]

    def to_fx(self, model: nn.Module | None = None) -> fx.GraphModule:
        """The report as a ``torch.fx.GraphModule``: a node per report node with its ``NodeCost`` in
        ``node.meta["cost"]`` (and ``meta["predicted_ms"]`` with a profile), the report's data flow as edges;
        ``model`` gives the layers of its ``call_module`` nodes (empty stand-ins without it)."""
        from costmodel.formats.report.fx_graph import to_fx  # torch.fx only when asked for

        return to_fx(self, model)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: conventions, totals, unsupported ops, nodes, findings."""
        from costmodel.formats.report import json_format  # the formats load when a report is written

        return json_format.report_dict(self)

    def to_json(self, **kwargs: Any) -> str:
        """``to_dict()`` as a JSON string (keyword arguments go to ``json.dumps``)."""
        return json.dumps(self.to_dict(), **kwargs)

    def to_dataframe(self, *, depth: int | None = None) -> pd.DataFrame:
        """One row per node (or per module when ``depth`` is given) as a pandas DataFrame."""
        from costmodel.formats.report import csv_format

        return csv_format.dataframe(self, depth)

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

        ``sort`` ("flops", "elementwise", "mac", "params", "time") orders rows largest first and ``top``
        keeps that many; ``width`` (characters) drops and shortens columns to fit a terminal.
        """
        from costmodel.formats.report.table import SORT_KEYS, TableView, text

        if sort is not None and sort not in SORT_KEYS:
            raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}, got {sort!r}")
        view = TableView(depth=depth, sort=sort, top=top, max_rows=max_rows, width=width)
        return text(self, self.findings, view)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return (
            f"Report(model={self.model!r}, nodes={len(self.nodes)}, flops={self.flops}, "
            f"params={self.params}, mac={self.mac}, unsupported={len(self.unsupported)})"
        )

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from costmodel.formats.report import rich_format

        yield from rich_format.renderables(self, self.findings)

    def _repr_html_(self) -> str:
        from costmodel.formats.report import html_format

        return html_format.html(self, self.findings)


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
