"""How a lint run is configured: ``LintConfig`` (select, ignore, options), read from pyproject.toml too.

Codes are selected and ignored by prefix; options are written ``CODE.option``
(``G1.min_ratio``), from defaults, then ``pyproject.toml`` (``[tool.costmodel]``),
then the command line or the call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from costmodel.errors import UnsupportedInput
from costmodel.records import record
from costmodel.rules.registry import RULES
from costmodel.types import Diagnostic, FrozenMap

__all__ = ["LintConfig", "load_config"]


@record
class LintConfig:
    """Which rules run and with which options.

    Attributes:
        select: Code prefixes to run (``("G",)`` = all).
        ignore: Code prefixes to skip; wins over ``select``.
        options: ``"CODE.option" -> value`` overrides of rule defaults.
        min_saving_ms: With a device profile, drop findings whose fix saves less (milliseconds).
        min_saving_share: ... or less than this share of the model's predicted time.
    """

    select: tuple[str, ...] = ("G",)
    ignore: tuple[str, ...] = ()
    options: Mapping[str, float] = field(default_factory=FrozenMap)
    min_saving_ms: float = 0.0
    min_saving_share: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", FrozenMap(self.options))
        for key in self.options:
            code, _, name = key.partition(".")
            if code not in RULES or name not in RULES[code].options:
                valid = ", ".join(f"{c}.{o}" for c, r in RULES.items() for o in r.options)
                raise UnsupportedInput(f"unknown rule option '{key}' (valid: {valid})")
        for prefix in (*self.select, *self.ignore):
            if not any(code.startswith(prefix) for code in RULES):
                raise UnsupportedInput(f"no rule code starts with '{prefix}' (codes: {', '.join(RULES)})")

    def enabled(self, code: str) -> bool:
        """Selected by prefix and not ignored by prefix."""
        return code.startswith(tuple(self.select)) and not code.startswith(tuple(self.ignore))

    def options_for(self, code: str) -> dict[str, float]:
        """This rule's option overrides, without the code prefix."""
        return {k.partition(".")[2]: float(v) for k, v in self.options.items() if k.partition(".")[0] == code}

    def merged(
        self,
        select: Sequence[str] | None = None,
        ignore: Sequence[str] | None = None,
        options: Mapping[str, float] | None = None,
        *,
        min_saving_ms: float | None = None,
        min_saving_share: float | None = None,
    ) -> LintConfig:
        """A config with later settings (command line, call) laid over this one."""
        return LintConfig(
            tuple(select) if select else self.select,
            (*self.ignore, *(ignore or ())),
            {**self.options, **(options or {})},
            self.min_saving_ms if min_saving_ms is None else min_saving_ms,
            self.min_saving_share if min_saving_share is None else min_saving_share,
        )

    def keeps(self, found: Diagnostic) -> bool:
        """Whether a finding's predicted saving (if it states one) reaches the minimum saving."""
        saving = found.data.get("saving_ms")
        if saving is None:
            return True
        return saving >= self.min_saving_ms and found.data.get("saving_share", 0.0) >= self.min_saving_share


def _codes(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UnsupportedInput(f"{where}: expected a list of rule codes, got {value!r}")
    return tuple(value)


def load_config(start: str | Path | None = None) -> LintConfig:
    """Defaults overlaid with ``[tool.costmodel]`` of the nearest ``pyproject.toml`` above ``start``.

    Keys: ``select``, ``ignore`` (lists of code prefixes), and per-rule tables
    (``[tool.costmodel.G1] min_ratio = 1.1``) or dotted keys (``"G1.min_ratio" = 1.1``).
    """
    folder = Path(start or ".").resolve()
    folder = folder.parent if folder.is_file() else folder
    for candidate in (folder, *folder.parents):
        path = candidate / "pyproject.toml"
        if path.is_file():
            import tomllib  # only where a project file is read

            try:
                table = tomllib.loads(path.read_text()).get("tool", {}).get("costmodel")
            except tomllib.TOMLDecodeError as error:
                raise UnsupportedInput(f"{path}: invalid TOML: {error}") from error
            if table is not None:
                return _config_from_table(table, str(path))
    return LintConfig()


def _config_from_table(table: Mapping[str, Any], where: str) -> LintConfig:
    options: dict[str, float] = {}
    select, ignore = ("G",), ()
    for key, value in table.items():
        if key == "budget":  # [tool.costmodel.budget]: read by costmodel.budget, not a rule
            continue
        if key == "select":
            select = _codes(value, f"{where} [tool.costmodel] select")
        elif key == "ignore":
            ignore = _codes(value, f"{where} [tool.costmodel] ignore")
        elif isinstance(value, Mapping):
            options.update({f"{key}.{name}": v for name, v in value.items()})
        elif isinstance(value, int | float) and "." in key:
            options[key] = value
        else:
            raise UnsupportedInput(f"{where}: unknown key '{key}' in [tool.costmodel]")
    try:
        return LintConfig(select, ignore, options)
    except UnsupportedInput as error:
        raise UnsupportedInput(f"{where}: {error}") from error
