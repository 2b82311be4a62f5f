"""Running a user's model for analysis without changing it: eval mode, no autograd, flags restored."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

__all__ = ["inference"]


@contextlib.contextmanager
def inference(model: nn.Module) -> Iterator[None]:
    """Every submodule in eval mode and autograd off; each module's own flag restored afterwards."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, training in flags:
            m.training = training
