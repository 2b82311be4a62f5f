"""Findings as SARIF 2.1.0 (code-scanning dashboards read it)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from costmodel._version import __version__
from costmodel.formats.findings.paths import relative
from costmodel.formats.registry import register_format
from costmodel.rules.registry import RULES
from costmodel.types import Diagnostic

__all__ = ["write"]


@register_format("findings", "sarif", "SARIF 2.1.0, for code-scanning dashboards")
def write(found: Sequence[Diagnostic], *, grouped: bool = False, width: int | None = None) -> str:
    """One SARIF run: the rules, and every finding as a result (never grouped)."""
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
                        "artifactLocation": {"uri": relative(d.file).replace(os.sep, "/")},
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
