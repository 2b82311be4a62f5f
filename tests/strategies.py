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
