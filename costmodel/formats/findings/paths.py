"""Shared by the findings formats: paths relative to the working directory, lines wrapped to a terminal."""

from __future__ import annotations

import os
import textwrap

__all__ = ["relative", "wrap"]


def relative(path: str) -> str:
    """``path`` relative to the working directory, unless that climbs out of it."""
    try:
        found = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if found.startswith("..") else found


def wrap(line: str, width: int | None) -> str:
    """``line`` wrapped to ``width`` (continuations indented); as is without a width."""
    return "\n".join(textwrap.wrap(line, width, subsequent_indent="    ")) if width else line
