"""Architecture families the latency profile is judged on, written from their papers (never calibrated on).

Each builder returns an ``nn.Module`` in its inference form (reparameterised networks in their deployed,
single-branch form) taking a ``(batch, 3, side, side)`` image. Widths and depths follow the papers' smallest
published configurations (named after them); weights are random. ``FAMILIES`` maps a name to
``(builder, side)``; ``transformers_models()`` adds Hugging Face transformers built from configs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["FAMILIES", "transformers_models"]


def _divisible(value: float, divisor: int = 8) -> int:
    """Round a width to a multiple of ``divisor``, never below 90% of it (the MobileNet rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _conv(
    c_in: int, c_out: int, k: int = 1, s: int = 1, g: int = 1, act: type[nn.Module] | None = nn.ReLU
) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(c_out)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


class _SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018): global pool, reduce, expand, gate the channels."""

    def __init__(self, c: int, hidden: int, act: type[nn.Module] = nn.ReLU, gate: type[nn.Module] = nn.Sigmoid):
        super().__init__()
        self.reduce, self.act = nn.Conv2d(c, hidden, 1), act()
        self.expand, self.gate = nn.Conv2d(hidden, c, 1), gate()

    def forward(self, x: Tensor) -> Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        return x * self.gate(self.expand(self.act(self.reduce(s))))


class _InvertedResidual(nn.Module):
    """MobileNetV2/V3 and EfficientNet's block: expand 1x1, depthwise kxk, optional SE, project 1x1."""

    def __init__(self, c_in: int, hidden: int, c_out: int, k: int, s: int, se: int | None,
                 act: type[nn.Module], gate: type[nn.Module] = nn.Hardsigmoid) -> None:  # fmt: skip
        super().__init__()
        layers: list[nn.Module] = [] if hidden == c_in else [_conv(c_in, hidden, 1, act=act)]
        layers.append(_conv(hidden, hidden, k, s, hidden, act=act))
        if se:
            layers.append(_SqueezeExcite(hidden, se, nn.ReLU if gate is nn.Hardsigmoid else act, gate))
        layers.append(_conv(hidden, c_out, 1, act=None))
        self.body = nn.Sequential(*layers)
        self.residual = s == 1 and c_in == c_out

    def forward(self, x: Tensor) -> Tensor:
        y = self.body(x)
        return x + y if self.residual else y


def _head(c: int, classes: int = 1000) -> list[nn.Module]:
    return [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)]


def mobilenet_v3(large: bool) -> nn.Module:
    """MobileNetV3 (Howard et al. 2019), Tables 1-2: hardswish, SE with a hard-sigmoid gate."""
    hs, re = nn.Hardswish, nn.ReLU
    # (kernel, expansion, out, SE, activation, stride)
    small = [(3, 16, 16, 1, re, 2), (3, 72, 24, 0, re, 2), (3, 88, 24, 0, re, 1), (5, 96, 40, 1, hs, 2),
             (5, 240, 40, 1, hs, 1), (5, 240, 40, 1, hs, 1), (5, 120, 48, 1, hs, 1), (5, 144, 48, 1, hs, 1),
             (5, 288, 96, 1, hs, 2), (5, 576, 96, 1, hs, 1), (5, 576, 96, 1, hs, 1)]  # fmt: skip
    big = [(3, 16, 16, 0, re, 1), (3, 64, 24, 0, re, 2), (3, 72, 24, 0, re, 1), (5, 72, 40, 1, re, 2),
           (5, 120, 40, 1, re, 1), (5, 120, 40, 1, re, 1), (3, 240, 80, 0, hs, 2), (3, 200, 80, 0, hs, 1),
           (3, 184, 80, 0, hs, 1), (3, 184, 80, 0, hs, 1), (3, 480, 112, 1, hs, 1), (3, 672, 112, 1, hs, 1),
           (5, 672, 160, 1, hs, 2), (5, 960, 160, 1, hs, 1), (5, 960, 160, 1, hs, 1)]  # fmt: skip
    layers: list[nn.Module] = [_conv(3, 16, 3, 2, act=hs)]
    c = 16
    for k, hidden, out, se, act, s in big if large else small:
        layers.append(_InvertedResidual(c, hidden, out, k, s, _divisible(hidden / 4) if se else None, act))
        c = out
    last, head = (960, 1280) if large else (576, 1024)
    layers += [_conv(c, last, act=hs), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(last, head), nn.Hardswish(),
               nn.Linear(head, 1000)]  # fmt: skip
    return nn.Sequential(*layers)


def efficientnet_b0() -> nn.Module:
    """EfficientNet-B0 (Tan & Le 2019), Table 1: MBConv with SiLU and SE (reduce 4x of the block's input)."""
    stages = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
              (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]  # (expansion, kernel, stride, out, repeats)  # fmt: skip
    layers: list[nn.Module] = [_conv(3, 32, 3, 2, act=nn.SiLU)]
    c = 32
    for expansion, k, s, out, repeats in stages:
        for i in range(repeats):
            layers.append(_InvertedResidual(c, c * expansion, out, k, s if i == 0 else 1, max(1, c // 4), nn.SiLU,
                                            nn.Sigmoid))  # fmt: skip
            c = out
    return nn.Sequential(*layers, _conv(c, 1280, act=nn.SiLU), *_head(1280))


class _Ghost(nn.Module):
    """GhostNet's module (Han et al. 2020): half the outputs by a 1x1 conv, the other half by a cheap depthwise."""

    def __init__(self, c_in: int, c_out: int, relu: bool) -> None:
        super().__init__()
        half = math.ceil(c_out / 2)
        act = nn.ReLU if relu else None
        self.primary, self.cheap, self.c_out = _conv(c_in, half, 1, act=act), _conv(half, half, 3, 1, half, act), c_out

    def forward(self, x: Tensor) -> Tensor:
        a = self.primary(x)
        return torch.cat([a, self.cheap(a)], 1)[:, : self.c_out]


class _GhostBottleneck(nn.Module):
    def __init__(self, c_in: int, hidden: int, c_out: int, k: int, s: int, se: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = [_Ghost(c_in, hidden, True)]
        if s > 1:
            layers.append(_conv(hidden, hidden, k, s, hidden, act=None))
        if se:
            layers.append(_SqueezeExcite(hidden, _divisible(hidden / 4, 4), nn.ReLU, nn.Hardsigmoid))
        layers.append(_Ghost(hidden, c_out, False))
        self.body = nn.Sequential(*layers)
        self.shortcut = (
            nn.Identity() if s == 1 and c_in == c_out
            else nn.Sequential(_conv(c_in, c_in, k, s, c_in, act=None), _conv(c_in, c_out, 1, act=None))
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x) + self.shortcut(x)


def ghostnet() -> nn.Module:
    """GhostNet 1.0x (Han et al. 2020), Table 7."""
    cfg = [(3, 16, 16, 0, 1), (3, 48, 24, 0, 2), (3, 72, 24, 0, 1), (5, 72, 40, 1, 2), (5, 120, 40, 1, 1),
           (3, 240, 80, 0, 2), (3, 200, 80, 0, 1), (3, 184, 80, 0, 1), (3, 184, 80, 0, 1), (3, 480, 112, 1, 1),
           (3, 672, 112, 1, 1), (5, 672, 160, 1, 2), (5, 960, 160, 0, 1), (5, 960, 160, 1, 1), (5, 960, 160, 0, 1),
           (5, 960, 160, 1, 1)]  # (kernel, hidden, out, SE, stride)  # fmt: skip
    layers: list[nn.Module] = [_conv(3, 16, 3, 2)]
    c = 16
    for k, hidden, out, se, s in cfg:
        layers.append(_GhostBottleneck(c, hidden, out, k, s, bool(se)))
        c = out
    return nn.Sequential(*layers, _conv(c, 960), nn.AdaptiveAvgPool2d(1), nn.Conv2d(960, 1280, 1), nn.ReLU(),
                         nn.Flatten(), nn.Linear(1280, 1000))  # fmt: skip


class _LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW map (ConvNeXt's downsampling norm)."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class _ConvNeXtBlock(nn.Module):
    """ConvNeXt (Liu et al. 2022): depthwise 7x7, LayerNorm channels-last, 4x MLP with GELU, layer scale."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm, self.up, self.act, self.down = nn.LayerNorm(c), nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c)
        self.gamma = nn.Parameter(torch.full((c,), 1e-6))

    def forward(self, x: Tensor) -> Tensor:
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.down(self.act(self.up(self.norm(y)))) * self.gamma
        return x + y.permute(0, 3, 1, 2)


def convnext(dims: tuple[int, ...] = (40, 80, 160, 320), depths: tuple[int, ...] = (2, 2, 6, 2)) -> nn.Module:
    """ConvNeXt (Liu et al. 2022); the default widths are its 'atto' size."""
    layers: list[nn.Module] = [nn.Conv2d(3, dims[0], 4, 4), _LayerNorm2d(dims[0])]
    for i, (c, depth) in enumerate(zip(dims, depths, strict=True)):
        if i:
            layers += [_LayerNorm2d(dims[i - 1]), nn.Conv2d(dims[i - 1], c, 2, 2)]
        layers += [_ConvNeXtBlock(c) for _ in range(depth)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(dims[-1]),
                         nn.Linear(dims[-1], 1000))  # fmt: skip


class _DenseLayer(nn.Module):
    """DenseNet-BC (Huang et al. 2017): BN-ReLU-1x1 (4k) - BN-ReLU-3x3 (k), concatenated to its input."""

    def __init__(self, c: int, growth: int) -> None:
        super().__init__()
        hidden = 4 * growth
        self.body = nn.Sequential(
            nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU(), nn.Conv2d(hidden, growth, 3, 1, 1, bias=False),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, self.body(x)], 1)


def densenet(blocks: tuple[int, ...] = (6, 12, 24, 16), growth: int = 32) -> nn.Module:
    """DenseNet-121 (Huang et al. 2017) by default."""
    c = 2 * growth
    layers: list[nn.Module] = [
        nn.Conv2d(3, c, 7, 2, 3, bias=False),
        nn.BatchNorm2d(c),
        nn.ReLU(),
        nn.MaxPool2d(3, 2, 1),
    ]
    for i, n in enumerate(blocks):
        for _ in range(n):
            layers.append(_DenseLayer(c, growth))
            c += growth
        if i < len(blocks) - 1:
            layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c // 2, 1, bias=False), nn.AvgPool2d(2)]
            c //= 2
    return nn.Sequential(*layers, nn.BatchNorm2d(c), nn.ReLU(), *_head(c))


class _RegNetBlock(nn.Module):
    """RegNet's X block (Radosavovic et al. 2020): 1x1, 3x3 group conv of fixed group width, 1x1; Y adds SE."""

    def __init__(self, c_in: int, c_out: int, s: int, group_width: int, se: bool) -> None:
        super().__init__()
        layers = [_conv(c_in, c_out), _conv(c_out, c_out, 3, s, c_out // group_width)]
        if se:
            layers.append(_SqueezeExcite(c_out, max(1, c_in // 4)))
        self.body = nn.Sequential(*layers, _conv(c_out, c_out, act=None))
        self.shortcut = nn.Identity() if s == 1 and c_in == c_out else _conv(c_in, c_out, 1, s, act=None)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


def regnet(depths: tuple[int, ...], widths: tuple[int, ...], group_width: int, se: bool) -> nn.Module:
    """RegNet X or Y (Radosavovic et al. 2020, Table 4's 400MF sizes in ``FAMILIES``)."""
    layers: list[nn.Module] = [_conv(3, 32, 3, 2)]
    c = 32
    for depth, width in zip(depths, widths, strict=True):
        for i in range(depth):
            layers.append(_RegNetBlock(c, width, 2 if i == 0 else 1, group_width, se))
            c = width
    return nn.Sequential(*layers, *_head(c))


class _Attention(nn.Module):
    """Multi-head self-attention over tokens (SDPA), optional additive bias per head."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads, self.qkv, self.proj = heads, nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

    def forward(self, x: Tensor, bias: Tensor | None = None) -> Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.proj(y.transpose(1, 2).reshape(b, n, c))


class _TransformerLayer(nn.Module):
    def __init__(self, dim: int, heads: int, mlp: int, act: type[nn.Module] = nn.SiLU) -> None:
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), _Attention(dim, heads)
        self.norm2, self.mlp = nn.LayerNorm(dim), nn.Sequential(nn.Linear(dim, mlp), act(), nn.Linear(mlp, dim))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _MobileViTBlock(nn.Module):
    """MobileViT (Mehta & Rastegari 2022): local 3x3 and 1x1, unfold into 2x2 patches, transformer, fold, fuse."""

    def __init__(self, c: int, dim: int, depth: int) -> None:
        super().__init__()
        self.local = nn.Sequential(_conv(c, c, 3, act=nn.SiLU), nn.Conv2d(c, dim, 1, bias=False))
        self.layers = nn.Sequential(*[_TransformerLayer(dim, 4, 2 * dim) for _ in range(depth)], nn.LayerNorm(dim))
        self.back, self.fuse = _conv(dim, c, act=nn.SiLU), _conv(2 * c, c, 3, act=nn.SiLU)

    def forward(self, x: Tensor) -> Tensor:
        y = self.local(x)
        b, d, h, w = y.shape
        patches = y.reshape(b, d, h // 2, 2, w // 2, 2).permute(0, 3, 5, 2, 4, 1).reshape(b * 4, h * w // 4, d)
        patches = self.layers(patches)
        y = patches.reshape(b, 2, 2, h // 2, w // 2, d).permute(0, 5, 3, 1, 4, 2).reshape(b, d, h, w)
        return self.fuse(torch.cat([x, self.back(y)], 1))


def mobilevit_xs() -> nn.Module:
    """MobileViT-XS (Mehta & Rastegari 2022), Table 4 of its appendix."""

    def mv2(c_in: int, c_out: int, s: int) -> nn.Module:
        return _InvertedResidual(c_in, 4 * c_in, c_out, 3, s, None, nn.SiLU)

    return nn.Sequential(
        _conv(3, 16, 3, 2, act=nn.SiLU), mv2(16, 32, 1), mv2(32, 48, 2), mv2(48, 48, 1), mv2(48, 48, 1),
        mv2(48, 64, 2), _MobileViTBlock(64, 96, 2), mv2(64, 80, 2), _MobileViTBlock(80, 120, 4),
        mv2(80, 96, 2), _MobileViTBlock(96, 144, 3), _conv(96, 384, act=nn.SiLU), *_head(384),
    )  # fmt: skip


class _LinearBN(nn.Sequential):
    """LeViT's linear layer: a Linear without bias and a BatchNorm over the channels of the tokens."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(nn.Linear(c_in, c_out, bias=False), nn.BatchNorm1d(c_out))

    def forward(self, x: Tensor) -> Tensor:
        return self[1](self[0](x).flatten(0, 1)).view(*x.shape[:2], -1)


class _LeViTAttention(nn.Module):
    """LeViT (Graham et al. 2021): attention with learned per-head biases by relative offset, hardswish before
    the projection; ``stride`` 2 subsamples the queries (the shrinking attention between stages)."""

    def __init__(self, dim: int, out: int, heads: int, key: int, value: int, side: int, stride: int) -> None:
        super().__init__()
        self.heads, self.key, self.value, self.side, self.stride = heads, key, value, side, stride
        self.kv = _LinearBN(dim, heads * (key + value))
        self.q = _LinearBN(dim, heads * key)
        self.proj = nn.Sequential(nn.Hardswish(), _LinearBN(heads * value, out))
        q_side = (side - 1) // stride + 1
        points = [(i, j) for i in range(side) for j in range(side)]
        q_points = [(i * stride, j * stride) for i in range(q_side) for j in range(q_side)]
        offsets: dict[tuple[int, int], int] = {}
        index = [[offsets.setdefault((abs(a[0] - b[0]), abs(a[1] - b[1])), len(offsets)) for b in points]
                 for a in q_points]  # fmt: skip
        self.biases = nn.Parameter(torch.zeros(heads, len(offsets)))
        self.register_buffer("index", torch.tensor(index), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        b, n, _ = x.shape
        k, v = self.kv(x).view(b, n, self.heads, self.key + self.value).split([self.key, self.value], 3)
        if self.stride > 1:
            x = x.view(b, self.side, self.side, -1)[:, :: self.stride, :: self.stride].reshape(b, -1, x.shape[-1])
        q = self.q(x).view(b, x.shape[1], self.heads, self.key).transpose(1, 2)
        attn = (q @ k.permute(0, 2, 3, 1)) * self.key**-0.5 + self.biases[:, self.index]
        y = (attn.softmax(-1) @ v.transpose(1, 2)).transpose(1, 2).reshape(b, x.shape[1], -1)
        return self.proj(y)


class _LeViTMLP(nn.Sequential):
    def __init__(self, dim: int, ratio: int) -> None:
        super().__init__(_LinearBN(dim, dim * ratio), nn.Hardswish(), _LinearBN(dim * ratio, dim))


class _Residual(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def levit_128s() -> nn.Module:
    """LeViT-128S (Graham et al. 2021), Table 9: widths 128/256/384, depths 2/3/4, 4/6/8 heads of key 16."""
    layers: list[nn.Module] = [
        _conv(3, 16, 3, 2, act=nn.Hardswish), _conv(16, 32, 3, 2, act=nn.Hardswish),
        _conv(32, 64, 3, 2, act=nn.Hardswish), _conv(64, 128, 3, 2, act=None), nn.Flatten(2), _Transpose(),
    ]  # fmt: skip
    side, dims, depths, heads = 14, (128, 256, 384), (2, 3, 4), (4, 6, 8)
    for i, (dim, depth, head) in enumerate(zip(dims, depths, heads, strict=True)):
        if i:
            layers += [_LeViTAttention(dims[i - 1], dim, dims[i - 1] // 16, 16, 64, side, 2),
                       _Residual(_LeViTMLP(dim, 2))]  # fmt: skip
            side = (side - 1) // 2 + 1
        for _ in range(depth):
            layers += [_Residual(_LeViTAttention(dim, dim, head, 16, 32, side, 1)), _Residual(_LeViTMLP(dim, 2))]
    return nn.Sequential(*layers, _TokenMean(), nn.BatchNorm1d(dims[-1]), nn.Linear(dims[-1], 1000))


class _Transpose(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.transpose(1, 2)


class _TokenMean(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.mean(1)


class _WindowAttention(nn.Module):
    """Swin (Liu et al. 2021): attention inside 7x7 windows with a relative position bias; shifted windows by
    a cyclic roll and a mask that keeps tokens from wrapped regions apart."""

    def __init__(self, dim: int, heads: int, side: int, shift: bool, window: int = 7) -> None:
        super().__init__()
        self.heads, self.window = heads, window
        self.shift = window // 2 if shift and side > window else 0
        self.norm1, self.attn_qkv, self.proj = nn.LayerNorm(dim), nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.norm2, self.mlp = (
            nn.LayerNorm(dim),
            nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim)),
        )
        self.table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + window - 1
        self.register_buffer("index", rel[..., 0] * (2 * window - 1) + rel[..., 1], persistent=False)
        mask = torch.zeros(1, 1, 1, 1)
        if self.shift:
            regions = torch.zeros(side, side)
            cuts = (slice(0, -window), slice(-window, -self.shift), slice(-self.shift, None))
            for n, (a, b) in enumerate((a, b) for a in cuts for b in cuts):
                regions[a, b] = n
            w = self._windows(regions[None, :, :, None]).squeeze(-1)
            mask = (w[:, None, :] != w[:, :, None]).float()[None, :, None] * -100.0  # (1, windows, 1, n, n)
        self.register_buffer("mask", mask, persistent=False)

    def _windows(self, x: Tensor) -> Tensor:
        b, h, w, c = x.shape
        s = self.window
        return x.view(b, h // s, s, w // s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, s * s, c)

    def forward(self, x: Tensor) -> Tensor:  # x: (b, h, w, c)
        b, h, w, c = x.shape
        y = self.norm1(x)
        if self.shift:
            y = torch.roll(y, (-self.shift, -self.shift), (1, 2))
        t = self._windows(y)
        n = t.shape[1]
        q, k, v = self.attn_qkv(t).view(-1, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        bias = self.table[self.index].permute(2, 0, 1)
        if self.shift:
            bias = (bias + self.mask).expand(b, -1, -1, -1, -1).reshape(-1, self.heads, n, n)
        t = F.scaled_dot_product_attention(q, k, v, attn_mask=bias).transpose(1, 2).reshape(-1, n, c)
        s = self.window
        y = self.proj(t).view(b, h // s, w // s, s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)
        if self.shift:
            y = torch.roll(y, (self.shift, self.shift), (1, 2))
        x = x + y
        return x + self.mlp(self.norm2(x))


class _PatchMerging(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm, self.reduce = nn.LayerNorm(4 * dim), nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        parts = (x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2])
        return self.reduce(self.norm(torch.cat(parts, -1)))


class _ToChannelsLast(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.permute(0, 2, 3, 1)


class _SpatialMean(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.mean((1, 2))


def swin(dim: int = 48, depths: tuple[int, ...] = (2, 2, 6, 2), heads: tuple[int, ...] = (3, 6, 12, 24)) -> nn.Module:
    """Swin Transformer (Liu et al. 2021), Swin-T's depths and heads at half its width (48) by default."""
    layers: list[nn.Module] = [nn.Conv2d(3, dim, 4, 4), _ToChannelsLast(), nn.LayerNorm(dim)]
    side = 56
    for i, (depth, head) in enumerate(zip(depths, heads, strict=True)):
        if i:
            layers.append(_PatchMerging(dim))
            dim, side = dim * 2, side // 2
        layers += [_WindowAttention(dim, head, side, j % 2 == 1) for j in range(depth)]
    return nn.Sequential(*layers, nn.LayerNorm(dim), _SpatialMean(), nn.Linear(dim, 1000))


class _PoolFormerBlock(nn.Module):
    """PoolFormer (Yu et al. 2022): GroupNorm(1), average pooling minus identity as token mixer, 1x1 MLP, layer
    scales."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.norm1, self.pool = nn.GroupNorm(1, c), nn.AvgPool2d(3, 1, 1, count_include_pad=False)
        self.norm2 = nn.GroupNorm(1, c)
        self.mlp = nn.Sequential(nn.Conv2d(c, 4 * c, 1), nn.GELU(), nn.Conv2d(4 * c, c, 1))
        self.scale1, self.scale2 = nn.Parameter(torch.full((c, 1, 1), 1e-5)), nn.Parameter(torch.full((c, 1, 1), 1e-5))

    def forward(self, x: Tensor) -> Tensor:
        y = self.norm1(x)
        x = x + self.scale1 * (self.pool(y) - y)
        return x + self.scale2 * self.mlp(self.norm2(x))


def poolformer_s12() -> nn.Module:
    """PoolFormer-S12 (Yu et al. 2022): widths 64/128/320/512, depths 2/2/6/2."""
    dims, depths = (64, 128, 320, 512), (2, 2, 6, 2)
    layers: list[nn.Module] = [nn.Conv2d(3, dims[0], 7, 4, 2)]
    for i, (c, depth) in enumerate(zip(dims, depths, strict=True)):
        if i:
            layers.append(nn.Conv2d(dims[i - 1], c, 3, 2, 1))
        layers += [_PoolFormerBlock(c) for _ in range(depth)]
    return nn.Sequential(*layers, nn.GroupNorm(1, dims[-1]), *_head(dims[-1]))


def repvgg_a0() -> nn.Module:
    """RepVGG-A0 (Ding et al. 2021) in its deployed form: one 3x3 conv with bias and a ReLU per layer."""
    widths, depths = (48, 48, 96, 192, 1280), (1, 2, 4, 14, 1)
    layers: list[nn.Module] = []
    c = 3
    for width, depth in zip(widths, depths, strict=True):
        for i in range(depth):
            layers += [nn.Conv2d(c, width, 3, 2 if i == 0 else 1, 1), nn.ReLU()]
            c = width
    return nn.Sequential(*layers, *_head(c))


def mobileone_s0() -> nn.Module:
    """MobileOne-S0 (Vasu et al. 2023) deployed: each block a depthwise 3x3 + ReLU then a 1x1 + ReLU."""
    widths, depths = (48, 48, 128, 256, 1024), (1, 2, 8, 10, 1)
    layers: list[nn.Module] = [nn.Conv2d(3, 48, 3, 2, 1), nn.ReLU()]
    c = 48
    for index, (width, depth) in enumerate(zip(widths[1:], depths[1:], strict=True)):
        for i in range(depth):
            s = 2 if i == 0 and index < 4 else 1
            layers += [nn.Conv2d(c, c, 3, s, 1, groups=c), nn.ReLU(), nn.Conv2d(c, width, 1), nn.ReLU()]
            c = width
    return nn.Sequential(*layers, *_head(c))


#: name -> (builder, input side)
FAMILIES: dict[str, tuple[Callable[[], nn.Module], int]] = {
    "mobilenet_v3_small": (lambda: mobilenet_v3(False), 224),
    "mobilenet_v3_large": (lambda: mobilenet_v3(True), 224),
    "efficientnet_b0": (efficientnet_b0, 224),
    "ghostnet_1.0": (ghostnet, 224),
    "convnext_atto": (convnext, 224),
    "densenet121": (densenet, 224),
    "regnetx_400mf": (lambda: regnet((1, 2, 7, 12), (32, 64, 160, 384), 16, False), 224),
    "regnety_400mf": (lambda: regnet((1, 3, 6, 6), (48, 104, 208, 440), 8, True), 224),
    "mobilevit_xs": (mobilevit_xs, 256),
    "levit_128s": (levit_128s, 224),
    "swin_half_tiny": (swin, 224),
    "poolformer_s12": (poolformer_s12, 224),
    "repvgg_a0": (repvgg_a0, 224),
    "mobileone_s0": (mobileone_s0, 224),
}


def transformers_models() -> dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]]:
    """Hugging Face transformers from configs (BERT-small, GPT-2 at 4 layers, ViT-Ti, DistilBERT): name ->
    (builder, input shape: token ids ``(1, 128)`` or an image)."""
    import transformers as hf  # the benchmark's optional dependency

    def bert() -> nn.Module:
        return hf.BertModel(hf.BertConfig(hidden_size=512, num_hidden_layers=4, num_attention_heads=8,
                                          intermediate_size=2048))  # fmt: skip

    def gpt2() -> nn.Module:
        return hf.GPT2Model(hf.GPT2Config(n_embd=512, n_layer=4, n_head=8, use_cache=False))

    def vit() -> nn.Module:
        return hf.ViTModel(hf.ViTConfig(hidden_size=192, num_hidden_layers=12, num_attention_heads=3,
                                        intermediate_size=768), add_pooling_layer=False)  # fmt: skip

    def distilbert() -> nn.Module:
        return hf.DistilBertModel(hf.DistilBertConfig(dim=384, n_layers=4, n_heads=6, hidden_dim=1536))

    return {
        "hf_bert_small": (bert, (1, 128)),
        "hf_gpt2_4x512": (gpt2, (1, 128)),
        "hf_vit_tiny": (vit, (1, 3, 224, 224)),
        "hf_distilbert_4x384": (distilbert, (1, 128)),
    }
