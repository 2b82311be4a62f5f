"""The ShuffleNet V2 paper's micro-benchmark networks for guidelines G1-G4 (Tables 1-4).

Each network stacks 10 blocks on a 56x56 input (the captions of Tables 1-3; Table
4 states no size, so 56x56 is used there too). Channel counts are the paper's
where it gives them (``docs/paper-tables.md``); where it gives only the
rule (equal FLOPs), the derivation is in the docstring.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = [
    "G1_CHANNELS",
    "G2_CHANNELS",
    "G3_STRUCTURES",
    "FragmentBlock",
    "g1_network",
    "g2_network",
    "g2_width",
    "g3_network",
    "g4_network",
]

REPEATS = 10
SIZE = 56

#: Table 1: (c1, c2) at scale x1 per ratio, for GPU and for ARM.
G1_CHANNELS: dict[str, dict[str, tuple[int, int]]] = {
    "gpu": {"1:1": (128, 128), "1:2": (90, 180), "1:6": (52, 312), "1:12": (36, 432)},
    "arm": {"1:1": (32, 32), "1:2": (22, 44), "1:6": (13, 78), "1:12": (9, 108)},
}
#: Table 2: channels c at scale x1 per group count, for GPU and for CPU (ARM).
G2_CHANNELS: dict[str, dict[int, int]] = {
    "gpu": {1: 128, 2: 180, 4: 256, 8: 360},
    "arm": {1: 64, 2: 90, 4: 128, 8: 180},
}
#: Table 3 rows: (fragments, parallel).
G3_STRUCTURES: dict[str, tuple[int, bool]] = {
    "1-fragment": (1, False),
    "2-fragment-series": (2, False),
    "4-fragment-series": (4, False),
    "2-fragment-parallel": (2, True),
    "4-fragment-parallel": (4, True),
}


class TwoConvBlock(nn.Module):
    """Table 1 block: 1x1 conv c1 -> c2, then 1x1 conv c2 -> c1 (no norm, no activation)."""

    def __init__(self, c1: int, c2: int) -> None:
        super().__init__()
        self.expand = nn.Conv2d(c1, c2, 1, bias=False)
        self.reduce = nn.Conv2d(c2, c1, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.reduce(self.expand(x))


def g1_network(ratio: str = "1:1", platform: str = "gpu", scale: int = 1) -> nn.Sequential:
    """Table 1: 10 blocks of two 1x1 convs at widths c1:c2, equal FLOPs across ratios.

    ``scale`` multiplies both widths (the table's x1/x2/x4 columns).
    """
    c1, c2 = G1_CHANNELS[platform][ratio]
    return nn.Sequential(*[TwoConvBlock(c1 * scale, c2 * scale) for _ in range(REPEATS)])


def g2_network(groups: int = 1, platform: str = "gpu", scale: int = 1) -> nn.Sequential:
    """Table 2: 10 pointwise group convs c -> c with ``groups`` groups, equal FLOPs across g.

    NB: the paper's CPU width for g = 8 is 180, which 8 does not divide; it is rounded to
    the nearest multiple of g (184, +3% FLOPs). ``g2_width`` gives the width used.
    """
    c = g2_width(groups, platform, scale)
    return nn.Sequential(*[nn.Conv2d(c, c, 1, groups=groups, bias=False) for _ in range(REPEATS)])


def g2_width(groups: int, platform: str = "gpu", scale: int = 1) -> int:
    """The Table 2 width c, rounded to the nearest multiple of ``groups``."""
    return max(groups, round(G2_CHANNELS[platform][groups] * scale / groups) * groups)


class FragmentBlock(nn.Module):
    """Table 3 block: 1 to 4 1x1 convs in series or in parallel, FLOPs equal to one c x c conv.

    Series of k: c -> m -> ... -> m -> c with m chosen so that the FLOPs match
    c*c (2*c*m + (k-2)*m*m = c*c). Parallel of k: k branches c -> c/k joined by
    concat (the paper's figure does not say concat or add; concat keeps FLOPs equal).
    """

    def __init__(self, c: int, fragments: int, parallel: bool) -> None:
        super().__init__()
        self.parallel = parallel
        if parallel:
            self.branches = nn.ModuleList(nn.Conv2d(c, c // fragments, 1, bias=False) for _ in range(fragments))
        else:
            k = fragments
            # k <= 2: c -> c/2 -> c; else the positive root of (k - 2) m^2 + 2 c m - c^2 = 0
            mid = c // k if k <= 2 else round((-2 * c + math.sqrt(4 * c * c + 4 * (k - 2) * c * c)) / (2 * (k - 2)))
            widths = [c, *([mid] * (k - 1)), c] if k > 1 else [c, c]
            self.branches = nn.ModuleList(nn.Conv2d(widths[i], widths[i + 1], 1, bias=False) for i in range(k))

    def forward(self, x: Tensor) -> Tensor:
        if self.parallel:
            return torch.cat([branch(x) for branch in self.branches], dim=1)
        for conv in self.branches:
            x = conv(x)
        return x


def g3_network(structure: str = "1-fragment", c: int = 128) -> nn.Sequential:
    """Table 3: 10 blocks of one of the five structures, c channels (GPU 128/256/512, CPU 64/128/256)."""
    fragments, parallel = G3_STRUCTURES[structure]
    return nn.Sequential(*[FragmentBlock(c, fragments, parallel) for _ in range(REPEATS)])


class Bottleneck(nn.Module):
    """Table 4 unit: 1x1 conv -> 3x3 conv -> 1x1 conv, each c -> c, with optional ReLUs and shortcut."""

    def __init__(self, c: int, relu: bool, shortcut: bool) -> None:
        super().__init__()
        self.relu, self.shortcut = relu, shortcut
        self.conv1 = nn.Conv2d(c, c, 1, bias=False)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.conv3 = nn.Conv2d(c, c, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv1(x)
        out = out.relu() if self.relu else out
        out = self.conv2(out)
        out = out.relu() if self.relu else out
        out = self.conv3(out)
        out = out + x if self.shortcut else out
        return out.relu() if self.relu else out


def g4_network(relu: bool = True, shortcut: bool = True, c: int = 32) -> nn.Sequential:
    """Table 4: 10 ResNet bottleneck units (c = 32/64/128), with or without ReLU and shortcut."""
    return nn.Sequential(*[Bottleneck(c, relu, shortcut) for _ in range(REPEATS)])
