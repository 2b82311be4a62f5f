"""Model zoo: ShuffleNet V1/V2, MobileNet V1/V2, ResNet, VGG, SqueezeNet and ViT, written from their papers.

No weights and no torchvision: the models are built from the architecture tables
(see ``docs/paper-tables.md``) so their FLOPs and parameter counts can be
checked against the published figures.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from costmodel.zoo.classics import mobilenet_v1, resnet, squeezenet, vgg, vit
from costmodel.zoo.mobilenet_v2 import MobileNetV2, mobilenet_v2
from costmodel.zoo.shufflenet_v1 import ShuffleNetV1, shufflenet_v1
from costmodel.zoo.shufflenet_v2 import ShuffleNetV2, shufflenet_v2

__all__ = [
    "MODELS",
    "MobileNetV2",
    "ShuffleNetV1",
    "ShuffleNetV2",
    "mobilenet_v1",
    "mobilenet_v2",
    "resnet",
    "shufflenet_v1",
    "shufflenet_v2",
    "squeezenet",
    "vgg",
    "vit",
]

#: Named zoo variants, each a zero-argument constructor (used by the CLI and notebooks).
MODELS: dict[str, Callable[[], nn.Module]] = {
    **{f"shufflenet_v2_x{w}": (lambda w=w: shufflenet_v2(w)) for w in (0.5, 1.0, 1.5, 2.0)},
    **{
        f"shufflenet_v1_g{g}_x{w}": (lambda g=g, w=w: shufflenet_v1(g, w))
        for g in (1, 2, 3, 4, 8)
        for w in (0.25, 0.5, 1.0, 1.5, 2.0)
    },
    **{f"mobilenet_v2_x{w}": (lambda w=w: mobilenet_v2(w)) for w in (0.35, 0.5, 0.75, 1.0, 1.4)},
    **{f"mobilenet_v1_x{a}": (lambda a=a: mobilenet_v1(a)) for a in (0.25, 0.5, 0.75, 1.0)},
    **{f"resnet{d}": (lambda d=d: resnet(d)) for d in (18, 34, 50)},
    **{f"vgg{d}": (lambda d=d: vgg(d)) for d in (11, 16)},
    "squeezenet1_1": squeezenet,
    "vit_tiny": lambda: vit(192, 12, 3),
    "vit_small": lambda: vit(384, 12, 6),
}
