"""The report as a rich table (``rich.print(report)``, and ``--format rich`` in a terminal)."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from costmodel.formats.registry import register_format
from costmodel.formats.report.table import TableView, cells, finding_lines, header_lines
from costmodel.types import CostedGraph, Diagnostic

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["renderables", "write"]


def _rich_table(rep: CostedGraph, view: TableView) -> Table:
    from rich import box  # rich is loaded only for rich output
    from rich.table import Table

    columns, rows = cells(rep, view)
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


def renderables(rep: CostedGraph, findings: Sequence[Diagnostic] = (), view: TableView | None = None) -> Iterator[Any]:
    """Header lines, the table and the findings."""
    from rich.text import Text

    view = view or TableView()
    for line in header_lines(rep, findings):
        yield Text(line)
    yield _rich_table(rep, view)
    for line in finding_lines(findings):
        yield Text(line)


@register_format("report", "rich", "the text report as a rich table, in colour on a terminal")
def write(reports: Sequence[CostedGraph], view: TableView) -> str:
    """Every report rendered by rich (colour codes only where the output is a terminal)."""
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=view.width or 200, force_terminal=view.width is not None)
    for rep in reports:
        for item in renderables(rep, getattr(rep, "findings", ()), view):
            console.print(item)
    return out.getvalue()
