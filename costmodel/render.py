"""Rendering of a ``Report``: plain text and rich tables, HTML for Jupyter, dicts, DataFrames.

rich and pandas are imported here, lazily, so the core never loads them.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from costmodel.types import NodeCost, Shape

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from costmodel.report import Report

__all__ = ["human", "rich_renderables", "text", "to_dataframe", "to_dict"]

_UNITS = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K"))


def human(value: float) -> str:
    """A count with an SI suffix: 146_000_000 -> '146.00M'."""
    for scale, suffix in _UNITS:
        if abs(value) >= scale:
            return f"{value / scale:.2f}{suffix}"
    return f"{value:g}"


def _shapes(shapes: Sequence[Shape]) -> str:
    return ", ".join("[" + ", ".join(map(str, s)) + "]" for s in shapes)


def _header(rep: Report) -> list[str]:
    from costmodel.report import CONVENTIONS

    lines = [
        f"{rep.model} on input {_shapes(rep.input_shapes)}",
        f"FLOPs {human(rep.flops)}  element-wise {human(rep.elementwise)}  params {human(rep.params)}  "
        f"MAC {human(rep.mac)} ({human(rep.mac_bytes)}B)",
        *(f"  {key}: {text}" for key, text in CONVENTIONS.items()),
    ]
    if rep.unsupported:
        listed = ", ".join(f"{op} x{count}" for op, count in sorted(rep.unsupported.items()))
        lines.append(f"UNSUPPORTED (FLOPs not counted): {listed}")
    if rep.opaque:
        lines.append(
            "costed at the ATen level (fx could not trace inside): " + ", ".join(p or "<model>" for p in rep.opaque)
        )
    if rep.unused_parameters:
        lines.append(f"parameters not used by forward: {len(rep.unused_parameters)} tensors (not in params)")
    if rep.findings:
        counts = Counter(f.code for f in rep.findings)
        lines.append("guideline findings: " + ", ".join(f"{code} x{n}" for code, n in sorted(counts.items())))
    return lines


_NODE_COLUMNS = ("node", "module", "op", "kind", "input", "output", "FLOPs", "elementwise", "params", "MAC")
_MODULE_COLUMNS = ("module", "type", "FLOPs", "elementwise", "params", "MAC", "MAC bytes")


def _extras(rep: Report) -> list[str]:
    names: dict[str, None] = {}
    for node in rep.nodes:
        names.update(dict.fromkeys(node.extras))
    return list(names)


def _node_row(node: NodeCost, extras: Sequence[str]) -> list[str]:
    mark = " *" if node.opaque else ""
    return [
        node.name,
        (node.module_path or "-") + mark,
        node.target,
        node.kind.value,
        _shapes(node.input_shapes),
        _shapes(node.output_shapes),
        human(node.flops),
        human(node.elementwise),
        human(node.params),
        human(node.mac),
        *(f"{node.extras[e]:.4g}" if e in node.extras else "" for e in extras),
    ]


def _shown(node: NodeCost) -> bool:
    """Tables skip attribute fetches and shape arithmetic (``x.shape``): nodes with no op and no tensor out."""
    return node.op != "get_attr" and bool(node.ops or node.output_shapes or node.params)


def _rows(rep: Report, depth: int | None, max_rows: int | None) -> tuple[list[str], list[list[str]]]:
    if depth is None:
        extras = _extras(rep)
        rows = [_node_row(n, extras) for n in rep.nodes if _shown(n)]
        columns = [*_NODE_COLUMNS, *extras]
    else:
        columns = list(_MODULE_COLUMNS)
        rows = [
            [
                "  " * m.depth + (m.path or "<model>"),
                m.type,
                human(m.flops),
                human(m.cost.elementwise),
                human(m.params),
                human(m.mac),
                human(m.cost.mac_bytes),
            ]
            for m in rep.by_module(depth)
        ]
    if max_rows is not None and len(rows) > max_rows:
        rows = [*rows[:max_rows], ["..."] * len(columns)]
    return columns, rows


def _table(rep: Report, depth: int | None = None, max_rows: int | None = None) -> Table:
    from rich import box
    from rich.table import Table

    columns, rows = _rows(rep, depth, max_rows)
    table = Table(box=box.SIMPLE_HEAD, show_footer=False)
    numeric = {"FLOPs", "elementwise", "params", "MAC", "MAC bytes"}
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def rich_renderables(rep: Report, depth: int | None = None, max_rows: int | None = None) -> Iterator[Any]:
    """Header lines and the table, for ``rich.print(report)``."""
    from rich.text import Text

    for line in _header(rep):
        yield Text(line)
    yield _table(rep, depth, max_rows)
    for finding in rep.findings:
        yield Text(f"{finding.code} [{finding.module or '<model>'}] {finding.message}")


def text(rep: Report, *, depth: int | None = None, max_rows: int | None = None, width: int = 200) -> str:
    """The report as plain text (no colour codes)."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False, soft_wrap=False)
    for renderable in rich_renderables(rep, depth, max_rows):
        console.print(renderable)
    return buffer.getvalue()


def html(rep: Report) -> str:
    """HTML for Jupyter: the header and the per-module table (depth 2), then the node table."""
    import html as html_lib

    header = "<br>".join(html_lib.escape(line) for line in _header(rep))
    frame = to_dataframe(rep, depth=2)
    nodes = to_dataframe(rep)
    return (
        f"<div><p>{header}</p><h4>By module</h4>{frame.to_html(index=False)}"
        f"<details><summary>{len(nodes)} nodes</summary>{nodes.to_html(index=False)}</details></div>"
    )


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
        "opaque": node.opaque,
        "unsupported": list(node.unsupported),
        "location": str(node.location) if node.location else None,
        "ops": [op.name for op in node.ops],
        **dict(node.extras),
    }


def to_dict(rep: Report) -> dict[str, Any]:
    """JSON-ready dict of the whole report."""
    from costmodel.report import CONVENTIONS

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
        },
        "unsupported": dict(rep.unsupported),
        "opaque": list(rep.opaque),
        "unused_parameters": list(rep.unused_parameters),
        "nodes": [_node_dict(n) for n in rep.nodes],
        "findings": [f.to_dict() for f in rep.findings],
    }


def to_dataframe(rep: Report, *, depth: int | None = None) -> pd.DataFrame:
    """A DataFrame per node (list columns kept as lists) or per module when ``depth`` is given."""
    import pandas as pd

    if depth is None:
        return pd.DataFrame([_node_dict(n) for n in rep.nodes])
    return pd.DataFrame(
        [
            {
                "module": m.path,
                "type": m.type,
                "depth": m.depth,
                "flops": m.flops,
                "elementwise": m.cost.elementwise,
                "params": m.params,
                "mac": m.mac,
                "mac_bytes": m.cost.mac_bytes,
                "nodes": m.nodes,
            }
            for m in rep.by_module(depth)
        ]
    )
