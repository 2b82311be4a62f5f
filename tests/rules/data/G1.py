"""G1 fixtures: each case is preceded by the codes it must raise (or Okay), pycodestyle-style."""

from torch import Tensor, nn

INPUT_SHAPE = (1, 64, 56, 56)


#: Okay
class EqualWidths(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(64, 64, 1, bias=False)
        self.b = nn.Conv2d(64, 64, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.b(self.a(x))


#: G1
class ExpandThenProject(nn.Module):
    def __init__(self):
        super().__init__()
        self.expand = nn.Conv2d(64, 384, 1, bias=False)
        self.project = nn.Conv2d(384, 64, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.project(self.expand(x))


#: G1
class WideThreeByThree(nn.Module):
    def __init__(self):
        super().__init__()
        self.squeeze = nn.Conv2d(64, 8, 3, padding=1)
        self.unsqueeze = nn.Conv2d(8, 64, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.unsqueeze(self.squeeze(x))


#: Okay
class StridedStemIsNotJudged(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(64, 256, 3, stride=2, padding=1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.stem(x)


#: Okay
class DepthwiseIsLeftToG4(nn.Module):
    def __init__(self):
        super().__init__()
        self.dw = nn.Conv2d(64, 64, 3, padding=1, groups=64, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.dw(x)


#: Okay
class SilencedWithNoqa(nn.Module):
    def __init__(self):
        super().__init__()
        self.expand = nn.Conv2d(64, 384, 1, bias=False)  # noqa: G1
        self.project = nn.Conv2d(384, 64, 1, bias=False)  # noqa: G1, G2

    def forward(self, x: Tensor) -> Tensor:
        return self.project(self.expand(x))


#: G1
class NoqaForAnotherCodeDoesNotSilence(nn.Module):
    def __init__(self):
        super().__init__()
        self.expand = nn.Conv2d(64, 384, 1, bias=False)  # noqa: G2
        self.project = nn.Conv2d(384, 64, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.project(self.expand(x))


#: Okay
class StemReadsTheImage(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(64, 8, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.stem(x)
