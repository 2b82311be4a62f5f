"""costmodel: what a PyTorch network will cost before it runs, and why.

FLOPs are multiply-adds, MAC is elements read + written, parameters are unique
elements; see ``costmodel.types`` for the conventions.
"""

from costmodel.diagnostics import Diagnostic
from costmodel.errors import (
    CostModelError,
    ShapeError,
    TraceError,
    UnsupportedInput,
    UnsupportedOpWarning,
)
from costmodel.measure import Measurement, Timing, measure
from costmodel.ops import register_cost, unregister_cost
from costmodel.report import ModuleCost, Report, lint, report
from costmodel.rules import RULES, LintConfig
from costmodel.types import Cost, NodeCost, OpCall, OpCost, OpKind, TensorSpec

__all__ = [
    "RULES",
    "Cost",
    "CostModelError",
    "Diagnostic",
    "LintConfig",
    "Measurement",
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
    "lint",
    "measure",
    "register_cost",
    "report",
    "unregister_cost",
]

__version__ = "0.1.0"
