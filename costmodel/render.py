"""Rendering at the edge: a costed graph and its findings as plain text, rich tables and HTML.

It reads records only (``costmodel.types``), so ``Report`` can call it without an
import circle. rich is imported here, lazily, so the core never loads it.
"""

from __future__ import annotations

import html as html_lib
import io
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from costmodel.types import CONVENTIONS, CostedGraph, Diagnostic, NodeCost, Shape, human

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["html", "rich_renderables", "text"]


def _shapes(shapes: Sequence[Shape]) -> str:
    return ", ".join("[" + ", ".join(map(str, s)) + "]" for s in shapes)


def _header(rep: CostedGraph, findings: Sequence[Diagnostic]) -> list[str]:
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
    predicted = [n.extras["predicted_ms"] for n in rep.nodes if "predicted_ms" in n.extras]
    if predicted:
        lines.append(
            f"predicted {sum(predicted):.3f} ms per inference (eager PyTorch on the device profile's threads and "
            "dtype; column predicted_ms)"
        )
    if rep.unused_parameters:
        lines.append(f"parameters not used by forward: {len(rep.unused_parameters)} tensors (not in params)")
    if findings:
        counts = Counter(f.code for f in findings)
        lines.append("guideline findings: " + ", ".join(f"{code} x{n}" for code, n in sorted(counts.items())))
    return lines


_NODE_COLUMNS = ("node", "module", "op", "kind", "input", "output", "FLOPs", "elementwise", "params", "MAC")
_MODULE_COLUMNS = ("module", "type", "FLOPs", "elementwise", "params", "MAC", "MAC bytes")


def _extras(rep: CostedGraph) -> list[str]:
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


def _rows(rep: CostedGraph, depth: int | None, max_rows: int | None) -> tuple[list[str], list[list[str]]]:
    if depth is None:
        extras = _extras(rep)
        rows = [_node_row(n, extras) for n in rep.nodes if _shown(n)]
        columns = [*_NODE_COLUMNS, *extras]
    else:
        extras = _extras(rep)
        columns = [*_MODULE_COLUMNS, *extras]
        rows = [
            [
                "  " * m.depth + (m.path or "<model>"),
                m.type,
                human(m.flops),
                human(m.cost.elementwise),
                human(m.params),
                human(m.mac),
                human(m.cost.mac_bytes),
                *(f"{m.extras[e]:.4g}" if e in m.extras else "" for e in extras),
            ]
            for m in rep.by_module(depth)
        ]
    if max_rows is not None and len(rows) > max_rows:
        rows = [*rows[:max_rows], ["..."] * len(columns)]
    return columns, rows


def _table(rep: CostedGraph, depth: int | None = None, max_rows: int | None = None) -> Table:
    from rich import box
    from rich.table import Table

    columns, rows = _rows(rep, depth, max_rows)
    table = Table(box=box.SIMPLE_HEAD, show_footer=False)
    numeric = {"FLOPs", "elementwise", "params", "MAC", "MAC bytes"}
    for column in columns:
        table.add_column(
            column, justify="right" if column in numeric or column.endswith("_ms") else "left", overflow="fold"
        )
    for row in rows:
        table.add_row(*row)
    return table


def rich_renderables(
    rep: CostedGraph, findings: Sequence[Diagnostic] = (), depth: int | None = None, max_rows: int | None = None
) -> Iterator[Any]:
    """Header lines, the table and the findings, for ``rich.print(report)``."""
    from rich.text import Text

    for line in _header(rep, findings):
        yield Text(line)
    yield _table(rep, depth, max_rows)
    for finding in findings:
        yield Text(f"{finding.code} [{finding.module or '<model>'}] {finding.message}")


def text(
    rep: CostedGraph,
    findings: Sequence[Diagnostic] = (),
    *,
    depth: int | None = None,
    max_rows: int | None = None,
    width: int = 200,
) -> str:
    """The costed graph and its findings as plain text (no colour codes)."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False, soft_wrap=False)
    for renderable in rich_renderables(rep, findings, depth, max_rows):
        console.print(renderable)
    return buffer.getvalue()


def _html_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html_lib.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html_lib.escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html(rep: CostedGraph, findings: Sequence[Diagnostic] = ()) -> str:
    """HTML for Jupyter: the header, the per-module table (depth 2), then the node table folded."""
    header = "<br>".join(html_lib.escape(line) for line in _header(rep, findings))
    modules = _html_table(*_rows(rep, 2, None))
    columns, rows = _rows(rep, None, None)
    return (
        f"<div><p>{header}</p><h4>By module</h4>{modules}"
        f"<details><summary>{len(rows)} nodes</summary>{_html_table(columns, rows)}</details></div>"
    )
