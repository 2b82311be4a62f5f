"""G4 fixtures."""

from torch import Tensor, nn

INPUT_SHAPE = (1, 32, 56, 56)


class Bottleneck(nn.Module):
    def __init__(self, c: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 1, bias=False)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.conv3 = nn.Conv2d(c, c, 1, bias=False)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.conv1(x))
        out = self.relu(self.conv2(out))
        return self.relu(self.conv3(out) + x)


#: G4
class ReLUAndShortcut(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Bottleneck(), Bottleneck())

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(x)


#: Okay
class ConvsOnly(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.Conv2d(32, 32, 3, padding=1))

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


#: Okay
class BatchNormFoldsAway(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32))

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


#: G4
class DepthwiseHeavy(nn.Module):
    def __init__(self):
        super().__init__()
        self.dw = nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False)
        self.pw = nn.Conv2d(32, 32, 1, bias=False)
        self.act = nn.ReLU6()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.pw(self.act(self.dw(x))))
