"""Repeated findings grouped: one rule on many instances of one block or layer type reads as one line.

A ResNet has 16 residual blocks and G4 finds each element-wise heavy; the default
output says so once, with the count and the instances, pointing at the first.
Records only.
"""

from __future__ import annotations

from collections.abc import Sequence

from costmodel.records import record
from costmodel.types import Diagnostic

__all__ = ["FindingGroup", "group_findings"]

#: Instances named in a group's line before "..." (all of them with --all-instances).
SHOWN_INSTANCES = 6


@record
class FindingGroup:
    """Findings of one rule on one kind of module (``Diagnostic.module_type``); the first stands for all."""

    findings: tuple[Diagnostic, ...]

    @property
    def first(self) -> Diagnostic:
        return self.findings[0]

    def message(self) -> str:
        """The first finding's message, then how many more there are and where."""
        first, rest = self.first, self.findings[1:]
        if not rest:
            return first.message
        names = [d.module or "<model>" for d in rest]
        listed = ", ".join(names[:SHOWN_INSTANCES]) + (", ..." if len(names) > SHOWN_INSTANCES else "")
        return f"{first.message}; and {len(rest)} more {first.module_type or 'modules'} like it: {listed}"


def group_findings(found: Sequence[Diagnostic]) -> list[FindingGroup]:
    """Findings grouped by rule and module type, in the order their first members come."""
    groups: dict[tuple[str, str], list[Diagnostic]] = {}
    for d in found:
        key = (d.code, d.module_type) if d.module_type else (d.code, f"\0{id(d)}")  # untyped: alone
        groups.setdefault(key, []).append(d)
    return [FindingGroup(tuple(members)) for members in groups.values()]
