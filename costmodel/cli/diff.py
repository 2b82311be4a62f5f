"""Two saved reports compared: per-module changes in FLOPs, params, memory access and time, and new findings.

Reads what ``costmodel report --format json`` writes (a list of reports, or one) and
what ``Report.to_dict()`` returns; no model is run again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from costmodel.errors import UsageError
from costmodel.records import record
from costmodel.units import human

__all__ = ["FIGURES", "ModelDiff", "diff_reports", "load_reports"]

#: The figures compared, as named in the JSON nodes, with the column title of each.
FIGURES: Mapping[str, str] = {
    "flops": "FLOPs",
    "params": "params",
    "mac": "MAC",
    "predicted_ms": "predicted ms",
}


def load_reports(path: str | Path) -> dict[str, dict[str, Any]]:
    """The reports of a JSON file by model name.

    Raises:
        UsageError: The file is missing, not JSON, or not a costmodel report.
    """
    try:
        data = json.loads(Path(path).read_text())
    except OSError as error:
        raise UsageError(f"{path}: cannot read: {error.strerror or error}") from error
    except json.JSONDecodeError as error:
        raise UsageError(f"{path}:{error.lineno}:{error.colno}: not JSON: {error.msg}") from error
    reports = data if isinstance(data, list) else [data]
    for index, rep in enumerate(reports):
        if not isinstance(rep, dict) or not {"model", "nodes", "totals"} <= rep.keys():
            raise UsageError(f"{path}: item {index} is not a costmodel report (write one with --format json)")
    return {rep["model"]: rep for rep in reports}


def _rolled_up(rep: Mapping[str, Any], depth: int) -> dict[str, dict[str, float]]:
    """Figures summed by module path, up to ``depth`` levels ("" is the whole model)."""
    sums: dict[str, dict[str, float]] = {}
    for node in rep["nodes"]:
        path = node.get("module_path", node.get("module", ""))  # "module" in reports saved by earlier versions
        parts = path.split(".") if path else []
        for level in range(min(depth, len(parts)) + 1):
            entry = sums.setdefault(".".join(parts[:level]), {})
            for key in FIGURES:
                if key in node:
                    entry[key] = entry.get(key, 0.0) + node[key]
    return sums


def _finding_keys(rep: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    return {(f["code"], f["module"]): f["message"] for f in rep.get("findings", ())}


@record
class ModuleChange:
    """One module's figures before and after (``None``: the module is not in that report)."""

    path: str
    old: Mapping[str, float] | None
    new: Mapping[str, float] | None

    def delta(self, key: str) -> float | None:
        before = (self.old or {}).get(key)
        after = (self.new or {}).get(key)
        return None if before is None and after is None else (after or 0.0) - (before or 0.0)


@record
class ModelDiff:
    """The changes of one model between two reports."""

    model: str
    modules: tuple[ModuleChange, ...]
    new_findings: tuple[tuple[str, str, str], ...] = ()
    fixed_findings: tuple[tuple[str, str, str], ...] = ()
    keys: tuple[str, ...] = field(default=tuple(FIGURES))

    @property
    def total(self) -> ModuleChange:
        """The whole model's change."""
        return self.modules[0]

    def grew(self) -> list[str]:
        """The figures whose model total increased."""
        return [k for k in self.keys if (self.total.delta(k) or 0.0) > 0]

    def lines(self, all_modules: bool = False) -> list[str]:
        """A table of the changed modules (all with ``all_modules``) and the finding changes."""
        rows = [["module", *(FIGURES[k] for k in self.keys)]]
        for change in self.modules:
            if not all_modules and change.path and not any(change.delta(k) for k in self.keys):
                continue
            mark = "+ " if change.old is None else "- " if change.new is None else ""
            rows.append([mark + (change.path or "<model>"), *(_cell(change, k) for k in self.keys)])
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        table = [
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
            for r in rows
        ]
        found = [f"new finding {code} [{module or '<model>'}] {message}" for code, module, message in self.new_findings]
        fixed = [f"gone: {code} [{module or '<model>'}]" for code, module, _ in self.fixed_findings]
        return [f"{self.model}", *table, *found, *fixed]


def _cell(change: ModuleChange, key: str) -> str:
    before, after = (change.old or {}).get(key), (change.new or {}).get(key)
    if before is None and after is None:
        return "-"
    shown = (lambda v: f"{v:.3f}") if key == "predicted_ms" else human
    if before is None or after is None:
        return shown(after if before is None else before)
    if before == after:
        return shown(after)
    relative = f" ({after / before - 1:+.1%})" if before else ""
    return f"{shown(before)} -> {shown(after)}{relative}"


def diff_reports(old: Mapping[str, Any], new: Mapping[str, Any], depth: int = 2) -> ModelDiff:
    """What changed from ``old`` to ``new`` (two report dicts of one model)."""
    before, after = _rolled_up(old, depth), _rolled_up(new, depth)
    order = {p: i for i, p in enumerate(dict.fromkeys([*after, *before]))}
    paths = sorted(order, key=lambda p: (p != "", order[p]))
    keys = tuple(k for k in FIGURES if any(k in v for v in (*before.values(), *after.values())))
    old_found, new_found = _finding_keys(old), _finding_keys(new)
    return ModelDiff(
        model=str(new.get("model", old.get("model"))),
        modules=tuple(ModuleChange(p, before.get(p), after.get(p)) for p in paths),
        new_findings=tuple((c, m, msg) for (c, m), msg in new_found.items() if (c, m) not in old_found),
        fixed_findings=tuple((c, m, msg) for (c, m), msg in old_found.items() if (c, m) not in new_found),
        keys=keys,
    )


def pair_reports(
    old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]
) -> Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """Reports of the same model in both files; a lone report in each is paired whatever its name.

    Raises:
        UsageError: No model is in both files.
    """
    if len(old) == 1 and len(new) == 1:
        return [(next(iter(old.values())), next(iter(new.values())))]
    common = [name for name in new if name in old]
    if not common:
        raise UsageError(f"no model in both reports (old: {', '.join(old)}; new: {', '.join(new)})")
    return [(old[name], new[name]) for name in common]
