"""Findings as flake8 writes them: ``path:line:col: CODE message``; repeats of one rule on one block type folded
into one line unless every instance is asked for."""

from __future__ import annotations

from collections.abc import Sequence

from costmodel.formats.findings.paths import relative, wrap
from costmodel.formats.grouping import group_findings
from costmodel.formats.registry import register_format
from costmodel.types import Diagnostic

__all__ = ["write"]


@register_format("findings", "text", "path:line:col: CODE message (flake8's), repeats grouped")
def write(found: Sequence[Diagnostic], *, grouped: bool = False, width: int | None = None) -> str:
    """One line per finding, or per group of repeated findings with ``grouped``."""
    if not grouped:
        return "".join(
            wrap(f"{relative(d.file)}:{d.line}:{d.column}: {d.code} {d.message}", width) + "\n" for d in found
        )
    return "".join(
        wrap(f"{relative(g.first.file)}:{g.first.line}:{g.first.column}: {g.first.code} {g.message()}", width) + "\n"
        for g in group_findings(found)
    )
