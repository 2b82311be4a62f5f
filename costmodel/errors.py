"""Exceptions and warnings. User-facing errors also subclass the matching builtin.

Every message is one line that names what is wrong and where (model, node,
module path, shapes); the CLI prints it as is and exits with status 2.
"""

from __future__ import annotations

__all__ = [
    "CostModelError",
    "DuplicateRegistration",
    "MeasurementWarning",
    "ModelLoadError",
    "ShapeError",
    "TraceError",
    "UnsupportedInput",
    "UnsupportedOpWarning",
    "UsageError",
]


class CostModelError(Exception):
    """Root of every error raised by costmodel."""


class UnsupportedInput(CostModelError, ValueError):
    """The model or the input description is not something costmodel can analyse."""


class ShapeError(CostModelError, ValueError):
    """The input shape does not fit a layer of the model (names the layer, expected and got)."""


class TraceError(CostModelError, RuntimeError):
    """The model's ``forward`` raised something other than a shape error while it ran on meta tensors."""


class ValueDependent(TraceError):
    """A part of the model decides on tensor values, which meta tensors do not have (names the part)."""


class ModelLoadError(CostModelError, RuntimeError):
    """A model file could not be loaded, or holds no model that can be built (CLI)."""


class UsageError(CostModelError, ValueError):
    """A command-line argument is malformed (CLI)."""


class DuplicateRegistration(CostModelError, KeyError):
    """A cost formula or rule was registered twice for the same key."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0]) if self.args else ""


class MeasurementWarning(UserWarning):
    """Timings that should not be trusted as they are: a wide spread, drift, outliers, per-node disagreement."""


class UnsupportedOpWarning(UserWarning):
    """An op has no cost formula: its FLOPs are unknown and it is listed in ``Report.unsupported``."""
