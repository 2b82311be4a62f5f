"""G3 fixtures."""

import torch
from torch import Tensor, nn

INPUT_SHAPE = (1, 64, 28, 28)


class Inception(nn.Module):
    def __init__(self, c: int = 64):
        super().__init__()
        self.b1 = nn.Conv2d(c, 16, 1)
        self.b2 = nn.Sequential(nn.Conv2d(c, 16, 1), nn.Conv2d(16, 16, 3, padding=1))
        self.b3 = nn.Sequential(nn.Conv2d(c, 16, 1), nn.Conv2d(16, 16, 5, padding=2))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(c, 16, 1))

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


#: G3
class InceptionNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Inception(), Inception())

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(x)


class Chain(nn.Module):
    def __init__(self, n: int):
        super().__init__()
        self.convs = nn.Sequential(*[nn.Conv2d(64, 64, 1) for _ in range(n)])

    def forward(self, x: Tensor) -> Tensor:
        return self.convs(x)


#: G3
class FiveInSeriesPerBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Chain(5), Chain(5))

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(x)


#: Okay
class ThreeInSeriesPerBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Chain(3), Chain(3))

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(x)


#: Okay
class PlainDeepStack(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(*[nn.Conv2d(64, 64, 3, padding=1) for _ in range(12)])

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(64, 16, 1), nn.Conv2d(16, 16, 3, padding=1), nn.Conv2d(16, 64, 1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


#: Okay
class ResNetBottlenecks(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Residual(), Residual())

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(x)
