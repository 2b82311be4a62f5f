"""Building blocks shared by the zoo models: conv-BN(-activation) stacks and channel shuffle."""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["ChannelShuffle", "conv_bn"]


def conv_bn(
    c_in: int,
    c_out: int,
    kernel: int = 1,
    stride: int = 1,
    *,
    groups: int = 1,
    activation: type[nn.Module] | None = nn.ReLU,
) -> nn.Sequential:
    """Conv (no bias, 'same' padding) -> BatchNorm -> optional activation."""
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
    ]
    if activation is not None:
        layers.append(activation(inplace=True))
    return nn.Sequential(*layers)


class ChannelShuffle(nn.Module):
    """Channel shuffle of ShuffleNet: reshape (n, g, c/g, h, w) -> transpose -> flatten.

    The transpose is a view; the ``contiguous()`` that follows is a real copy,
    which is what makes the shuffle cost memory traffic (ShuffleNet V2, Fig. 2).
    """

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        x = x.view(n, self.groups, c // self.groups, h, w)
        x = x.transpose(1, 2).contiguous()
        return x.view(n, c, h, w)
