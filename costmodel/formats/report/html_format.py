"""The report as HTML: the header, the per-module table (depth 2), then the node table folded; what Jupyter
shows for a ``Report``, and with ``--format html`` a page of every model."""

from __future__ import annotations

import html as html_lib
from collections.abc import Sequence

from costmodel.formats.registry import register_format
from costmodel.formats.report.table import Column, TableView, cells, finding_lines, header_lines
from costmodel.types import CostedGraph, Diagnostic

__all__ = ["html", "write"]


#: Numbers right-aligned in figures of one width, names left-aligned, a module's depth as its indent.
_STYLE = (
    "<style>.costmodel td,.costmodel th{padding:1px 8px;white-space:nowrap}"
    ".costmodel .num{text-align:right;font-variant-numeric:tabular-nums}.costmodel .text{text-align:left}"
    ".costmodel table{border-collapse:collapse;font-family:ui-monospace,monospace;font-size:12px}"
    ".costmodel .findings li{margin-bottom:4px}</style>"
)


def _cell(value: str, column: Column) -> str:
    if column.numeric:
        return f'<td class="num">{html_lib.escape(value)}</td>'
    text = value.lstrip(" ")
    depth = (len(value) - len(text)) // 2  # a module row's indent: two spaces a level
    indent = f' style="padding-left:{8 + 16 * depth}px"' if depth else ""
    return f'<td class="text"{indent}>{html_lib.escape(text)}</td>'


def _html_table(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f'<th class="{"num" if c.numeric else "text"}">{html_lib.escape(c.title)}</th>' for c in columns)
    body = "".join("<tr>" + "".join(_cell(v, c) for v, c in zip(row, columns, strict=True)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html(rep: CostedGraph, findings: Sequence[Diagnostic] = ()) -> str:
    """One report as an HTML fragment."""
    header = "<br>".join(html_lib.escape(line) for line in header_lines(rep, findings))
    modules = _html_table(*cells(rep, TableView(depth=2)))
    columns, rows = cells(rep, TableView())
    found = "".join(f"<li>{html_lib.escape(line)}</li>" for line in finding_lines(findings))
    return (
        f'{_STYLE}<div class="costmodel"><p>{header}</p>'
        + (f'<h4>Findings</h4><ul class="findings">{found}</ul>' if found else "")
        + f"<h4>By module</h4>{modules}"
        f"<details><summary>{len(rows)} nodes</summary>{_html_table(columns, rows)}</details>"
        "</div>"
    )


@register_format("report", "html", "a standalone HTML page: header, tables by module and by node, findings")
def write(reports: Sequence[CostedGraph], view: TableView) -> str:
    """Every report on one page."""
    body = "\n".join(html(rep, getattr(rep, "findings", ())) for rep in reports)
    head = '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>costmodel</title></head><body>'
    return f"{head}\n{body}\n</body></html>\n"
