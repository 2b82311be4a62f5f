"""Budgets for CI: limits on a report's totals, from the command line or ``[tool.costmodel.budget]``.

``costmodel check FILE --max-flops 300M --max-params 3.5M`` exits 1 when a model is
over any limit. Quantities take SI suffixes (``K``, ``M``, ``G``, ``T``; ``300M``,
``3.5M``, ``64MB``), times are milliseconds.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from costmodel.errors import UsageError
from costmodel.records import record
from costmodel.report_record import Report
from costmodel.units import human

__all__ = ["LIMITS", "Budget", "BudgetLine", "load_budget", "parse_quantity"]

_SUFFIX = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
_QUANTITY = re.compile(r"^\s*(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<suffix>[KMGT]?)(?:B|ms)?\s*$", re.IGNORECASE)


@record
class Limit:
    """One budgeted figure: its key (``max_<key>`` in pyproject), what it reads of a report, and its unit."""

    key: str
    label: str
    read: Callable[[Report], float | None]
    unit: str = ""


#: Every figure a budget can limit, by key (the flag is ``--max-<key with dashes>``).
LIMITS: Mapping[str, Limit] = {
    limit.key: limit
    for limit in (
        Limit("flops", "FLOPs (multiply-adds)", lambda r: r.flops),
        Limit("params", "parameters", lambda r: r.params),
        Limit("mac", "MAC, memory access cost (elements)", lambda r: r.mac),
        Limit("mac_bytes", "MAC, memory access cost (bytes)", lambda r: r.mac_bytes, "B"),
        Limit("activation_bytes", "peak activation memory (bytes)", lambda r: r.activation_memory().peak_bytes, "B"),
        Limit("predicted_ms", "predicted time (ms, needs --profile)", lambda r: r.predicted_ms, "ms"),
    )
}


def parse_quantity(text: Any, where: str) -> float:
    """'300M' -> 3e8, '3.5M' -> 3.5e6, '64MB' -> 6.4e7, '12ms' -> 12; numbers pass through.

    Raises:
        UsageError: Not a non-negative number with an optional K/M/G/T suffix (names ``where``).
    """
    if isinstance(text, int | float) and not isinstance(text, bool) and text >= 0:
        return float(text)
    match = _QUANTITY.match(str(text))
    if match is None:
        raise UsageError(f"{where}: '{text}' is not a quantity like 300M, 3.5M, 64MB or 12ms")
    return float(match["number"]) * _SUFFIX[match["suffix"].upper()]


@record
class BudgetLine:
    """One figure of one model against its limit."""

    model: str
    key: str
    value: float | None
    limit: float
    #: Ops the report has no formula for: the count is incomplete, so the line does not pass (unless allowed).
    unsupported: tuple[str, ...] = ()

    @property
    def over(self) -> bool:
        """Over the limit; a figure the report lacks (time without a profile), or an incomplete count, counts as
        over."""
        return self.value is None or self.value > self.limit or bool(self.unsupported)

    def __str__(self) -> str:
        limit = LIMITS[self.key]
        shown = "unknown" if self.value is None else _show(self.value, limit.unit)
        if self.unsupported and not (self.value is None or self.value > self.limit):
            return (
                f"INCOMPLETE {self.model}: {limit.label} {shown} (limit {_show(self.limit, limit.unit)}) leaves out "
                f"{', '.join(self.unsupported)} (no formula); --allow-unsupported checks the partial count"
            )
        verdict = "OVER" if self.over else "ok"
        return f"{verdict:4} {self.model}: {limit.label} {shown} (limit {_show(self.limit, limit.unit)})"


def _show(value: float, unit: str) -> str:
    return f"{value:.3f} ms" if unit == "ms" else f"{human(value)}{unit}"


@record
class Budget:
    """Limits by ``LIMITS`` key; ``where`` names their source (a pyproject.toml, the command line)."""

    limits: Mapping[str, float]
    where: str = ""

    def merged(self, overrides: Mapping[str, float | None]) -> Budget:
        """These limits with the given ones (command-line flags) taking precedence."""
        given = {k: v for k, v in overrides.items() if v is not None}
        where = " + ".join(filter(None, (self.where, "command line" if given else "")))
        return Budget({**self.limits, **given}, where)

    def check(self, report: Report, *, allow_unsupported: bool = False) -> list[BudgetLine]:
        """Every limited figure of ``report`` against its limit. A report with ops it has no formula for passes no
        limit unless ``allow_unsupported``: its counts are short by what those ops do."""
        missing = () if allow_unsupported else tuple(report.unsupported)
        return [
            BudgetLine(report.model, key, LIMITS[key].read(report), limit, missing)
            for key, limit in self.limits.items()
        ]


def load_budget(start: str | Path | None = None) -> Budget:
    """``[tool.costmodel.budget]`` of the nearest ``pyproject.toml`` above ``start`` (keys ``max_flops``, ...).

    Raises:
        UsageError: Invalid TOML, an unknown key, or a value that is not a quantity.
    """
    folder = Path(start or ".").resolve()
    folder = folder.parent if folder.is_file() else folder
    for candidate in (folder, *folder.parents):
        path = candidate / "pyproject.toml"
        if not path.is_file():
            continue
        try:
            table = tomllib.loads(path.read_text()).get("tool", {}).get("costmodel", {}).get("budget")
        except tomllib.TOMLDecodeError as error:
            raise UsageError(f"{path}: invalid TOML: {error}") from error
        if table is None:
            continue
        limits = {}
        for key, value in table.items():
            name = key.removeprefix("max_").replace("-", "_")
            if not key.startswith("max_") or name not in LIMITS:
                known = ", ".join(f"max_{k}" for k in LIMITS)
                raise UsageError(f"{path}: unknown key '{key}' in [tool.costmodel.budget] (known: {known})")
            limits[name] = parse_quantity(value, f"{path} [tool.costmodel.budget] {key}")
        return Budget(limits, str(path))
    return Budget({})
