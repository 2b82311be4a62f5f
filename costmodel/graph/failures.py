"""One-line errors for a failure inside a model's run: values needed, a bug in ``forward``, or a shape mismatch,
naming the layer or op it happened in, what a standard layer expects, and the shapes it got."""

from __future__ import annotations

from typing import Any

from torch import nn

from costmodel.errors import ShapeError, TraceError, ValueDependent
from costmodel.graph.dispatch import flat_specs

__all__ = ["describe_shapes", "translate"]


def _expectation(module: nn.Module | None) -> str:
    """What a standard layer expects of its input, from its own attributes ('' if unknown)."""
    if isinstance(module, nn.modules.conv._ConvNd):
        dims = len(module.kernel_size)
        return f"expects [N, {module.in_channels}, {', '.join('*' * dims)}] (channels in dim 1); "
    if isinstance(module, nn.Linear | nn.Bilinear):
        return f"expects [..., {getattr(module, 'in_features', getattr(module, 'in1_features', '?'))}]; "
    if isinstance(module, nn.modules.batchnorm._NormBase):
        return f"expects [N, {module.num_features}, ...] (features in dim 1); "
    if isinstance(module, nn.LayerNorm):
        return f"expects [..., {', '.join(map(str, module.normalized_shape))}]; "
    return ""


def describe_shapes(value: Any) -> str:
    return ", ".join(str(s) for s in flat_specs(value)) or "no tensors"


def translate(described: str, module: nn.Module | None, shapes: str, error: Exception) -> Exception:
    """The one-line error for a failure in the described place: values needed, a bug, or a shape mismatch."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    name = type(error).__name__
    if "DataDependent" in name or "data-dependent" in message or "meta tensor" in message:
        return ValueDependent(
            f"{described} depends on tensor values ({name}), which shape-only analysis cannot "
            "see; make that branch depend on shapes, or register a cost formula for the module"
        )
    if not isinstance(error, RuntimeError | ValueError | IndexError):  # not a shape check: a bug in forward
        return TraceError(f"{described} raised {name} on input {shapes}: {message}")
    return ShapeError(f"{described} {_expectation(module)}got {shapes}: {message}")
