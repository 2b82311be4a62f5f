"""The model's inputs: validated and normalised once, at the door, into one ``ModelInputs`` record.

The dtype rule lives here and only here: an input given as a shape takes the
dtype of the model's first floating-point parameter or buffer (the default
dtype if it has none); an example tensor keeps its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from costmodel.errors import UnsupportedInput
from costmodel.types import ModelInputs, TensorSpec

__all__ = ["example_tensors", "input_dtype", "meta_tensors", "normalize_inputs"]


def _is_shape(value: Any) -> bool:
    return (
        isinstance(value, Sequence | torch.Size)
        and not isinstance(value, str)
        and all(isinstance(d, int) and not isinstance(d, bool) for d in value)
    )


def input_dtype(model: nn.Module) -> torch.dtype:
    """The dtype of inputs given as shapes: the model's first floating-point parameter's or buffer's."""
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.get_default_dtype()


def normalize_inputs(input_shape: Any, model: nn.Module) -> ModelInputs:
    """One shape, a list of shapes, one tensor or a list of tensors -> ``ModelInputs``.

    Raises:
        UnsupportedInput: Not a shape, or a shape with a non-positive dimension.
    """
    if isinstance(input_shape, torch.Tensor):
        items: Sequence[Any] = [input_shape]
    elif _is_shape(input_shape) and len(input_shape) > 0:
        items = [input_shape]
    elif isinstance(input_shape, Sequence) and not isinstance(input_shape, str) and len(input_shape) > 0:
        items = input_shape
    else:
        raise UnsupportedInput(
            f"input_shape must be a shape like (1, 3, 224, 224), a list of shapes, or example tensors; "
            f"got {input_shape!r}"
        )
    dtype = input_dtype(model)
    specs: list[TensorSpec] = []
    examples: list[torch.Tensor | None] = []
    for index, item in enumerate(items):
        if isinstance(item, torch.Tensor):
            specs.append(TensorSpec.of(item))
            examples.append(item)
        elif _is_shape(item) and len(item) > 0:
            if any(d <= 0 for d in item):
                raise UnsupportedInput(f"input {index} has a non-positive dimension: {tuple(item)}")
            specs.append(TensorSpec(tuple(int(d) for d in item), dtype))
            examples.append(None)
        else:
            raise UnsupportedInput(f"input {index} is not a shape of positive ints or a tensor: {item!r}")
    return ModelInputs(tuple(specs), tuple(examples))


def meta_tensors(inputs: ModelInputs) -> list[torch.Tensor]:
    """Shape-only stand-ins for the inputs, on the meta device."""
    return [torch.empty(spec.shape, dtype=spec.dtype, device="meta") for spec in inputs.specs]


def example_tensors(inputs: ModelInputs, device: torch.device, *, seed: int = 0) -> list[torch.Tensor]:
    """Real inputs on ``device``: the given examples, else seeded standard normals of each spec."""
    generator = torch.Generator().manual_seed(seed)
    return [
        example.to(device)
        if example is not None
        else torch.randn(spec.shape, generator=generator).to(device, spec.dtype)
        for spec, example in zip(inputs.specs, inputs.examples, strict=True)
    ]
