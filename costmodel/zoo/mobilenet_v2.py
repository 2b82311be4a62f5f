"""MobileNet V2 (Sandler et al., CVPR 2018), written from Table 2 of the paper.

Inverted residual blocks: 1x1 expansion (t) + ReLU6 -> 3x3 depthwise + ReLU6 ->
linear 1x1 projection, with a residual add when stride is 1 and widths match.
"""

from __future__ import annotations

from torch import Tensor, nn

from costmodel.zoo._layers import conv_bn

__all__ = ["MobileNetV2", "make_divisible", "mobilenet_v2"]

#: Table 2 rows: expansion t, output channels c, repeats n, first stride s.
BLOCKS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round ``value`` to a multiple of ``divisor``, never more than 10% below it (TF reference)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class InvertedResidual(nn.Module):
    """Table 1 bottleneck: expand 1x1, depthwise 3x3, linear 1x1; residual when shapes match."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = c_in * expansion
        self.use_residual = stride == 1 and c_in == c_out
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(conv_bn(c_in, hidden, activation=nn.ReLU6))
        layers += [
            conv_bn(hidden, hidden, 3, stride, groups=hidden, activation=nn.ReLU6),
            conv_bn(hidden, c_out, activation=None),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_residual else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNet V2 with a width multiplier; the last 1x1 conv keeps 1280 channels below 1.0."""

    def __init__(self, width: float = 1.0, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        if width <= 0:
            raise ValueError(f"MobileNet V2 width multiplier must be positive, got {width}")
        c_in = make_divisible(32 * width)
        last = make_divisible(1280 * max(1.0, width))
        layers: list[nn.Module] = [conv_bn(3, c_in, 3, 2, activation=nn.ReLU6)]
        for t, c, n, s in BLOCKS:
            c_out = make_divisible(c * width)
            for i in range(n):
                layers.append(InvertedResidual(c_in, c_out, s if i == 0 else 1, t))
                c_in = c_out
        layers.append(conv_bn(c_in, last, activation=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(self.features(x)).flatten(1)
        return self.classifier(x)


def mobilenet_v2(width: float = 1.0, num_classes: int = 1000) -> MobileNetV2:
    """Build MobileNet V2 at width multiplier ``width`` (0.35 to 1.4 in the paper)."""
    return MobileNetV2(width, num_classes)
