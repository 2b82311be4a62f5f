"""Validate what the user passed as the model's input: shapes or example tensors."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import torch

from costmodel.errors import UnsupportedInput

__all__ = ["InputSpec", "input_dtype", "normalize_inputs"]

InputSpec = torch.Tensor | tuple[int, ...]


def _is_shape(value: Any) -> bool:
    return (
        isinstance(value, Sequence | torch.Size)
        and not isinstance(value, str)
        and all(isinstance(d, int) and not isinstance(d, bool) for d in value)
    )


def normalize_inputs(input_shape: Any) -> tuple[InputSpec, ...]:
    """One shape, a list of shapes, one tensor or a list of tensors -> a tuple of inputs.

    Raises:
        UnsupportedInput: Not a shape, or a shape with a non-positive dimension.
    """
    if isinstance(input_shape, torch.Tensor):
        return (input_shape,)
    if _is_shape(input_shape) and len(input_shape) > 0:
        items: Sequence[Any] = [input_shape]
    elif isinstance(input_shape, Sequence) and not isinstance(input_shape, str) and len(input_shape) > 0:
        items = input_shape
    else:
        raise UnsupportedInput(
            f"input_shape must be a shape like (1, 3, 224, 224), a list of shapes, or example tensors; "
            f"got {input_shape!r}"
        )
    result: list[InputSpec] = []
    for index, item in enumerate(items):
        if isinstance(item, torch.Tensor):
            result.append(item)
        elif _is_shape(item) and len(item) > 0:
            if any(d <= 0 for d in item):
                raise UnsupportedInput(f"input {index} has a non-positive dimension: {tuple(item)}")
            result.append(tuple(int(d) for d in item))
        else:
            raise UnsupportedInput(f"input {index} is not a shape of positive ints or a tensor: {item!r}")
    return tuple(result)


def input_dtype(model: torch.nn.Module) -> torch.dtype:
    """Inputs built from shapes take the dtype of the model's first floating-point parameter or buffer."""
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.get_default_dtype()
