"""Classic architectures written from their papers, no torchvision: ResNet, VGG, MobileNet V1, SqueezeNet, ViT.

They widen the zoo beyond the ShuffleNet/MobileNet V2 family for the latency
benchmark and the tests: plain stacks (VGG), residual bottlenecks (ResNet),
depthwise-separable stacks (MobileNet V1), fire modules with concat (SqueezeNet),
and a transformer encoder over patches (ViT), whose attention runs through
``F.scaled_dot_product_attention``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from costmodel.zoo._layers import conv_bn

__all__ = ["MobileNetV1", "ResNet", "SqueezeNet", "VisionTransformer", "mobilenet_v1", "resnet", "squeezenet", "vgg",
           "vit"]  # fmt: skip


class BasicBlock(nn.Module):
    """ResNet's two 3x3 convs with an identity (or 1x1 projection) shortcut."""

    expansion = 1

    def __init__(self, c_in: int, width: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv_bn(c_in, width, 3, stride), conv_bn(width, width, 3, activation=None))
        self.shortcut = (
            conv_bn(c_in, width, 1, stride, activation=None) if stride != 1 or c_in != width else nn.Identity()
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


class Bottleneck(nn.Module):
    """ResNet-50's 1x1 -> 3x3 -> 1x1 (4x wider) bottleneck."""

    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int) -> None:
        super().__init__()
        c_out = width * self.expansion
        self.body = nn.Sequential(
            conv_bn(c_in, width, 1), conv_bn(width, width, 3, stride), conv_bn(width, c_out, 1, activation=None)
        )
        self.shortcut = (
            conv_bn(c_in, c_out, 1, stride, activation=None) if stride != 1 or c_in != c_out else nn.Identity()
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


class ResNet(nn.Module):
    """ResNet (He et al., 2016) with ``depths`` blocks per stage and base width ``width``."""

    def __init__(self, block: type[BasicBlock | Bottleneck], depths: tuple[int, ...], width: int = 64) -> None:
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, width, 7, 2), nn.MaxPool2d(3, 2, 1))
        layers, c_in = [], width
        for stage, depth in enumerate(depths):
            for index in range(depth):
                stride = 2 if stage > 0 and index == 0 else 1
                layers.append(block(c_in, width * 2**stage, stride))
                c_in = width * 2**stage * block.expansion
        self.stages = nn.Sequential(*layers)
        self.fc = nn.Linear(c_in, 1000)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.stages(self.stem(x)).mean((2, 3)))


def resnet(depth: int = 18, width: int = 64) -> ResNet:
    """ResNet-18, -34 or -50 (any base width)."""
    layouts = {18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3)), 50: (Bottleneck, (3, 4, 6, 3))}
    block, depths = layouts[depth]
    return ResNet(block, depths, width)


def vgg(depth: int = 11, width: float = 1.0) -> nn.Sequential:
    """VGG-11 or -16 with batch norm, channels scaled by ``width``; global pooling before one classifier."""
    plans = {11: (1, 1, 2, 2, 2), 16: (2, 2, 3, 3, 3)}
    layers: list[nn.Module] = []
    c_in = 3
    for stage, repeats in enumerate(plans[depth]):
        c_out = int(min(64 * 2**stage, 512) * width)
        for _ in range(repeats):
            layers.append(conv_bn(c_in, c_out, 3))
            c_in = c_out
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, 1000))


class MobileNetV1(nn.Module):
    """MobileNet V1 (Howard et al., 2017): 3x3 depthwise + 1x1 pointwise pairs, width multiplier ``alpha``."""

    PLAN = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *[(512, 1)] * 5, (1024, 2), (1024, 1))

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        c_in = int(32 * alpha)
        layers: list[nn.Module] = [conv_bn(3, c_in, 3, 2)]
        for c, stride in self.PLAN:
            c_out = int(c * alpha)
            layers += [conv_bn(c_in, c_in, 3, stride, groups=c_in), conv_bn(c_in, c_out, 1)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(c_in, 1000)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.features(x).mean((2, 3)))


def mobilenet_v1(alpha: float = 1.0) -> MobileNetV1:
    """MobileNet V1 at width ``alpha``."""
    return MobileNetV1(alpha)


class Fire(nn.Module):
    """SqueezeNet's fire module: 1x1 squeeze, then 1x1 and 3x3 expands concatenated."""

    def __init__(self, c_in: int, squeeze: int, expand: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(c_in, squeeze, 1)
        self.expand1 = nn.Conv2d(squeeze, expand, 1)
        self.expand3 = nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.expand1(x)), F.relu(self.expand3(x))], 1)


class SqueezeNet(nn.Module):
    """SqueezeNet 1.1 (Iandola et al., 2016)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 3, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(64, 16, 64), Fire(128, 16, 64), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(128, 32, 128), Fire(256, 32, 128), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(256, 48, 192), Fire(384, 48, 192), Fire(384, 64, 256), Fire(512, 64, 256),
        )  # fmt: skip
        self.classifier = nn.Conv2d(512, 1000, 1)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.classifier(self.features(x))).mean((2, 3))


def squeezenet() -> SqueezeNet:
    """SqueezeNet 1.1."""
    return SqueezeNet()


class EncoderBlock(nn.Module):
    """Pre-norm transformer block: attention (fused QKV, SDPA) then a GELU MLP, both residual."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x: Tensor) -> Tensor:
        n, s, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(n, s, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, s, d)
        x = x + self.proj(attended)
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """ViT (Dosovitskiy et al., 2021): 16x16 patches, class token, ``depth`` encoder blocks."""

    def __init__(self, width: int = 192, depth: int = 12, heads: int = 3, patch: int = 16, size: int = 224) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, width, patch, patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, width))
        self.position = nn.Parameter(torch.zeros(1, (size // patch) ** 2 + 1, width))
        self.blocks = nn.Sequential(*[EncoderBlock(width, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, 1000)

    def forward(self, x: Tensor) -> Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.position
        return self.head(self.norm(self.blocks(x))[:, 0])


def vit(width: int = 192, depth: int = 12, heads: int = 3) -> VisionTransformer:
    """ViT-Ti/16 by default (width 192, 12 blocks, 3 heads); ViT-S/16 is ``vit(384, 12, 6)``."""
    return VisionTransformer(width, depth, heads)
