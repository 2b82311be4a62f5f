"""The report as CSV: one row per node, or per module with ``--depth`` (pandas writes it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from costmodel.formats.registry import register_format
from costmodel.formats.report.json_format import module_dict, node_dict
from costmodel.formats.report.table import TableView
from costmodel.types import CostedGraph
from costmodel.views import by_module

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["dataframe", "write"]


def dataframe(rep: CostedGraph, depth: int | None = None) -> pd.DataFrame:
    """One row per node (or per module when ``depth`` is given)."""
    import pandas as pd  # loaded only for data frames

    if depth is None:
        return pd.DataFrame([node_dict(n) for n in rep.nodes])
    return pd.DataFrame([module_dict(m) for m in by_module(rep, depth)])


@register_format("report", "csv", "one row per node, or per module with --depth")
def write(reports: Sequence[CostedGraph], view: TableView) -> str:
    """Each report's table as CSV, one after the other."""
    return "\n".join(dataframe(rep, view.depth).to_csv(index=False).rstrip("\n") for rep in reports) + "\n"
