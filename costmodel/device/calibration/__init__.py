"""What the calibration times: synthetic micro-benchmarks by op family (``cases``), the small modules they are
made of (``ops``), random synthetic networks (``networks``), the probes of freshly mapped pages (``memory``) and of
each transcendental op's cost per element (``weights``). Never a published model."""

from costmodel.device.calibration.cases import Case, cases
from costmodel.device.calibration.networks import networks

__all__ = ["Case", "cases", "networks"]
