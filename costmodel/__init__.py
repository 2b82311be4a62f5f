"""costmodel: what a PyTorch network will cost before it runs, and why.

FLOPs are multiply-adds, MAC is elements read + written, parameters are unique
elements; see ``costmodel.types`` for the conventions.
"""

from costmodel._version import __version__
from costmodel.analysis import lint, report
from costmodel.cache import CacheInfo, cache_info, clear_caches
from costmodel.device.calibrate import calibrate
from costmodel.device.measure import Measurement, measure
from costmodel.device.profile import DeviceProfile
from costmodel.device.timing import Timing
from costmodel.errors import (
    CostModelError,
    ShapeError,
    TraceError,
    UnsupportedInput,
    UnsupportedOpWarning,
    ValueDependent,
)
from costmodel.ops import register_cost, unregister_cost
from costmodel.report import Report
from costmodel.rules import RULES, LintConfig
from costmodel.types import (
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

__all__ = [
    "RULES",
    "CacheInfo",
    "Cost",
    "CostModelError",
    "CostedGraph",
    "DeviceProfile",
    "Diagnostic",
    "LintConfig",
    "Measurement",
    "ModelInputs",
    "ModuleCost",
    "NodeCost",
    "OpCall",
    "OpCost",
    "OpKind",
    "Report",
    "ShapeError",
    "TensorSpec",
    "Timing",
    "TraceError",
    "UnsupportedInput",
    "UnsupportedOpWarning",
    "ValueDependent",
    "__version__",
    "cache_info",
    "calibrate",
    "clear_caches",
    "lint",
    "measure",
    "register_cost",
    "report",
    "unregister_cost",
]
