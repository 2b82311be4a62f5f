"""ShuffleNet V2 (Ma et al., ECCV 2018), written from Table 5 of the paper.

Units: channel split in half, a 1x1 -> 3x3 depthwise -> 1x1 branch with equal
widths (G1), ungrouped 1x1 convs (G2), concat instead of add (G4) and a channel
shuffle. Down-sampling units drop the split and double the channels.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from costmodel.zoo._layers import ChannelShuffle, conv_bn

__all__ = ["STAGE_CHANNELS", "ShuffleNetV2", "shufflenet_v2"]

#: Table 5 output channels: Conv1, Stage2, Stage3, Stage4, Conv5.
STAGE_CHANNELS: dict[float, tuple[int, int, int, int, int]] = {
    0.5: (24, 48, 96, 192, 1024),
    1.0: (24, 116, 232, 464, 1024),
    1.5: (24, 176, 352, 704, 1024),
    2.0: (24, 244, 488, 976, 2048),
}
STAGE_REPEATS = (4, 8, 4)


class ShuffleV2Unit(nn.Module):
    """One ShuffleNet V2 unit (Fig. 3c for stride 1, Fig. 3d for stride 2)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        half = c_out // 2
        if stride == 1:
            if c_in != c_out:
                raise ValueError(f"stride-1 unit needs c_in == c_out, got {c_in} != {c_out}")
            self.branch1 = nn.Identity()
            branch_in = half
        else:
            self.branch1 = nn.Sequential(
                conv_bn(c_in, c_in, 3, stride, groups=c_in, activation=None),
                conv_bn(c_in, half),
            )
            branch_in = c_in
        self.branch2 = nn.Sequential(
            conv_bn(branch_in, half),
            conv_bn(half, half, 3, stride, groups=half, activation=None),
            conv_bn(half, half),
        )
        self.shuffle = ChannelShuffle(2)

    def forward(self, x: Tensor) -> Tensor:
        if self.stride == 1:
            kept, x = x.chunk(2, dim=1)
            out = torch.cat((kept, self.branch2(x)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return self.shuffle(out)


class ShuffleNetV2(nn.Module):
    """ShuffleNet V2 at a width multiplier of 0.5, 1.0, 1.5 or 2.0 (Table 5)."""

    def __init__(self, width: float = 1.0, num_classes: int = 1000) -> None:
        super().__init__()
        if width not in STAGE_CHANNELS:
            raise ValueError(f"ShuffleNet V2 width must be one of {sorted(STAGE_CHANNELS)}, got {width}")
        conv1, *stages, conv5 = STAGE_CHANNELS[width]
        self.conv1 = conv_bn(3, conv1, 3, 2)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        units: list[nn.Module] = []
        c_in = conv1
        for c_out, repeats in zip(stages, STAGE_REPEATS, strict=True):
            units.append(ShuffleV2Unit(c_in, c_out, 2))
            units.extend(ShuffleV2Unit(c_out, c_out, 1) for _ in range(repeats - 1))
            c_in = c_out
        self.stages = nn.Sequential(*units)
        self.conv5 = conv_bn(c_in, conv5)
        self.fc = nn.Linear(conv5, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stages(x))
        return self.fc(x.mean((2, 3)))


def shufflenet_v2(width: float = 1.0, num_classes: int = 1000) -> ShuffleNetV2:
    """Build ShuffleNet V2 ``width``x (0.5, 1.0, 1.5, 2.0)."""
    return ShuffleNetV2(width, num_classes)
