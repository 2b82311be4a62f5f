"""Rendering at the edge: a costed graph and its findings as plain text, rich tables and HTML.

It reads records only (``costmodel.types``), so ``Report`` can call it without an
import circle. rich is imported here, lazily, so the core never loads it. Plain
text fits a given width (a terminal's) by dropping the least needed columns, then
shortening names; without a width (files, pipes) every column is kept whole.
"""

from __future__ import annotations

import html as html_lib
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from costmodel.findings import group_findings
from costmodel.types import CONVENTIONS, CostedGraph, Diagnostic, ModuleCost, NodeCost, Shape, human

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["SORT_KEYS", "TableView", "html", "rich_renderables", "text"]

Record = NodeCost | ModuleCost


def _time(record: Record) -> float:
    """The record's time column: predicted, else measured (milliseconds; 0 without either)."""
    extras = record.extras
    return float(extras.get("predicted_ms", extras.get("time_ms", 0.0)))


#: What a table can be sorted by (and its share column is of), with the column title of each.
SORT_KEYS: dict[str, tuple[str, Callable[[Record], float]]] = {
    "flops": ("FLOPs", lambda r: r.flops),
    "mem-access": ("mem access", lambda r: r.mac),
    "params": ("params", lambda r: r.params),
    "time": ("time", _time),
}


@dataclass(frozen=True, slots=True)
class TableView:
    """How to show a table: rolled up to ``depth`` (``None``: every node), sorted by a ``SORT_KEYS`` key
    (largest first) and cut to the ``top`` rows, at most ``max_rows`` rows, fit to ``width`` columns
    (``None``: as wide as the content)."""

    depth: int | None = None
    sort: str | None = None
    top: int | None = None
    max_rows: int | None = None
    width: int | None = None


@dataclass(frozen=True, slots=True)
class _Column:
    title: str
    numeric: bool = True
    #: Order in which columns go when the table is too wide (lowest first); 0: kept always.
    drop: int = 0


def _shapes(shapes: Sequence[Shape]) -> str:
    return ", ".join("[" + ", ".join(map(str, s)) + "]" for s in shapes)


def _share_key(rep: CostedGraph, view: TableView) -> str:
    """The sort key, else time where a time column exists, else FLOPs."""
    if view.sort:
        return view.sort
    return "time" if any("predicted_ms" in n.extras or "time_ms" in n.extras for n in rep.nodes) else "flops"


def _header(rep: CostedGraph, findings: Sequence[Diagnostic]) -> list[str]:
    memory = rep.activation_memory()
    frozen = f", {human(rep.frozen_params)} frozen" if rep.frozen_params else ""
    lines = [
        f"{rep.model} on input {_shapes(rep.input_shapes)}",
        f"FLOPs {human(rep.flops)}  element-wise {human(rep.elementwise)}  params {human(rep.params)}{frozen}  "
        f"memory access {human(rep.mac)} elements ({human(rep.mac_bytes)}B)  "
        f"activations {human(memory.peak_bytes)}B peak, {human(memory.written_bytes)}B written",
        *(f"  {key}: {text}" for key, text in CONVENTIONS.items()),
    ]
    if rep.unsupported:
        listed = ", ".join(f"{op} x{count}" for op, count in sorted(rep.unsupported.items()))
        lines.append(f"UNSUPPORTED (FLOPs not counted): {listed}")
    if rep.on_values:
        lines.append(
            f"ran on example values with the real weights: {rep.on_values} depends on tensor values "
            "(costs are of the branches these values took)"
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


def _extras(rep: CostedGraph) -> list[str]:
    names: dict[str, None] = {}
    for node in rep.nodes:
        names.update(dict.fromkeys(node.extras))
    return list(names)


def _shown(node: NodeCost) -> bool:
    """Tables skip attribute fetches and shape arithmetic (``x.shape``): nodes with no op and no tensor out."""
    return node.op != "get_attr" and bool(node.ops or node.output_shapes or node.params)


def _percent(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def _node_cells(node: NodeCost) -> list[str]:
    return [
        node.name,
        node.module_path or "-",
        node.target,
        node.kind.value,
        _shapes(node.input_shapes),
        _shapes(node.output_shapes),
        human(node.flops),
        human(node.elementwise),
        human(node.params),
        human(node.mac),
    ]


def _module_cells(module: ModuleCost, indent: bool) -> list[str]:
    return [
        ("  " * module.depth if indent else "") + (module.path or "<model>"),
        module.type,
        _shapes(module.input_shapes),
        _shapes(module.output_shapes),
        human(module.flops),
        human(module.elementwise),
        human(module.params),
        human(module.mac),
        human(module.mac_bytes),
    ]


#: Shape and cost columns, shared by the node and the module tables (their cells come in this order).
_SHAPES = (_Column("input", numeric=False, drop=1), _Column("output", numeric=False, drop=2))
_COSTS = (_Column("FLOPs"), _Column("elementwise", drop=4), _Column("params", drop=6), _Column("mem access"))
_NODE_COLUMNS = (
    _Column("node", numeric=False),
    _Column("module", numeric=False, drop=7),
    _Column("op", numeric=False, drop=5),
    _Column("kind", numeric=False, drop=3),
    *_SHAPES,
    *_COSTS,
)
_MODULE_COLUMNS = (
    _Column("module", numeric=False),
    _Column("type", numeric=False, drop=5),
    *_SHAPES,
    *_COSTS,
    _Column("mem bytes", drop=3),
)


def _rows(rep: CostedGraph, view: TableView) -> tuple[list[_Column], list[list[str]]]:
    """The columns and rows of the node table (``depth`` None) or the by-module table."""
    extras = _extras(rep)
    share_title, share_of = SORT_KEYS[_share_key(rep, view)]
    records: list[Record]
    if view.depth is None:
        records = [n for n in rep.nodes if _shown(n)]
        whole = sum(share_of(n) for n in rep.nodes)
        base = list(_NODE_COLUMNS)
    else:
        records = list(rep.by_module(view.depth))
        whole = share_of(records[0]) if records else 0.0
        base = list(_MODULE_COLUMNS)
    if view.sort:
        records.sort(key=SORT_KEYS[view.sort][1], reverse=True)
    if view.top is not None:
        records = records[: view.top]
    columns = [*base, *(_Column(e) for e in extras), _Column(f"% {share_title}", drop=8)]
    rows = []
    for record in records:
        cells = _node_cells(record) if isinstance(record, NodeCost) else _module_cells(record, indent=not view.sort)
        cells += [f"{record.extras[e]:.4g}" if e in record.extras else "" for e in extras]
        rows.append([*cells, _percent(share_of(record), whole)])
    if view.max_rows is not None and len(rows) > view.max_rows:
        rows = [*rows[: view.max_rows], ["..."] * len(columns)]
    return columns, rows


_GAP = 2
_ELLIPSIS = ".."


def _shorten(cell: str, width: int) -> str:
    return cell if len(cell) <= width else cell[: max(width - len(_ELLIPSIS), 1)] + _ELLIPSIS


def _fit(columns: list[_Column], rows: list[list[str]], width: int | None) -> tuple[list[_Column], list[list[str]]]:
    """Drop the least needed columns, then shorten the text columns, until the table is ``width`` wide."""
    widths = [max(len(c.title), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]

    def total(keep: list[int]) -> int:
        return sum(widths[i] for i in keep) + _GAP * (len(keep) - 1)

    keep = list(range(len(columns)))
    if width is not None:
        for index in sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: columns[i].drop):
            if total(keep) <= width:
                break
            keep.remove(index)
        texts = [i for i in keep if not columns[i].numeric]
        while total(keep) > width and texts:
            widest = max(texts, key=lambda i: widths[i])
            floor = max(len(columns[widest].title), 8)
            if widths[widest] <= floor:
                texts.remove(widest)
                continue
            widths[widest] = max(floor, widths[widest] - (total(keep) - width))
    kept = [columns[i] for i in keep]
    return kept, [[_shorten(row[i], widths[i]) for i in keep] for row in rows]


def _table_lines(rep: CostedGraph, view: TableView) -> list[str]:
    columns, rows = _fit(*_rows(rep, view), view.width)
    widths = [max(len(c.title), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        return (
            (" " * _GAP)
            .join(
                cell.rjust(w) if column.numeric else cell.ljust(w)
                for cell, column, w in zip(cells, columns, widths, strict=True)
            )
            .rstrip()
        )

    return [line([c.title for c in columns]), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _finding_lines(findings: Sequence[Diagnostic]) -> list[str]:
    """One line per group of repeated findings (see ``costmodel.findings``)."""
    return [f"{g.first.code} [{g.first.module or '<model>'}] {g.message()}" for g in group_findings(findings)]


def _wrapped(lines: Sequence[str], width: int | None) -> list[str]:
    if width is None:
        return list(lines)
    return [part for text_line in lines for part in textwrap.wrap(text_line, width, subsequent_indent="    ") or [""]]


def text(rep: CostedGraph, findings: Sequence[Diagnostic] = (), view: TableView | None = None, **options: Any) -> str:
    """The costed graph and its findings as plain text (no colour codes); ``options`` are ``TableView`` fields."""
    view = view or TableView(**options)
    lines = [
        *_wrapped(_header(rep, findings), view.width),
        "",
        *_table_lines(rep, view),
        *_wrapped(_finding_lines(findings), view.width),
    ]
    return "\n".join(lines) + "\n"


def _rich_table(rep: CostedGraph, view: TableView) -> Table:
    from rich import box
    from rich.table import Table

    columns, rows = _rows(rep, view)
    table = Table(box=box.SIMPLE_HEAD, show_footer=False)
    for column in columns:
        table.add_column(
            column.title,
            justify="right" if column.numeric else "left",
            overflow="fold" if column.numeric else "ellipsis",
            no_wrap=not column.numeric,
        )
    for row in rows:
        table.add_row(*row)
    return table


def rich_renderables(
    rep: CostedGraph, findings: Sequence[Diagnostic] = (), view: TableView | None = None
) -> Iterator[Any]:
    """Header lines, the table and the findings, for ``rich.print(report)``."""
    from rich.text import Text

    view = view or TableView()
    for line in _header(rep, findings):
        yield Text(line)
    yield _rich_table(rep, view)
    for line in _finding_lines(findings):
        yield Text(line)


def _html_table(columns: Sequence[_Column], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html_lib.escape(c.title)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html_lib.escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html(rep: CostedGraph, findings: Sequence[Diagnostic] = ()) -> str:
    """HTML for Jupyter: the header, the per-module table (depth 2), then the node table folded."""
    header = "<br>".join(html_lib.escape(line) for line in _header(rep, findings))
    modules = _html_table(*_rows(rep, TableView(depth=2)))
    columns, rows = _rows(rep, TableView())
    return (
        f"<div><p>{header}</p><h4>By module</h4>{modules}"
        f"<details><summary>{len(rows)} nodes</summary>{_html_table(columns, rows)}</details></div>"
    )
