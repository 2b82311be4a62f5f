"""What the calibration times: synthetic micro-benchmarks by op family (``cases``), the small modules they are
made of (``ops``), and random synthetic networks (``networks``). Never a published model."""

from costmodel.device.calibration.cases import Case, cases
from costmodel.device.calibration.networks import networks

__all__ = ["Case", "cases", "networks"]
