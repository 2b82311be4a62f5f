"""Tiny purpose-made networks for the tests, each saying what it exercises."""

from __future__ import annotations

import torch
from torch import nn


class ShapeBranch(nn.Module):
    """Python control flow on a shape: meta tensors carry shapes, so the walk takes the branch a real run takes."""

    def __init__(self) -> None:
        super().__init__()
        self.small = nn.Conv2d(8, 8, 1)
        self.large = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] > 4:
            return self.large(x)
        return self.small(x)


class ValueBranch(nn.Module):
    """Control flow on tensor values: no shape-only analysis can follow it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return x * 2
        return x


class UntraceableRoot(nn.Module):
    """The model's own forward branches on a shape (torch.fx could not trace it; the eager walk can)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > 1:
            return self.conv(x)
        return self.conv(x) + 1


class SharedWeights(nn.Module):
    """One linear layer applied twice, plus a tied parameter used through get_attr."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(16, 16)
        self.scale = nn.Parameter(torch.ones(16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.fc(x)) * self.scale


class TwoInputs(nn.Module):
    """Image and a side vector, joined by broadcasting add."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1, bias=False)
        self.fc = nn.Linear(6, 4, bias=False)

    def forward(self, image: torch.Tensor, side: torch.Tensor) -> torch.Tensor:
        return self.conv(image) + self.fc(side)[:, :, None, None]


def small_cnn() -> nn.Sequential:
    """conv-bn-relu, pool, linear: a little of every common op."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 5),
    )
