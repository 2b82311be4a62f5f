"""The one registry of output formats, for reports and for findings alike: a new format is one module that
registers its writer here, and the CLI offers what is registered.

A report writer takes ``(reports, view)`` (each report a costed graph with its ``findings``; ``view`` a
``TableView``) and returns the text to print; a findings writer takes ``(findings, *, grouped, width)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from costmodel.records import record

__all__ = ["FORMATS", "Format", "format_names", "register_format", "writer"]

#: What a format writes: a report (the cost table and its findings) or the findings alone.
SUBJECTS = ("report", "findings")


@record
class Format:
    """One output format: its subject (``report`` or ``findings``), name, one-line summary and writer."""

    subject: str
    name: str
    summary: str
    write: Callable[..., str]


#: (subject, name) -> format, in registration order.
FORMATS: dict[tuple[str, str], Format] = {}


def register_format(subject: str, name: str, summary: str) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """Register the decorated function as the writer of format ``name`` for ``subject``."""
    if subject not in SUBJECTS:
        raise ValueError(f"a format's subject is one of {', '.join(SUBJECTS)}, got {subject!r}")

    def decorate(write: Callable[..., str]) -> Callable[..., str]:
        if (subject, name) in FORMATS:
            raise ValueError(f"a {subject} format named {name!r} is registered already")
        FORMATS[subject, name] = Format(subject, name, summary, write)
        return write

    return decorate


def format_names(subject: str) -> tuple[str, ...]:
    """The registered formats of one subject, by name (the CLI's ``--format`` choices)."""
    return tuple(name for kind, name in FORMATS if kind == subject)


def writer(subject: str, name: str) -> Callable[..., Any]:
    """The writer of one format (``KeyError`` naming the choices if there is none)."""
    found = FORMATS.get((subject, name))
    if found is None:
        raise KeyError(f"no {subject} format {name!r} (formats: {', '.join(format_names(subject))})")
    return found.write
