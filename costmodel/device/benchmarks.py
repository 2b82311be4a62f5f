"""The calibration's synthetic micro-benchmarks: one small module per case, one op family each.

Shapes are drawn (seeded) over the ranges that vision and sequence models use:
channels 3-1024, feature maps 7-224, kernels 1-7, strides 1-2, groups up to
depthwise, matrix sides 16-4096, tensors from a hundred to millions of
elements. No case is a layer of a real network.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from costmodel.device.families import Family
from costmodel.types import Shape

__all__ = ["Case", "cases", "networks"]


@dataclass(frozen=True, slots=True)
class Case:
    """A micro-benchmark: the family it calibrates, a builder of its module, and its input shapes."""

    name: str
    family: Family
    build: Callable[[], nn.Module]
    inputs: tuple[Shape, ...]


class _Binary(nn.Module):
    """``x op y`` on two same-shaped inputs (add, mul)."""

    def __init__(self, multiply: bool) -> None:
        super().__init__()
        self.multiply = multiply

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x * y if self.multiply else x + y


class _Unary(nn.Module):
    """One functional element-wise op."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


class _Concat(nn.Module):
    """Split along channels and concatenate in swapped order: one copy of the whole tensor."""

    def __init__(self, parts: int) -> None:
        super().__init__()
        self.parts = parts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(list(reversed(x.chunk(self.parts, 1))), 1)


class _Shuffle(nn.Module):
    """Channel shuffle: view, transpose, contiguous copy, view."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


class _Permute(nn.Module):
    """Attention's head split: [n, s, h, d] -> [n, h, s, d] made contiguous."""

    def __init__(self, heads: int) -> None:
        super().__init__()
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, s, d = x.shape
        return x.view(n, s, self.heads, d // self.heads).transpose(1, 2).contiguous()


class _Pad(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (1, 1, 1, 1))


class _Views(nn.Module):
    """Only views: reshape, transpose, slice."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1).transpose(0, 1)[1:]


class _Mean(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3))


class _Bmm(nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.bmm(x, y)


def _log_choice(rng: random.Random, low: int, high: int) -> int:
    return round(math.exp(rng.uniform(math.log(low), math.log(high))))


def _channels(rng: random.Random) -> int:
    return rng.choice((8, 12, 16, 24, 32, 48, 58, 64, 96, 116, 128, 160, 192, 232, 256, 320, 384, 464, 512, 768, 1024))


def _conv_cases(rng: random.Random, count: int) -> Iterator[Case]:
    kinds = (Family.CONV_1X1, Family.CONV_KXK, Family.CONV_GROUPED, Family.CONV_DEPTHWISE)
    made = dict.fromkeys(kinds, 0)
    while min(made.values()) < count:
        family = kinds[min(range(4), key=lambda i: made[kinds[i]])]
        size = rng.choice((7, 14, 28, 56, 112))
        c_in, c_out = _channels(rng), _channels(rng)
        kernel, stride, groups = 1, rng.choice((1, 1, 2)), 1
        if family is Family.CONV_KXK:
            kernel = rng.choice((3, 3, 3, 5, 7))
            if rng.random() < 0.15:  # a stem: few input channels on a large map
                c_in, size = 3, rng.choice((112, 224))
        elif family is Family.CONV_GROUPED:
            groups = rng.choice((2, 3, 4, 8))
            kernel = rng.choice((1, 1, 3))
            c_in, c_out = groups * max(1, c_in // groups), groups * max(1, c_out // groups)
        elif family is Family.CONV_DEPTHWISE:
            kernel, c_out = rng.choice((3, 3, 5)), c_in
            groups = c_in
        out = -(-size // stride)
        if out * out * c_out * c_in // groups * kernel * kernel > 3e8:  # keep each case under ~20 ms
            continue
        made[family] += 1
        yield Case(
            f"{family.value} {c_in}->{c_out} k{kernel} s{stride} g{groups} @{size}",
            family,
            lambda c_in=c_in, c_out=c_out, kernel=kernel, stride=stride, groups=groups: nn.Conv2d(
                c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False
            ),
            ((1, c_in, size, size),),
        )


def _matmul_cases(rng: random.Random, count: int) -> Iterator[Case]:
    for index in range(count):
        if index % 4 == 3:
            b, m, k, n = rng.choice((4, 8, 12)), _log_choice(rng, 16, 256), 64, _log_choice(rng, 16, 256)
            yield Case(f"bmm {b}x{m}x{k}x{n}", Family.MATMUL, _Bmm, ((b, m, k), (b, k, n)))
            continue
        tokens, k, n = _log_choice(rng, 1, 512), _log_choice(rng, 32, 2048), _log_choice(rng, 32, 4096)
        if tokens * k * n > 3e8:
            tokens = max(1, int(3e8 // (k * n)))
        yield Case(
            f"linear {tokens}x{k}->{n}",
            Family.MATMUL,
            lambda k=k, n=n: nn.Linear(k, n),
            ((tokens, k),),
        )


#: (name, op, family): the activations of vision and sequence models; the transcendental ones have a family
#: of their own (an exponential per element costs several times a ReLU).
_UNARY: tuple[tuple[str, Callable[[torch.Tensor], torch.Tensor], Family], ...] = (
    ("relu", torch.relu, Family.ELEMENTWISE),
    ("relu6", F.relu6, Family.ELEMENTWISE),
    ("sigmoid", torch.sigmoid, Family.TRANSCENDENTAL),
    ("silu", F.silu, Family.TRANSCENDENTAL),
    ("gelu", F.gelu, Family.TRANSCENDENTAL),
    ("hardswish", F.hardswish, Family.ELEMENTWISE),
    ("softmax", lambda x: x.softmax(-1), Family.TRANSCENDENTAL),
)


def _map_shape(rng: random.Random) -> Shape:
    size = rng.choice((7, 14, 28, 56, 112))
    return (1, _channels(rng), size, size)


def _elementwise_cases(rng: random.Random, count: int) -> Iterator[Case]:
    for index in range(count):
        shape = _map_shape(rng)
        if index % 3 == 0:
            multiply = index % 2 == 0
            yield Case(f"{'mul' if multiply else 'add'} {shape}", Family.ELEMENTWISE, lambda m=multiply: _Binary(m),
                       (shape, shape))  # fmt: skip
        else:
            name, fn, family = _UNARY[index % len(_UNARY)]
            yield Case(f"{name} {shape}", family, lambda fn=fn: _Unary(fn), (shape,))


def _other_cases(rng: random.Random, count: int) -> Iterator[Case]:
    for index in range(count):
        shape = _map_shape(rng)
        c = shape[1]
        yield Case(f"batch norm {shape}", Family.NORM, lambda c=c: nn.BatchNorm2d(c).eval(), (shape,))
        tokens, width = _log_choice(rng, 1, 512), rng.choice((64, 128, 256, 384, 512, 768, 1024))
        yield Case(f"layer norm {tokens}x{width}", Family.NORM, lambda w=width: nn.LayerNorm(w), ((tokens, width),))
        pool = (nn.MaxPool2d(3, 2, 1), nn.AvgPool2d(2), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1))[index % 4]
        yield Case(f"{type(pool).__name__} {shape}", Family.POOL, lambda p=pool: p, (shape,))
        yield Case(f"mean {shape}", Family.REDUCTION, _Mean, (shape,))
        even = (shape[0], c - c % 4 or 4, shape[2], shape[3])
        copy = (_Concat(2), _Concat(4), _Pad())[index % 3]
        yield Case(f"{type(copy).__name__} {even}", Family.COPY, lambda m=copy: m, (even,))
        groups = (2, 3, 4, 8)[index % 4]
        grouped = (shape[0], max(groups, c - c % groups), shape[2], shape[3])
        yield Case(f"shuffle g{groups} {grouped}", Family.REORDER, lambda g=groups: _Shuffle(g), (grouped,))
        if index % 2 == 1:
            heads = rng.choice((2, 4, 8, 12))
            yield Case(f"head split {heads} {tokens}x{width}", Family.REORDER, lambda h=heads: _Permute(h),
                       ((1, tokens, heads * (width // heads)),))  # fmt: skip
        if index % 2 == 0:
            yield Case(f"views {shape}", Family.VIEW, _Views, (shape,))


def cases(seed: int = 0, scale: float = 1.0) -> tuple[Case, ...]:
    """The micro-benchmark suite (``scale`` multiplies the number of cases per family)."""
    rng = random.Random(seed)
    per = max(3, round(14 * scale))
    return (
        *_conv_cases(rng, max(4, round(24 * scale))),
        *_matmul_cases(rng, max(4, round(20 * scale))),
        *_elementwise_cases(rng, max(6, round(30 * scale))),
        *_other_cases(rng, per),
    )


# -- random synthetic networks: the second calibration stage ---------------------------------------


class _ConvUnit(nn.Module):
    """Conv, batch norm, optional ReLU; optionally depthwise."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, groups: int, relu: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return torch.relu(x) if self.relu else x


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
        self.shuffle = _Shuffle(2)

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


def _random_network(rng: random.Random) -> tuple[nn.Module, Shape]:
    side = rng.choice((64, 96, 128, 160, 224))
    width = rng.choice((8, 16, 24, 32))
    layers: list[nn.Module] = [_ConvUnit(3, width, 3, 2, 1, True)]
    size = -(-side // 2)
    for _ in range(rng.randint(4, 14)):
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
    return nn.Sequential(*layers), (1, 3, side, side)


def networks(seed: int = 0, count: int = 40) -> tuple[tuple[str, nn.Module, Shape], ...]:
    """Random networks of conv units, residual bottlenecks, shuffle units and transformer blocks."""
    rng = random.Random(seed + 1)
    return tuple((f"random network {i}", *_random_network(rng)) for i in range(count))
