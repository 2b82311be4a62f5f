"""A costed graph as a table: its header lines, its columns and cells (per node, or rolled up by module), and
the plain-text layout that fits a width.

It reads records and views only, so ``Report`` can use it without an import circle; the
formats (text, HTML, rich) lay these cells out. Plain text fits a given width (a terminal's)
by dropping the least needed columns, then shortening names; without a width (files,
pipes) every column is kept whole.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from costmodel.formats.grouping import group_findings
from costmodel.formats.report.formulas import formula_text
from costmodel.records import record
from costmodel.types import CostedGraph, Diagnostic, ModuleCost, NodeCost, Shape
from costmodel.units import CONVENTIONS, human
from costmodel.views import Completeness, activation_memory, by_module, completeness

__all__ = ["SORT_KEYS", "Column", "TableView", "cells", "finding_lines", "header_lines", "text"]

Record = NodeCost | ModuleCost


def _time(record: Record) -> float:
    """The record's time column: predicted, else measured (milliseconds; 0 without either)."""
    extras = record.extras
    return float(extras.get("predicted_ms", extras.get("time_ms", 0.0)))


#: What a table can be sorted by (and its share column is of), with the column title of each.
SORT_KEYS: dict[str, tuple[str, Callable[[Record], float]]] = {
    "flops": ("FLOPs", lambda r: r.flops),
    "elementwise": ("elementwise", lambda r: r.elementwise),
    "mac": ("MAC", lambda r: r.mac),
    "params": ("params", lambda r: r.params),
    "time": ("time", _time),
}


@record
class TableView:
    """How to show a table: rolled up to ``depth`` (``None``: every node), sorted by a ``SORT_KEYS`` key
    (largest first) and cut to the ``top`` rows, at most ``max_rows`` rows, fit to ``width`` columns
    (``None``: as wide as the content)."""

    depth: int | None = None
    sort: str | None = None
    top: int | None = None
    max_rows: int | None = None
    width: int | None = None


@record
class Column:
    title: str
    numeric: bool = True
    #: Order in which columns go when the table is too wide (lowest first); 0: kept always.
    drop: int = 0


#: The widest a text cell of a table grows (characters): longer shape lists say how many more they hold.
CELL_LIMIT = 40


def _shapes(shapes: Sequence[Shape], limit: int | None = None) -> str:
    """``[1, 3, 8, 8], [8]``; within ``limit`` characters, the shapes that fit and ``+N more``."""
    texts = ["[" + ", ".join(map(str, s)) + "]" for s in shapes]
    whole = ", ".join(texts)
    if limit is None or len(whole) <= limit:
        return whole
    for count in range(len(texts) - 1, -1, -1):
        cell = ", ".join([*texts[:count], f"+{len(texts) - count} more"])
        if len(cell) <= limit or count == 0:
            return cell if len(cell) <= limit else _shorten(texts[0], limit - 9) + f" +{len(texts) - 1} more"
    return whole


def _share_key(rep: CostedGraph, view: TableView) -> str:
    """The sort key, else time where a time column exists, else FLOPs."""
    if view.sort:
        return view.sort
    return "time" if any("predicted_ms" in n.extras or "time_ms" in n.extras for n in rep.nodes) else "flops"


def header_lines(rep: CostedGraph, findings: Sequence[Diagnostic]) -> list[str]:
    memory = activation_memory(rep)
    frozen = f", {human(rep.frozen_params)} frozen" if rep.frozen_params else ""
    lines = [
        f"{rep.model} on input {_shapes(rep.input_shapes)}",
        f"FLOPs {human(rep.flops)}  elementwise {human(rep.elementwise)}  params {human(rep.params)}{frozen}  "
        f"MAC {human(rep.mac)} elements ({human(rep.mac_bytes)}B)  "
        f"activations {human(memory.peak_bytes)}B peak, {human(memory.written_bytes)}B written",
        *(f"  {key}: {text}" for key, text in CONVENTIONS.items()),
    ]
    if rep.unsupported:
        listed = ", ".join(f"{op} x{count}" for op, count in sorted(rep.unsupported.items()))
        lines.append(f"UNSUPPORTED (FLOPs not counted): {listed}")
        missing = completeness(rep)
        if missing.lower_bound:
            lines.append(f"INCOMPLETE: FLOPs is a lower bound: {_lower_bound_reason(missing)}")
    lines += [f"note: {note}" for note in rep.notes]
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


def _lower_bound_reason(missing: Completeness) -> str:
    """Why a count is a lower bound, in a clause."""
    if missing.matrix_like:
        return (
            f"{', '.join(missing.matrix_like)} look{'s' if len(missing.matrix_like) == 1 else ''} like matrix work "
            f"and {'has' if len(missing.matrix_like) == 1 else 'have'} no formula (register one with "
            "costmodel.register_cost)"
        )
    return f"ops with no formula move {missing.mac_share:.0%} of the memory access"


def _extras(rep: CostedGraph) -> list[str]:
    names: dict[str, None] = {}
    for node in rep.nodes:
        names.update(dict.fromkeys(node.extras))
    return list(names)


def _shown(node: NodeCost) -> bool:
    """Tables skip attribute fetches and shape arithmetic (``x.shape``): nodes with no op and no tensor out."""
    return node.op != "get_attr" and bool(node.ops or node.output_shapes or node.params)


def _extra(column: str, value: float) -> str:
    """A per-node column's cell: times in milliseconds to the microsecond, one precision down the column."""
    return f"{value:.3f}" if column.endswith("_ms") else f"{value:.4g}"


def _percent(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def _node_cells(node: NodeCost) -> list[str]:
    return [
        _shorten(node.name, CELL_LIMIT),
        _shorten(node.module_path or "-", CELL_LIMIT),
        node.target,
        node.kind.value,
        _shapes(node.input_shapes, CELL_LIMIT),
        _shapes(node.output_shapes, CELL_LIMIT),
        human(node.flops),
        human(node.elementwise),
        human(node.params),
        human(node.mac),
    ]


def _module_cells(module: ModuleCost, indent: bool) -> list[str]:
    return [
        ("  " * module.depth if indent else "") + _shorten(module.path or "<model>", CELL_LIMIT),
        module.type,
        _shapes(module.input_shapes, CELL_LIMIT),
        _shapes(module.output_shapes, CELL_LIMIT),
        human(module.flops),
        human(module.elementwise),
        human(module.params),
        human(module.mac),
        f"{human(module.mac_bytes)}B",
    ]


#: Shape and cost columns, shared by the node and the module tables (their cells come in this order).
_SHAPES = (Column("input", numeric=False, drop=1), Column("output", numeric=False, drop=2))
_COSTS = (Column("FLOPs"), Column("elementwise", drop=4), Column("params", drop=6), Column("MAC"))
_NODE_COLUMNS = (
    Column("node", numeric=False),
    Column("module", numeric=False, drop=7),
    Column("op", numeric=False, drop=5),
    Column("kind", numeric=False, drop=3),
    *_SHAPES,
    *_COSTS,
)
_MODULE_COLUMNS = (
    Column("module", numeric=False),
    Column("type", numeric=False, drop=5),
    *_SHAPES,
    *_COSTS,
    Column("MAC bytes", drop=3),
)


def cells(rep: CostedGraph, view: TableView) -> tuple[list[Column], list[list[str]]]:
    """The columns and rows of the node table (``depth`` None) or the by-module table."""
    extras = _extras(rep)
    if view.sort == "time" and not any(e in ("predicted_ms", "time_ms") for e in extras):
        raise ValueError("sorting by time needs a time column: a device profile (--profile) or measured times")
    share_title, share_of = SORT_KEYS[_share_key(rep, view)]
    records: list[Record]
    if view.depth is None:
        records = [n for n in rep.nodes if _shown(n)]
        whole = sum(share_of(n) for n in rep.nodes)
        base = list(_NODE_COLUMNS)
    else:
        records = list(by_module(rep, view.depth))
        whole = share_of(records[0]) if records else 0.0
        base = list(_MODULE_COLUMNS)
        if view.sort or view.top is not None:  # ranked: modules that hold no other row, so shares add up
            records = _outermost_leaves(records)
    if view.sort:
        records.sort(key=SORT_KEYS[view.sort][1], reverse=True)
    if view.top is not None:
        records = records[: view.top]
    columns = [*base, *(Column(e) for e in extras), Column(f"% {share_title}", drop=8)]
    rows = []
    for item in records:
        cells = _node_cells(item) if isinstance(item, NodeCost) else _module_cells(item, indent=not view.sort)
        cells += [_extra(e, item.extras[e]) if e in item.extras else "" for e in extras]
        rows.append([*cells, _percent(share_of(item), whole)])
    if view.max_rows is not None and len(rows) > view.max_rows:
        rows = [*rows[: view.max_rows], ["..."] * len(columns)]
    return columns, rows


def _outermost_leaves(modules: list[ModuleCost]) -> list[ModuleCost]:
    """The modules of a roll-up that hold no other module of it: they share no node, so their shares of the
    model add up to at most 100%."""
    paths = [m.path for m in modules]

    def holds_another(path: str) -> bool:
        return any(q != path and (not path or q.startswith(path + ".")) for q in paths)

    return [m for m in modules if not holds_another(m.path)] or modules


_GAP = 2
_ELLIPSIS = ".."


def _shorten(cell: str, width: int) -> str:
    return cell if len(cell) <= width else cell[: max(width - len(_ELLIPSIS), 1)] + _ELLIPSIS


def _fit(columns: list[Column], rows: list[list[str]], width: int | None) -> tuple[list[Column], list[list[str]]]:
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
    columns, rows = _fit(*cells(rep, view), view.width)
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


def finding_lines(findings: Sequence[Diagnostic]) -> list[str]:
    """One line per group of repeated findings (see ``costmodel.findings``)."""
    return [f"{g.first.code} [{g.first.module or '<model>'}] {g.message()}" for g in group_findings(findings)]


def _wrapped(lines: Sequence[str], width: int | None) -> list[str]:
    if width is None:
        return list(lines)
    return [part for text_line in lines for part in textwrap.wrap(text_line, width, subsequent_indent="    ") or [""]]


def text(rep: CostedGraph, findings: Sequence[Diagnostic] = (), view: TableView | None = None, **options: Any) -> str:
    """The costed graph and its findings as plain text (no colour codes); ``options`` are ``TableView`` fields."""
    view = view or TableView(**options)
    if rep.symbols:  # formulas of named sizes: a table of numbers has nothing to show
        return formula_text(rep, view.depth)
    lines = [
        *_wrapped(header_lines(rep, findings), view.width),
        "",
        *_table_lines(rep, view),
        *_wrapped(finding_lines(findings), view.width),
    ]
    return "\n".join(lines) + "\n"
