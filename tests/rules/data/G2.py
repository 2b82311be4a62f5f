"""G2 fixtures."""

from torch import Tensor, nn

INPUT_SHAPE = (1, 128, 28, 28)


#: G2
class GroupedPointwise(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(128, 128, 1, groups=4, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


#: G2
class ResNeXtGroupedThreeByThree(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(128, 128, 3, padding=1, groups=32, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


#: Okay
class Ungrouped(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(128, 128, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


#: Okay
class Depthwise(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(128, 128, 3, padding=1, groups=128, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


#: Okay
class TwoGroupsOnAThinOutputIsCheap(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(128, 4, 1, groups=2, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)
