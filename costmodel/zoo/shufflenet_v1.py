"""ShuffleNet V1 (Zhang et al., CVPR 2018), written from Table 1 of the paper.

Units: grouped 1x1 conv (bottleneck = 1/4 of the output) + ReLU, channel shuffle,
3x3 depthwise conv (no ReLU after it), grouped 1x1 conv; residual add for stride
1, 3x3 average-pooled shortcut joined by concat for stride 2. The first 1x1 conv
of Stage 2 is not grouped (its input is only 24 channels wide).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from costmodel.zoo._layers import ChannelShuffle, conv_bn

__all__ = ["STAGE2_CHANNELS", "ShuffleNetV1", "shufflenet_v1"]

#: Table 1 output channels of Stage 2 at 1x, per group count; Stages 3 and 4 double each time.
STAGE2_CHANNELS: dict[int, int] = {1: 144, 2: 200, 3: 240, 4: 272, 8: 384}
STAGE_REPEATS = (4, 8, 4)
#: Conv1 widths of the authors' official code (Megvii ShuffleNet-Series) per width multiplier.
CONV1_CHANNELS: dict[float, int] = {0.5: 12, 1.0: 24, 1.5: 24, 2.0: 48}


class ShuffleV1Unit(nn.Module):
    """One ShuffleNet V1 unit (Fig. 2b for stride 1, Fig. 2c for stride 2)."""

    def __init__(self, c_in: int, c_out: int, stride: int, groups: int, *, group_first: bool = True) -> None:
        super().__init__()
        self.stride = stride
        branch_out = c_out - c_in if stride == 2 else c_out
        mid = c_out // 4
        self.compress = conv_bn(c_in, mid, groups=groups if group_first else 1)
        self.shuffle = ChannelShuffle(groups) if groups > 1 and group_first else nn.Identity()
        self.depthwise = conv_bn(mid, mid, 3, stride, groups=mid, activation=None)
        self.expand = conv_bn(mid, branch_out, groups=groups, activation=None)
        self.shortcut = nn.AvgPool2d(3, 2, 1) if stride == 2 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        out = self.expand(self.depthwise(self.shuffle(self.compress(x))))
        if self.stride == 1:
            return F.relu(x + out)
        return F.relu(torch.cat((self.shortcut(x), out), dim=1))


def _stage_widths(groups: int, width: float) -> tuple[int, tuple[int, int, int]]:
    """Conv1 and stage widths at ``width``x.

    Stage widths are Table 1's scaled by ``width`` and rounded half up to a multiple of 4g (the
    bottleneck is 1/4 of the output and must split into g groups). Conv1 follows the
    authors' code where it has the width, else 24x; it is widened until the stride-2
    unit's grouped conv divides evenly.
    """
    quantum = 4 * groups
    stage2 = max(quantum, math.floor(STAGE2_CHANNELS[groups] * width / quantum + 0.5) * quantum)
    conv1 = CONV1_CHANNELS.get(width, max(4, round(24 * width)))
    while (stage2 - conv1) % groups:  # the stride-2 unit's grouped conv needs this
        conv1 += 1
    return conv1, (stage2, 2 * stage2, 4 * stage2)


class ShuffleNetV1(nn.Module):
    """ShuffleNet V1 with ``groups`` in {1, 2, 3, 4, 8} and a width multiplier (0.25x-2x)."""

    def __init__(self, groups: int = 3, width: float = 1.0, num_classes: int = 1000) -> None:
        super().__init__()
        if groups not in STAGE2_CHANNELS:
            raise ValueError(f"ShuffleNet V1 groups must be one of {sorted(STAGE2_CHANNELS)}, got {groups}")
        if width <= 0:
            raise ValueError(f"ShuffleNet V1 width multiplier must be positive, got {width}")
        conv1, stages = _stage_widths(groups, width)
        self.conv1 = conv_bn(3, conv1, 3, 2)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        units: list[nn.Module] = []
        c_in = conv1
        for index, (c_out, repeats) in enumerate(zip(stages, STAGE_REPEATS, strict=True)):
            units.append(ShuffleV1Unit(c_in, c_out, 2, groups, group_first=index > 0))
            units.extend(ShuffleV1Unit(c_out, c_out, 1, groups) for _ in range(repeats - 1))
            c_in = c_out
        self.stages = nn.Sequential(*units)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stages(self.maxpool(self.conv1(x)))
        return self.fc(x.mean((2, 3)))


def shufflenet_v1(groups: int = 3, width: float = 1.0, num_classes: int = 1000) -> ShuffleNetV1:
    """Build ShuffleNet V1 ``width``x with ``groups`` groups."""
    return ShuffleNetV1(groups, width, num_classes)
