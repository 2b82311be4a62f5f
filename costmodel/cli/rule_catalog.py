"""The built-in rules' code, name, summary, options and explanation, read from their source files with ``ast``
rather than imported, so ``costmodel rules``, ``costmodel explain`` and ``--version`` answer without importing
torch (a second and more). ``tests/rules/test_rules.py`` checks this catalog against the imported ``RULES``."""

from __future__ import annotations

import ast
import inspect
import json
from dataclasses import field
from pathlib import Path
from typing import Any

from costmodel.records import record

__all__ = ["RuleInfo", "builtin_rules", "explain", "find_rule", "list_rules"]

#: The built-in rules' modules, in code order (as ``costmodel.rules.registry.BUILTIN_RULES``).
_MODULES = ("g1_channel_width", "g2_group_conv", "g3_fragmentation", "g4_elementwise")
_RULES_DIR = Path(__file__).resolve().parents[1] / "rules"


@record
class RuleInfo:
    """What ``costmodel rules`` and ``explain`` print of a rule."""

    code: str
    name: str
    summary: str
    options: dict[str, float] = field(default_factory=dict)
    explanation: str = ""


def _rule_class(tree: ast.Module) -> ast.ClassDef:
    """The module's rule: the class that sets ``code``."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(_assigned(statement) == "code" for statement in node.body):
            return node
    raise LookupError("no rule class")


def _assigned(statement: ast.stmt) -> str | None:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
        return target.id if isinstance(target, ast.Name) else None
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return statement.target.id
    return None


def _read(path: Path) -> RuleInfo:
    rule = _rule_class(ast.parse(path.read_text(encoding="utf-8")))
    values: dict[str, Any] = {}
    for statement in rule.body:
        name = _assigned(statement)
        if name in ("code", "name", "summary", "options") and statement.value is not None:  # type: ignore[union-attr]
            values[name] = ast.literal_eval(statement.value)  # type: ignore[union-attr]
    return RuleInfo(
        code=values["code"],
        name=values["name"],
        summary=values["summary"],
        options=dict(values.get("options", {})),
        explanation=inspect.cleandoc(ast.get_docstring(rule, clean=False) or ""),
    )


def builtin_rules() -> tuple[RuleInfo, ...]:
    """G1-G4, in code order."""
    return tuple(_read(_RULES_DIR / f"{module}.py") for module in _MODULES)


def find_rule(code_or_name: str) -> RuleInfo | None:
    """A built-in rule by code (any case) or kebab-case name."""
    return next((r for r in builtin_rules() if r.code == code_or_name.upper() or r.name == code_or_name), None)


def list_rules(fmt: str = "text") -> str:
    """What ``costmodel rules`` prints: a line per rule, or a JSON array."""
    rules = builtin_rules()
    if fmt == "json":
        return json.dumps(
            [{"code": r.code, "name": r.name, "summary": r.summary, "options": r.options} for r in rules], indent=2
        )
    lines = []
    for rule in rules:
        options = ", ".join(f"{rule.code}.{k}={v:g}" for k, v in rule.options.items())
        lines.append(f"{rule.code}  {rule.name:24} {rule.summary}  [{options}]")
    return "\n".join(lines)


def explain(code_or_name: str) -> str | None:
    """What ``costmodel explain`` prints of a rule (``None``: no such rule)."""
    rule = find_rule(code_or_name)
    if rule is None:
        return None
    return f"{rule.code} {rule.name}: {rule.summary}\n\n{rule.explanation}"
