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

import torch
from torch import nn
from torch.nn import functional as F

from costmodel.device.calibration.ops import (
    Binary,
    Bmm,
    ColdLinear,
    Concat,
    Gather,
    Mean,
    Pad,
    Permute,
    Shuffle,
    Unary,
    Views,
)
from costmodel.device.families import Family
from costmodel.records import record
from costmodel.types import Shape

__all__ = ["Case", "cases"]


@record
class Case:
    """A micro-benchmark: the family it calibrates, a builder of its module, and its input shapes.

    ``cold``: the twin of the case before it, its weights read from memory (``ColdLinear``): it calibrates the
    cost of a matrix product's weights in a network, not its family.
    """

    name: str
    family: Family
    build: Callable[[], nn.Module]
    inputs: tuple[Shape, ...]
    cold: bool = False


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
            yield Case(f"bmm {b}x{m}x{k}x{n}", Family.MATMUL, Bmm, ((b, m, k), (b, k, n)))
            continue
        tokens, k, n = _log_choice(rng, 1, 512), _log_choice(rng, 32, 2048), _log_choice(rng, 32, 4096)
        if tokens * k * n > 3e8:
            tokens = max(1, int(3e8 // (k * n)))
        yield Case(f"linear {tokens}x{k}->{n}", Family.MATMUL, lambda k=k, n=n: nn.Linear(k, n), ((tokens, k),))
        yield Case(f"linear {tokens}x{k}->{n} cold", Family.MATMUL, lambda k=k, n=n: ColdLinear(k, n), ((tokens, k),),
                   cold=True)  # fmt: skip


def _gather_cases(rng: random.Random, count: int) -> Iterator[Case]:
    """Gathers by an index: rows of a table (an embedding-like lookup, a relative position bias table), columns
    per head (``bias[:, index]``), both of the index family, and ``torch.gather``, of the gather family; square
    indices of a window's or a map's tokens, or flat ones of a graph's edges."""
    made = 0
    while made < count:
        mode = ("rows", "columns", "gather")[made % 3]
        rows, width = _log_choice(rng, 16, 4096), rng.choice((1, 3, 4, 8, 16, 24, 64, 256))
        side = rng.choice((7, 14, 49, 64, 196))
        index = (side, side) if rng.random() < 0.5 else (_log_choice(rng, 64, 50000),)
        if mode == "gather":
            index = (width, math.prod(index))
        if width * math.prod(index) > 2e6:  # keep each case under a few ms
            continue
        shape = (rows, width) if mode == "rows" else (width, rows)
        made += 1
        kind = Family.GATHER if mode == "gather" else Family.INDEX  # torch.gather, else advanced indexing
        yield Case(f"{kind.value} {mode} {shape} by {index}", kind,
                   lambda m=mode, r=rows, i=index: Gather(m, r, i), (shape,))  # fmt: skip


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
            yield Case(f"{'mul' if multiply else 'add'} {shape}", Family.ELEMENTWISE, lambda m=multiply: Binary(m),
                       (shape, shape))  # fmt: skip
        else:
            name, fn, family = _UNARY[index % len(_UNARY)]
            yield Case(f"{name} {shape}", family, lambda fn=fn: Unary(fn), (shape,))


#: Pools of both kinds, strided (down-sampling) and not (a branch's or token mixer's; at most 28x28, they are slow).
_POOLS: tuple[tuple[nn.Module, Family], ...] = (
    (nn.MaxPool2d(3, 2, 1), Family.MAX_POOL),
    (nn.AvgPool2d(2), Family.POOL),
    (nn.MaxPool2d(2), Family.MAX_POOL),
    (nn.AdaptiveAvgPool2d(1), Family.POOL),
    (nn.MaxPool2d(3, 1, 1), Family.MAX_POOL),
    (nn.AvgPool2d(3, 1, 1, count_include_pad=False), Family.POOL),
)


def _other_cases(rng: random.Random, count: int) -> Iterator[Case]:
    for index in range(count):
        shape = _map_shape(rng)
        c = shape[1]
        yield Case(f"batch norm {shape}", Family.NORM, lambda c=c: nn.BatchNorm2d(c).eval(), (shape,))
        tokens, width = _log_choice(rng, 1, 512), rng.choice((64, 128, 256, 384, 512, 768, 1024))
        yield Case(f"layer norm {tokens}x{width}", Family.NORM, lambda w=width: nn.LayerNorm(w), ((tokens, width),))
        pool, kind = _POOLS[index % len(_POOLS)]
        pooled = shape if getattr(pool, "stride", None) != 1 else (*shape[:2], min(shape[2], 28), min(shape[3], 28))
        yield Case(f"{pool} {pooled}", kind, lambda p=pool: p, (pooled,))
        yield Case(f"mean {shape}", Family.REDUCTION, Mean, (shape,))
        even = (shape[0], c - c % 4 or 4, shape[2], shape[3])
        copy = (Concat(2), Concat(4), Pad())[index % 3]
        yield Case(f"{type(copy).__name__} {even}", Family.COPY, lambda m=copy: m, (even,))
        groups = (2, 3, 4, 8)[index % 4]
        grouped = (shape[0], max(groups, c - c % groups), shape[2], shape[3])
        yield Case(f"shuffle g{groups} {grouped}", Family.REORDER, lambda g=groups: Shuffle(g), (grouped,))
        if index % 2 == 1:
            heads = rng.choice((2, 4, 8, 12))
            yield Case(f"head split {heads} {tokens}x{width}", Family.REORDER, lambda h=heads: Permute(h),
                       ((1, tokens, heads * (width // heads)),))  # fmt: skip
        if index % 2 == 0:
            yield Case(f"views {shape}", Family.VIEW, Views, (shape,))


def cases(seed: int = 0, scale: float = 1.0) -> tuple[Case, ...]:
    """The micro-benchmark suite (``scale`` multiplies the number of cases per family)."""
    rng = random.Random(seed)
    per = max(3, round(14 * scale))
    return (
        *_conv_cases(rng, max(4, round(24 * scale))),
        *_matmul_cases(rng, max(4, round(20 * scale))),
        *_elementwise_cases(rng, max(6, round(30 * scale))),
        *_other_cases(rng, per),
        *_gather_cases(rng, max(9, round(9 * scale))),
    )
