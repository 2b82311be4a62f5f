"""The report as HTML: the header, the per-module table (depth 2), then the node table folded; what Jupyter
shows for a ``Report``, and with ``--format html`` a page of every model."""

from __future__ import annotations

import html as html_lib
from collections.abc import Sequence

from costmodel.formats.registry import register_format
from costmodel.formats.report.table import Column, TableView, cells, finding_lines, header_lines
from costmodel.types import CostedGraph, Diagnostic

__all__ = ["html", "write"]


def _html_table(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html_lib.escape(c.title)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html_lib.escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html(rep: CostedGraph, findings: Sequence[Diagnostic] = ()) -> str:
    """One report as an HTML fragment."""
    header = "<br>".join(html_lib.escape(line) for line in header_lines(rep, findings))
    modules = _html_table(*cells(rep, TableView(depth=2)))
    columns, rows = cells(rep, TableView())
    found = "".join(f"<li>{html_lib.escape(line)}</li>" for line in finding_lines(findings))
    return (
        f"<div><p>{header}</p><h4>By module</h4>{modules}"
        f"<details><summary>{len(rows)} nodes</summary>{_html_table(columns, rows)}</details>"
        + (f"<h4>Findings</h4><ul>{found}</ul>" if found else "")
        + "</div>"
    )


@register_format("report", "html", "a standalone HTML page: header, tables by module and by node, findings")
def write(reports: Sequence[CostedGraph], view: TableView) -> str:
    """Every report on one page."""
    body = "\n".join(html(rep, getattr(rep, "findings", ())) for rep in reports)
    head = '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>costmodel</title></head><body>'
    return f"{head}\n{body}\n</body></html>\n"
