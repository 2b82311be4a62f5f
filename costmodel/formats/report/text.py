"""The report as plain text: the header, the cost table fit to the terminal, and the findings."""

from __future__ import annotations

from collections.abc import Sequence

from costmodel.formats.registry import register_format
from costmodel.formats.report.table import TableView, text
from costmodel.types import CostedGraph

__all__ = ["write"]


@register_format("report", "text", "the header, the cost table and the findings, fit to the terminal")
def write(reports: Sequence[CostedGraph], view: TableView) -> str:
    """Each report's text, one after the other."""
    return "\n".join(text(rep, getattr(rep, "findings", ()), view).rstrip("\n") for rep in reports) + "\n"
