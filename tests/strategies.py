"""Hypothesis strategies for conv layers and small networks."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st


@dataclass(frozen=True)
class ConvConfig:
    """One conv layer and its input."""

    dims: int
    c_in: int
    c_out: int
    groups: int
    kernel: int
    stride: int
    padding: int
    dilation: int
    size: int
    batch: int
    bias: bool
    transposed: bool

    def out_size(self) -> int:
        """Spatial output size by the textbook formula (written out, not asked of torch)."""
        if self.transposed:
            return (self.size - 1) * self.stride - 2 * self.padding + self.dilation * (self.kernel - 1) + 1
        return (self.size + 2 * self.padding - self.dilation * (self.kernel - 1) - 1) // self.stride + 1


@st.composite
def conv_configs(draw: st.DrawFn, *, dims: tuple[int, ...] = (1, 2, 3), transposed: bool | None = None) -> ConvConfig:
    """Valid conv layers: groups divide both channel counts; output at least 1 wide."""
    d = draw(st.sampled_from(dims), label="dims")
    groups = draw(st.sampled_from((1, 1, 2, 3, 4)), label="groups")
    c_in = groups * draw(st.integers(1, 6), label="c_in/g")
    c_out = groups * draw(st.integers(1, 6), label="c_out/g")
    kernel = draw(st.integers(1, 4), label="kernel")
    stride = draw(st.integers(1, 3), label="stride")
    dilation = draw(st.integers(1, 2), label="dilation")
    padding = draw(st.integers(0, kernel // 2), label="padding")
    is_transposed = draw(st.booleans(), label="transposed") if transposed is None else transposed
    reach = dilation * (kernel - 1) + 1
    smallest = max(1, reach - 2 * padding)
    size = draw(st.integers(smallest, smallest + {1: 12, 2: 8, 3: 4}[d]), label="size")
    batch = draw(st.integers(1, 2), label="batch")
    bias = draw(st.booleans(), label="bias")
    config = ConvConfig(d, c_in, c_out, groups, kernel, stride, padding, dilation, size, batch, bias, is_transposed)
    if is_transposed:  # padding would crop a transposed conv's output, possibly to nothing
        config = ConvConfig(d, c_in, c_out, groups, kernel, stride, 0, dilation, size, batch, bias, True)
    return config


def build_conv(config: ConvConfig):
    """The nn layer for a config."""
    from torch import nn

    cls = {
        (1, False): nn.Conv1d,
        (2, False): nn.Conv2d,
        (3, False): nn.Conv3d,
        (1, True): nn.ConvTranspose1d,
        (2, True): nn.ConvTranspose2d,
        (3, True): nn.ConvTranspose3d,
    }[(config.dims, config.transposed)]
    return cls(
        config.c_in,
        config.c_out,
        config.kernel,
        stride=config.stride,
        padding=config.padding,
        dilation=config.dilation,
        groups=config.groups,
        bias=config.bias,
    )


def input_shape(config: ConvConfig) -> tuple[int, ...]:
    """The input shape of a config."""
    return (config.batch, config.c_in, *([config.size] * config.dims))


# -- generated networks -----------------------------------------------------------------------------

import torch  # noqa: E402
from torch import Tensor, nn  # noqa: E402


class AddBranches(nn.Module):
    """Two branches joined by add (shapes kept)."""

    def __init__(self, left: nn.Module, right: nn.Module) -> None:
        super().__init__()
        self.left, self.right = left, right

    def forward(self, x: Tensor) -> Tensor:
        return self.left(x) + self.right(x)


class ConcatBranches(nn.Module):
    """Two branches joined by concat on channels."""

    def __init__(self, left: nn.Module, right: nn.Module) -> None:
        super().__init__()
        self.left, self.right = left, right

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat((self.left(x), self.right(x)), dim=1)


class ShuffleChannels(nn.Module):
    """Channel shuffle with g groups."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


class DepthwiseConv(nn.Conv2d):
    """3x3 depthwise conv."""

    def __init__(self, c: int) -> None:
        super().__init__(c, c, 3, padding=1, groups=c, bias=False)


class GroupedConv(nn.Conv2d):
    """Grouped 1x1 conv."""

    def __init__(self, c_in: int, c_out: int, groups: int) -> None:
        super().__init__(c_in, c_out, 1, groups=groups, bias=False)


class Generated(nn.Sequential):
    """A generated network, remembering its input width."""

    in_channels: int


def _divisors(c: int) -> list[int]:
    return [g for g in (2, 3, 4) if c % g == 0]


@st.composite
def _layer(draw: st.DrawFn, c: int, depth: int) -> tuple[nn.Module, int]:
    """One layer taking c channels; returns it and its output width."""
    choices = ["conv", "act", "bn", "dw"]
    if _divisors(c):
        choices += ["grouped", "shuffle"]
    if depth < 2:
        choices += ["add", "concat"]
    kind = draw(st.sampled_from(choices))
    if kind == "conv":
        out = draw(st.integers(1, 12))
        return nn.Conv2d(c, out, draw(st.sampled_from([1, 3])), padding="same", bias=draw(st.booleans())), out
    if kind == "act":
        return draw(st.sampled_from([nn.ReLU, nn.ReLU6, nn.Hardswish, nn.SiLU]))(), c
    if kind == "bn":
        return nn.BatchNorm2d(c), c
    if kind == "dw":
        return DepthwiseConv(c), c
    if kind == "grouped":
        g = draw(st.sampled_from(_divisors(c)))
        out = g * draw(st.integers(1, 4))
        return GroupedConv(c, out, g), out
    if kind == "shuffle":
        return ShuffleChannels(draw(st.sampled_from(_divisors(c)))), c
    left, left_out = draw(_stack(c, depth + 1))
    if kind == "add":
        right, _ = draw(_stack(c, depth + 1, out=left_out))
        return AddBranches(left, right), left_out
    right, right_out = draw(_stack(c, depth + 1))
    return ConcatBranches(left, right), left_out + right_out


@st.composite
def _stack(draw: st.DrawFn, c: int, depth: int, out: int | None = None) -> tuple[nn.Module, int]:
    layers: list[nn.Module] = []
    for _ in range(draw(st.integers(1, 3))):
        layer, c = draw(_layer(c, depth))
        layers.append(layer)
    if out is not None and c != out:
        layers.append(nn.Conv2d(c, out, 1, bias=False))
        c = out
    return nn.Sequential(*layers), c


@st.composite
def networks(draw: st.DrawFn) -> Generated:
    """Sequential stacks with branches joined by add or concat, grouped and depthwise convs, shuffles."""
    c = draw(st.integers(1, 8), label="in_channels")
    body, _ = draw(_stack(c, 0))
    model = Generated(*body)
    model.in_channels = c
    return model
