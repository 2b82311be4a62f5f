"""Findings of the guideline rules and their output formats (default, pylint, json, sarif)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FORMATS", "Diagnostic", "render"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding: what (code, module, numbers), why and what to do (message), and where (file:line:col).

    ``degree`` says how far past its threshold the finding is (1.0 = at it), so a
    network that moves further from the guideline gets a larger degree; ``data``
    holds the measured values behind the message.
    """

    code: str
    name: str
    message: str
    module: str
    file: str
    line: int
    column: int = 1
    degree: float = 1.0
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sort_key(self) -> tuple[Any, ...]:
        """Sorted by file, line, column, code, then module path in natural order (stages.2 < stages.10)."""
        natural = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in self.module.split("."))
        return (self.file, self.line, self.column, self.code, natural)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "code": self.code,
            "name": self.name,
            "message": self.message,
            "module": self.module,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "degree": round(self.degree, 4),
            "data": dict(self.data),
        }

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.code} {self.message}"


def _relative(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith("..") else relative


def _default(found: Sequence[Diagnostic]) -> str:
    return "".join(f"{_relative(d.file)}:{d.line}:{d.column}: {d.code} {d.message}\n" for d in found)


def _pylint(found: Sequence[Diagnostic]) -> str:
    return "".join(f"{_relative(d.file)}:{d.line}: [{d.code}({d.name}), {d.module}] {d.message}\n" for d in found)


def _json(found: Sequence[Diagnostic]) -> str:
    return json.dumps([{**d.to_dict(), "file": _relative(d.file)} for d in found], indent=2) + "\n"


def _sarif(found: Sequence[Diagnostic]) -> str:
    from costmodel import __version__
    from costmodel.rules import RULES

    rules = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.explanation()},
            "helpUri": "https://arxiv.org/abs/1807.11164",
        }
        for rule in RULES.values()
    ]
    results = [
        {
            "ruleId": d.code,
            "level": "warning",
            "message": {"text": d.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _relative(d.file).replace(os.sep, "/")},
                        "region": {"startLine": d.line, "startColumn": d.column},
                    },
                    "logicalLocations": [{"fullyQualifiedName": d.module or "<model>", "kind": "module"}],
                }
            ],
            "properties": {"degree": round(d.degree, 4), **dict(d.data)},
        }
        for d in found
    ]
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "costmodel",
                        "version": __version__,
                        "informationUri": "https://arxiv.org/abs/1807.11164",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


#: Output formats by name.
FORMATS = {"default": _default, "pylint": _pylint, "json": _json, "sarif": _sarif}


def render(found: Iterable[Diagnostic], fmt: str = "default") -> str:
    """Findings in one of ``FORMATS``, sorted by location."""
    return FORMATS[fmt](sorted(found, key=lambda d: d.sort_key))
