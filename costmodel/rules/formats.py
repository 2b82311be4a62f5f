"""Output formats of the guideline findings: text (flake8's ``path:line:col: CODE msg``), pylint, json, sarif."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterable, Sequence

from costmodel._version import __version__
from costmodel.findings import group_findings
from costmodel.rules.registry import RULES
from costmodel.types import Diagnostic

__all__ = ["FORMATS", "render"]


def _relative(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith("..") else relative


def _wrap(line: str, width: int | None) -> str:
    return "\n".join(textwrap.wrap(line, width, subsequent_indent="    ")) if width else line


def _text(found: Sequence[Diagnostic], grouped: bool = False, width: int | None = None) -> str:
    if not grouped:
        return "".join(
            _wrap(f"{_relative(d.file)}:{d.line}:{d.column}: {d.code} {d.message}", width) + "\n" for d in found
        )
    return "".join(
        _wrap(f"{_relative(g.first.file)}:{g.first.line}:{g.first.column}: {g.first.code} {g.message()}", width) + "\n"
        for g in group_findings(found)
    )


def _pylint(found: Sequence[Diagnostic], grouped: bool = False, width: int | None = None) -> str:
    return "".join(f"{_relative(d.file)}:{d.line}: [{d.code}({d.name}), {d.module}] {d.message}\n" for d in found)


def _json(found: Sequence[Diagnostic], grouped: bool = False, width: int | None = None) -> str:
    return json.dumps([{**d.to_dict(), "file": _relative(d.file)} for d in found], indent=2) + "\n"


def _sarif(found: Sequence[Diagnostic], grouped: bool = False, width: int | None = None) -> str:
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
FORMATS = {"text": _text, "pylint": _pylint, "json": _json, "sarif": _sarif}


def render(
    found: Iterable[Diagnostic],
    fmt: str = "text",
    *,
    ranked: bool = False,
    grouped: bool = False,
    width: int | None = None,
) -> str:
    """Findings in one of ``FORMATS``: sorted by location, or kept in their order when ``ranked`` (by saving).

    ``grouped`` (text only; machine formats list every finding) folds repeats of one rule on one
    module type into one line; ``width`` wraps text lines to a terminal.
    """
    ordered = list(found) if ranked else sorted(found, key=lambda d: d.sort_key)
    return FORMATS[fmt](ordered, grouped, width)
