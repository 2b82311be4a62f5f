"""Findings as pylint's parseable format writes them: ``path:line: [CODE(name), module] message``."""

from __future__ import annotations

from collections.abc import Sequence

from costmodel.formats.findings.paths import relative
from costmodel.formats.registry import register_format
from costmodel.types import Diagnostic

__all__ = ["write"]


@register_format("findings", "pylint", "path:line: [CODE(name), module] message (pylint's parseable)")
def write(found: Sequence[Diagnostic], *, grouped: bool = False, width: int | None = None) -> str:
    """One line per finding (never grouped: machine formats list every one)."""
    return "".join(f"{relative(d.file)}:{d.line}: [{d.code}({d.name}), {d.module}] {d.message}\n" for d in found)
