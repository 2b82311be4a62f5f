"""The calibration's second stage: random synthetic networks of conv units, residual bottlenecks, shuffle units,
transformer blocks and chains of element-wise steps (seeded; no published model), timed whole to fit the per-node
overheads."""

from __future__ import annotations

import random
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from costmodel.device.calibration.ops import Shuffle
from costmodel.types import Shape

__all__ = ["networks"]


class _ConvUnit(nn.Module):
    """Conv, batch norm, optional ReLU (in place on the norm's output when ``inplace``); optionally depthwise.
    ``fold()`` folds the norm into the conv's bias, as a deployed network has it (no norm call)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, groups: int, relu: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.relu = relu
        self.inplace = False

    def fold(self) -> None:
        """Fold the norm into the conv (a bias; the norm becomes an identity)."""
        conv = self.conv
        self.conv = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                              groups=conv.groups, bias=True)  # fmt: skip
        self.bn = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        if not self.relu:
            return x
        return torch.relu_(x) if self.inplace else torch.relu(x)


class _Residual(nn.Module):
    """A random inverted or plain bottleneck with a residual add (same width in and out)."""

    def __init__(self, width: int, expand: int, depthwise: bool) -> None:
        super().__init__()
        hidden = width * expand
        self.body = nn.Sequential(
            _ConvUnit(width, hidden, 1, 1, 1, True),
            _ConvUnit(hidden, hidden, 3, 1, hidden if depthwise else 1, True),
            _ConvUnit(hidden, width, 1, 1, 1, False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class _Split(nn.Module):
    """Channel split, one branch transformed, concat, then a shuffle (a shuffle-style unit)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        half = width // 2
        self.branch = nn.Sequential(
            _ConvUnit(half, half, 1, 1, 1, True), _ConvUnit(half, half, 3, 1, half, False),
            _ConvUnit(half, half, 1, 1, 1, True),
        )  # fmt: skip
        self.shuffle = Shuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, 1)
        return self.shuffle(torch.cat([a, self.branch(b)], 1))


class _Tokens(nn.Module):
    """A pre-norm transformer block over the flattened map (attention through SDPA, a GELU MLP)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, 2 * width), nn.GELU(),
                                 nn.Linear(2 * width, width))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)
        q, k, v = self.qkv(self.norm(t)).view(n, h * w, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        t = t + self.out(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, h * w, c))
        t = t + self.mlp(t)
        return t.transpose(1, 2).reshape(n, c, h, w)


Step = Callable[[torch.Tensor], torch.Tensor]

#: Element-wise steps a ``_Chain`` draws from: each one kernel call on the whole map, no convolution.
_STEPS: tuple[Step, ...] = (
    torch.relu, torch.tanh, torch.sigmoid, F.gelu, lambda x: x * 0.5, lambda x: x + 1.0, lambda x: x.clamp(-3, 3),
)  # fmt: skip


class _Chain(nn.Module):
    """A chain of element-wise steps with a residual add: kernel calls that are not convolutions, so that the
    networks' counts of the two kinds vary apart (the network terms are fit on both)."""

    def __init__(self, steps: tuple[Step, ...]) -> None:
        super().__init__()
        self.steps = steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for step in self.steps:
            y = step(y)
        return x + y


def _random_network(rng: random.Random) -> tuple[nn.Module, Shape]:
    side = rng.choice((64, 96, 128, 160, 224))
    width = rng.choice((8, 16, 24, 32))
    layers: list[nn.Module] = [_ConvUnit(3, width, 3, 2, 1, True)]
    size = -(-side // 2)
    chatty = rng.choice((0.0, 0.15, 0.5))  # how often a layer is a chain of element-wise steps instead
    for _ in range(rng.randint(4, 14)):
        if rng.random() < chatty:
            layers.append(_Chain(tuple(rng.choice(_STEPS) for _ in range(rng.randint(2, 6)))))
            continue
        choice = rng.random()
        if choice < 0.25 and size > 7:  # down-sample and widen
            wider = min(1024, width * rng.choice((2, 2, 3)) // 2 * 2)
            depthwise = rng.random() < 0.5
            if depthwise:
                layers += [_ConvUnit(width, width, 3, 2, width, False), _ConvUnit(width, wider, 1, 1, 1, True)]
            elif rng.random() < 0.3:
                layers += [nn.MaxPool2d(3, 2, 1), _ConvUnit(width, wider, 1, 1, 1, True)]
            else:
                layers.append(_ConvUnit(width, wider, 3, 2, 1, True))
            width, size = wider, -(-size // 2)
        elif choice < 0.55:
            layers.append(_Residual(width, rng.choice((1, 2, 4, 6)), rng.random() < 0.6))
        elif choice < 0.7 and width % 4 == 0:
            layers.append(_Split(width))
        elif choice < 0.78 and size <= 14 and width % 8 == 0 and width <= 512:
            layers.append(_Tokens(width, rng.choice((1, 2, 4))))
        else:
            kernel = rng.choice((1, 3))
            groups = rng.choice((1, 1, 2, 4)) if width % 4 == 0 else 1
            layers.append(_ConvUnit(width, width, kernel, 1, groups, rng.random() < 0.8))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, rng.choice((10, 100, 1000)))]
    network = nn.Sequential(*layers)
    inplace = rng.random() < 0.5  # half the networks apply their ReLUs in place, as many published ones do
    folded = rng.random() < 0.35  # and a third are deployed: norms folded into the convs (fewer calls per conv)
    for unit in network.modules():
        if isinstance(unit, _ConvUnit):
            unit.inplace = inplace
            if folded:
                unit.fold()
    return network, (1, 3, side, side)


def networks(seed: int = 0, count: int = 40) -> tuple[tuple[str, nn.Module, Shape], ...]:
    """Random networks of conv units, residual bottlenecks, shuffle units and transformer blocks."""
    rng = random.Random(seed + 1)
    return tuple((f"random network {i}", *_random_network(rng)) for i in range(count))
