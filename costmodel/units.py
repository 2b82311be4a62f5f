"""Units, stated once: what each figure counts (``CONVENTIONS``, printed in every report header and JSON
document), counts with SI suffixes, and seconds shown as milliseconds.

Inside the library every time is in seconds; a time becomes milliseconds only where it is shown or
joins a report column (``predicted_ms``, ``time_ms``), through ``milliseconds``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["CONVENTIONS", "human", "milliseconds"]

#: The units, as printed in every report header and JSON document.
CONVENTIONS: Mapping[str, str] = {
    "flops": "multiply-adds of conv/matmul/attention (1 FMA = 1; torch's FlopCounterMode reports 2x)",
    "elementwise": "element-wise arithmetic (activations, adds, bias, norms, pooling), kept out of FLOPs",
    "mac": "memory access cost: tensor elements read + written per op as eager PyTorch runs it",
    "mac_bytes": "the same traffic in bytes, by dtype",
    "params": "unique parameter elements (shared weights counted once)",
}

_UNITS = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K"))


def human(value: float) -> str:
    """A count with an SI suffix: 146_000_000 -> '146.00M'."""
    for scale, suffix in _UNITS:
        if abs(value) >= scale:
            return f"{value / scale:.2f}{suffix}"
    return f"{value:g}"


def magnitude(value: Any) -> float:
    """A count to compare or divide: itself, or a formula of named sizes (sympy) evaluated at 64 for each size
    (which of two counts is larger, or what share one is of another, hardly depends on the sizes)."""
    if isinstance(value, int | float):
        return value
    return float(value.xreplace(dict.fromkeys(value.free_symbols, 64)))


def milliseconds(seconds: float) -> float:
    """Seconds as milliseconds: for a column or a message, never for arithmetic."""
    return seconds * 1e3
