"""mkdocs hook: one page per guideline rule, written from the rule itself (its code, name, summary, options and
docstring), so the documentation of a rule is never out of step with the rule."""

from __future__ import annotations

import inspect
from typing import Any

from mkdocs.structure.files import File, Files


def rule_page(rule: Any) -> str:
    """A rule's page in Markdown: title, summary, how to run it, its docstring's sections, its options."""
    doc = inspect.cleandoc(rule.__doc__ or "")
    first, _, sections = doc.partition("\n")
    options = "\n".join(f"| `{rule.code}.{name}` | `{value:g}` |" for name, value in rule.options.items())
    return "\n".join(
        [
            f"# {rule.code} {rule.name}",
            "",
            f"**{rule.summary}.** {first}",
            "",
            f"Run it alone: `costmodel lint MODEL --select {rule.code}`; in Python, "
            f'`costmodel.lint(model, shape, select=["{rule.code}"])`.',
            "",
            sections.strip(),
            "",
            "## Defaults",
            "",
            "| option | default |",
            "|---|---|",
            options or "| (none) | |",
            "",
            f"Set one with `--option {rule.code}.NAME=VALUE`, or under `[tool.costmodel.{rule.code}]` in "
            "`pyproject.toml`.",
            "",
        ]
    )


def on_files(files: Files, config: Any) -> Files:
    from costmodel.rules import RULES

    for code, rule in RULES.items():
        files.append(File.generated(config, f"rules/{code}.md", content=rule_page(rule)))
    return files
