"""Findings formats: each module registers one (``costmodel.formats.registry``); ``render`` writes findings in
any of them."""

from __future__ import annotations

from collections.abc import Iterable

from costmodel.formats.findings import json_format, pylint, sarif, text
from costmodel.formats.registry import writer
from costmodel.types import Diagnostic

__all__ = ["json_format", "pylint", "render", "sarif", "text"]


def render(
    found: Iterable[Diagnostic],
    fmt: str = "text",
    *,
    ranked: bool = False,
    grouped: bool = False,
    width: int | None = None,
) -> str:
    """Findings in a registered format: sorted by location, or kept in their order when ``ranked`` (by saving).

    ``grouped`` (text only; machine formats list every finding) folds repeats of one rule on one
    module type into one line; ``width`` wraps text lines to a terminal.
    """
    ordered = list(found) if ranked else sorted(found, key=lambda d: d.sort_key)
    return writer("findings", fmt)(ordered, grouped=grouped, width=width)
