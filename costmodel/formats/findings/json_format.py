"""Findings as a JSON array, one object per finding with its numbers."""

from __future__ import annotations

import json
from collections.abc import Sequence

from costmodel.formats.findings.paths import relative
from costmodel.formats.registry import register_format
from costmodel.types import Diagnostic

__all__ = ["write"]


@register_format("findings", "json", "a JSON array, one object per finding with its numbers")
def write(found: Sequence[Diagnostic], *, grouped: bool = False, width: int | None = None) -> str:
    """Every finding (never grouped)."""
    return json.dumps([{**d.to_dict(), "file": relative(d.file)} for d in found], indent=2) + "\n"
