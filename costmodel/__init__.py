"""costmodel: what a PyTorch network will cost before it runs, and why.

FLOPs are multiply-adds, MAC is elements read + written, parameters are unique
elements; see ``costmodel.types`` for the conventions.

The names below load on first use (PEP 562), so ``import costmodel`` and the commands that need no model
(``costmodel --version``, ``rules``, ``explain``) do not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from costmodel._version import __version__ as __version__

if TYPE_CHECKING:  # what the names are, for type checkers (they load lazily below)
    from costmodel.analysis import lint, report  # noqa: F401
    from costmodel.cache import CacheInfo, cache_info, clear_caches  # noqa: F401
    from costmodel.device.calibrate import calibrate, recheck  # noqa: F401
    from costmodel.device.measure import Measurement, measure  # noqa: F401
    from costmodel.device.profile import DeviceProfile  # noqa: F401
    from costmodel.device.timing import Timing  # noqa: F401
    from costmodel.errors import (  # noqa: F401
        CostModelError,
        ShapeError,
        TraceError,
        UnsupportedInput,
        UnsupportedOpWarning,
        ValueDependent,
    )
    from costmodel.ops import register_cost, unregister_cost  # noqa: F401
    from costmodel.report_record import Report  # noqa: F401
    from costmodel.rules import RULES, LintConfig  # noqa: F401
    from costmodel.types import (  # noqa: F401
        Cost,
        CostedGraph,
        Diagnostic,
        ModelInputs,
        ModuleCost,
        NodeCost,
        OpCall,
        OpCost,
        OpKind,
        TensorSpec,
    )

#: Public name -> the module that defines it.
_WHERE = {
    **dict.fromkeys(("lint", "report"), "costmodel.analysis"),
    **dict.fromkeys(("CacheInfo", "cache_info", "clear_caches"), "costmodel.cache"),
    **dict.fromkeys(("calibrate", "recheck"), "costmodel.device.calibrate"),
    **dict.fromkeys(("Measurement", "measure"), "costmodel.device.measure"),
    "DeviceProfile": "costmodel.device.profile",
    "Timing": "costmodel.device.timing",
    **dict.fromkeys(
        ("CostModelError", "ShapeError", "TraceError", "UnsupportedInput", "UnsupportedOpWarning", "ValueDependent"),
        "costmodel.errors",
    ),
    **dict.fromkeys(("register_cost", "unregister_cost"), "costmodel.ops"),
    "Report": "costmodel.report_record",
    **dict.fromkeys(("RULES", "LintConfig"), "costmodel.rules"),
    **dict.fromkeys(
        (
            "Cost",
            "CostedGraph",
            "Diagnostic",
            "ModelInputs",
            "ModuleCost",
            "NodeCost",
            "OpCall",
            "OpCost",
            "OpKind",
            "TensorSpec",
        ),
        "costmodel.types",
    ),
}

__all__ = sorted([*_WHERE, "__version__"])  # the names _WHERE loads, and the version


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'costmodel' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
