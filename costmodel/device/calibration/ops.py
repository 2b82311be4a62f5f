"""The small modules the calibration times: one op or one pattern each (binary and unary element-wise ops,
concatenation, channel shuffle, permutes, padding, views, reductions, batched products, linear layers whose
weights are read from memory, as a network reads them, and an add into a fresh output or into a kept buffer)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "Binary",
    "Bmm",
    "ColdLinear",
    "Concat",
    "Gather",
    "Mean",
    "Pad",
    "Permute",
    "Shifted",
    "Shuffle",
    "Unary",
    "Views",
]


class Binary(nn.Module):
    """``x op y`` on two same-shaped inputs (add, mul)."""

    def __init__(self, multiply: bool) -> None:
        super().__init__()
        self.multiply = multiply

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x * y if self.multiply else x + y


class Gather(nn.Module):
    """A gather by an index made once (seeded): ``x[index]`` (rows of a table), ``x[:, index]`` (a per-head bias by
    relative offset) or ``torch.gather`` along the last dimension."""

    def __init__(self, mode: str, rows: int, index_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.mode = mode
        generator = torch.Generator().manual_seed(rows)
        self.register_buffer("index", torch.randint(0, rows, index_shape, generator=generator))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "rows":
            return x[self.index]
        if self.mode == "columns":
            return x[:, self.index]
        return torch.gather(x, -1, self.index)


class Unary(nn.Module):
    """One functional element-wise op."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


class Concat(nn.Module):
    """Split along channels and concatenate in swapped order: one copy of the whole tensor."""

    def __init__(self, parts: int) -> None:
        super().__init__()
        self.parts = parts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(list(reversed(x.chunk(self.parts, 1))), 1)


class Shuffle(nn.Module):
    """Channel shuffle: view, transpose, contiguous copy, view."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


class Permute(nn.Module):
    """Attention's head split: [n, s, h, d] -> [n, h, s, d] made contiguous."""

    def __init__(self, heads: int) -> None:
        super().__init__()
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, s, d = x.shape
        return x.view(n, s, self.heads, d // self.heads).transpose(1, 2).contiguous()


class Pad(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (1, 1, 1, 1))


class Views(nn.Module):
    """Only views: reshape, transpose, slice."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1).transpose(0, 1)[1:]


class Mean(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3))


class Bmm(nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.bmm(x, y)


class ColdLinear(nn.Linear):
    """A linear layer timed as a network meets it: its weights not in cache.

    A network reads each layer's weights once per call, long after the layer last ran; a micro-benchmark that
    calls one layer back to back finds them in cache. Once ``rotate`` gives it a pool larger than the
    last-level cache, each call reads the next copy of the weights from the pool. Costed, it is ``nn.Linear``:
    the same ATen calls on the same shapes.
    """

    def rotate(self, pool: torch.Tensor) -> None:
        """Read the weights from successive slices of ``pool`` (a flat tensor of the weights' dtype and device)."""
        size = self.weight.numel()
        self._copies = [
            pool[i * size : (i + 1) * size].view_as(self.weight) for i in range(max(1, pool.numel() // size))
        ]
        self._next = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        copies = getattr(self, "_copies", None)
        if not copies:
            return super().forward(x)
        self._next = (self._next + 1) % len(copies)
        return F.linear(x, copies[self._next], self.bias)


class Shifted(nn.Module):
    """``x + 1`` into a fresh output, or (``into``) into a buffer of ``numel`` elements kept from call to call: the
    pair times what a new output costs beyond its traffic (the allocator's fresh pages)."""

    def __init__(self, numel: int, into: bool) -> None:
        super().__init__()
        self.register_buffer("out", torch.empty(numel) if into else None, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 1 if self.out is None else torch.add(x, 1, out=self.out)
