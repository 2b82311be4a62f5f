"""Running the enabled rules over a costed graph (``run_rules``); ``# noqa`` on a finding's line silences it."""

from __future__ import annotations

import linecache
import re
from collections.abc import Iterable

from costmodel.rules.config import LintConfig
from costmodel.rules.memo import forget
from costmodel.rules.registry import RULES
from costmodel.types import CostedGraph, Diagnostic, TimeModel

__all__ = ["run_rules"]


#: The silencing comment; compiled the first time a finding's line has one (``re`` keeps it then).
_NOQA = r"#\s*noqa(?::\s*(?P<codes>[A-Z0-9]+(?:[,\s]+[A-Z0-9]+)*))?"


def _silenced(found: Diagnostic) -> bool:
    """``# noqa`` or ``# noqa: CODE[, CODE]`` (prefixes) on the line the finding points at."""
    line = linecache.getline(found.file, found.line)
    match = re.search(_NOQA, line, re.IGNORECASE) if "noqa" in line.lower() else None
    if match is None:
        return False
    codes = match.group("codes")
    return codes is None or found.code.startswith(tuple(re.split(r"[,\s]+", codes.strip())))


def run_rules(
    graph: CostedGraph,
    config: LintConfig | None = None,
    time: TimeModel | None = None,
    model_seconds: float | None = None,
) -> tuple[Diagnostic, ...]:
    """Run the enabled rules on a costed graph; silenced findings dropped.

    Without a time model, findings are sorted by location. With one (a calibrated
    ``DeviceProfile``), each states its predicted time and saving, those below the
    config's minimum saving are dropped, and the rest are ranked by saving, largest first.
    ``model_seconds`` (the model's predicted time, for shares) is summed over the nodes if not given.
    """
    config = config or LintConfig()
    if time is not None and model_seconds is None:
        model_seconds = sum(time.node_seconds(node) for node in graph.nodes)
    found: Iterable[Diagnostic] = (
        d
        for code, rule in RULES.items()
        if config.enabled(code)
        for d in rule(config.options_for(code), time, model_seconds or 0.0).find(graph)
    )
    try:
        kept = [d for d in found if not _silenced(d) and config.keeps(d)]
    finally:
        forget()
    if time is None:
        return tuple(sorted(kept, key=lambda d: d.sort_key))
    return tuple(sorted(kept, key=lambda d: (-d.data.get("saving_ms", 0.0), d.sort_key)))
