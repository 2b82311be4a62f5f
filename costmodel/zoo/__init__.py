"""Model zoo: ShuffleNet V1, ShuffleNet V2 and MobileNet V2, written from their papers.

No weights and no torchvision: the models are built from the architecture tables
(see ``shared/design/paper-tables.md``) so their FLOPs and parameter counts can be
checked against the published figures.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from costmodel.zoo.mobilenet_v2 import MobileNetV2, mobilenet_v2
from costmodel.zoo.shufflenet_v1 import ShuffleNetV1, shufflenet_v1
from costmodel.zoo.shufflenet_v2 import ShuffleNetV2, shufflenet_v2

__all__ = [
    "MODELS",
    "MobileNetV2",
    "ShuffleNetV1",
    "ShuffleNetV2",
    "mobilenet_v2",
    "shufflenet_v1",
    "shufflenet_v2",
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
}
