"""Closed forms of the ShuffleNet V2 memory-access model, generalised to k x k and groups.

For a stride-1 conv over N output positions (N = n*h*w) with c1 in, c2 out, g
groups and a k x k kernel (kk = k*k):

    B   = N * kk * c1 * c2 / g                (multiply-adds)
    MAC = N * (c1 + c2) + kk * c1 * c2 / g    (activations in and out, weights)

G1: at fixed B, MAC >= 2*sqrt(N*B*g/kk) + B/N, equality iff c1 = c2
    (the paper's 2*sqrt(hw*B) + B/hw for 1x1, g = 1).
G2: at fixed B and c1, MAC = N*c1 + B*g/(kk*c1) + B/N, increasing in g.

The functions only add, multiply, divide and take square roots, so they serve
ints, floats and sympy symbols alike (``costmodel.proofs`` uses them symbolically).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["conv_flops", "conv_mac", "g1_lower_bound", "g2_mac", "sqrt"]


def sqrt(value: Any) -> Any:
    """Square root of a number, or of a sympy expression (imported only then)."""
    if isinstance(value, int | float):
        return math.sqrt(value)
    import sympy

    return sympy.sqrt(value)


def conv_flops(positions: Any, c1: Any, c2: Any, groups: Any = 1, kernel_area: Any = 1) -> Any:
    """B = N * kk * c1 * c2 / g multiply-adds."""
    return positions * kernel_area * c1 * c2 / groups


def conv_mac(positions: Any, c1: Any, c2: Any, groups: Any = 1, kernel_area: Any = 1) -> Any:
    """MAC = N * (c1 + c2) + kk * c1 * c2 / g elements (stride 1, no bias)."""
    return positions * (c1 + c2) + kernel_area * c1 * c2 / groups


def g1_lower_bound(positions: Any, flops: Any, groups: Any = 1, kernel_area: Any = 1) -> Any:
    """The least MAC any (c1, c2) split can have at ``flops`` multiply-adds: reached at c1 = c2."""
    return 2 * sqrt(positions * flops * groups / kernel_area) + flops / positions


def g2_mac(positions: Any, c1: Any, flops: Any, groups: Any, kernel_area: Any = 1) -> Any:
    """MAC of a conv with c1 inputs and ``groups`` groups at fixed ``flops``: N*c1 + B*g/(kk*c1) + B/N."""
    return positions * c1 + flops * groups / (kernel_area * c1) + flops / positions
