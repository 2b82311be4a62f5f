"""The model's inputs: validated and normalised once, at the door, into one ``ModelInputs`` record.

Inputs come as the user calls the model: one shape, a list (positional inputs),
or a dict (keyword inputs, e.g. ``input_ids`` and ``attention_mask``); each item a
shape, a ``TensorSpec`` (shape and dtype: integer token ids), or an example tensor.

The dtype rule lives here and only here: an input given as a shape takes the
dtype of the model's first floating-point parameter or buffer (the default
dtype if it has none); a ``TensorSpec`` or an example tensor keeps its own.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from costmodel.cache import memoize
from costmodel.errors import UnsupportedInput
from costmodel.types import ModelInputs, TensorSpec

__all__ = [
    "example_tensors",
    "index_bound",
    "input_dtype",
    "input_names",
    "input_shapes",
    "meta_tensors",
    "normalize_inputs",
    "symbol_names",
    "walk_inputs",
]


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


def _items(input_shape: Any) -> tuple[Sequence[Any], tuple[str | None, ...]]:
    """The inputs' items and their keywords (``None``: positional)."""
    if isinstance(input_shape, Mapping) and input_shape:
        bad = [k for k in input_shape if not isinstance(k, str) or not k.isidentifier()]
        if bad:
            raise UnsupportedInput(f"keyword inputs need parameter names as keys; got {bad[0]!r}")
        return list(input_shape.values()), tuple(input_shape)
    if isinstance(input_shape, torch.Tensor | TensorSpec) or (_is_shape(input_shape) and len(input_shape) > 0):
        return [input_shape], (None,)
    if isinstance(input_shape, Sequence) and not isinstance(input_shape, str) and len(input_shape) > 0:
        return input_shape, (None,) * len(input_shape)
    raise UnsupportedInput(
        "input_shape must be a shape like (1, 3, 224, 224), a list of shapes, example tensors, "
        f"or a dict of them by forward's parameter names; got {input_shape!r}"
    )


def normalize_inputs(input_shape: Any, model: nn.Module) -> ModelInputs:
    """One shape, a list of shapes, tensors or ``TensorSpec``s, or a dict of them by keyword -> ``ModelInputs``.

    Raises:
        UnsupportedInput: Not a shape, or a shape with a non-positive dimension (the message names the input).
    """
    items, names = _items(input_shape)
    dtype = input_dtype(model)
    specs: list[TensorSpec] = []
    examples: list[torch.Tensor | None] = []
    kept: list[str | None] = []
    constants: dict[str, Any] = {}
    for index, (item, name) in enumerate(zip(items, names, strict=True)):
        label = f"input '{name}'" if name is not None else f"input {index}"
        if name is not None and (item is None or isinstance(item, bool | int | str | float)):
            constants[name] = item  # a flag or option passed by keyword: forward sees it as given
            continue
        kept.append(name)
        if isinstance(item, torch.Tensor):
            specs.append(TensorSpec.of(item))
            examples.append(item)
            continue
        shape, item_dtype = (item.shape, item.dtype) if isinstance(item, TensorSpec) else (item, dtype)
        if not (_is_shape(shape) and len(shape) > 0):
            raise UnsupportedInput(f"{label} is not a shape of positive ints, a TensorSpec or a tensor: {item!r}")
        if any(d <= 0 for d in shape):
            raise UnsupportedInput(f"{label} has a non-positive dimension: {tuple(shape)}")
        specs.append(TensorSpec(tuple(int(d) for d in shape), item_dtype))
        examples.append(None)
    if not specs:
        raise UnsupportedInput("no tensor input given: at least one input must be a shape, a TensorSpec or a tensor")
    return ModelInputs(tuple(specs), tuple(examples), tuple(kept), constants)


def input_shapes(input_shape: Any) -> list[tuple[Any, ...]]:
    """Each tensor input's shape in an input description, in order (sizes as given: ints, or names); an example
    tensor's shape too, plain values (flags, options) left out."""
    if isinstance(input_shape, TensorSpec):
        return [tuple(input_shape.shape)]
    if isinstance(input_shape, torch.Tensor):
        return [tuple(input_shape.shape)]
    if isinstance(input_shape, Mapping):
        return [shape for item in input_shape.values() for shape in input_shapes(item)]
    if isinstance(input_shape, list | tuple) and input_shape and all(isinstance(d, int | str) for d in input_shape):
        return [tuple(input_shape)]
    if isinstance(input_shape, list | tuple):
        return [shape for item in input_shape for shape in input_shapes(item)]
    return []


def symbol_names(input_shape: Any) -> tuple[str, ...]:
    """The sizes of an input description given by name (``("B", 3, "H", "W")``), in order of first appearance;
    none for a numeric input."""
    return tuple(dict.fromkeys(d for shape in input_shapes(input_shape) for d in shape if isinstance(d, str)))


def meta_tensors(inputs: ModelInputs) -> list[torch.Tensor]:
    """Shape-only stand-ins for the inputs, on the meta device."""
    return [torch.empty(spec.shape, dtype=spec.dtype, device="meta") for spec in inputs.specs]


def walk_inputs(inputs: ModelInputs, model: nn.Module) -> list[torch.Tensor]:
    """What the shape-only walk runs on: integer and boolean inputs (token ids, masks) with real values, as
    ``example_tensors`` makes them (branches read them: ``if mask.all()``), and shape-only meta tensors for the
    rest."""
    floating = [spec.dtype.is_floating_point or spec.dtype.is_complex for spec in inputs.specs]
    if all(floating):
        return meta_tensors(inputs)
    indices = ModelInputs(
        tuple(s for s, f in zip(inputs.specs, floating, strict=True) if not f),
        tuple(e for e, f in zip(inputs.examples, floating, strict=True) if not f),
        tuple(n for n, f in zip(inputs.names, floating, strict=True) if not f),
    )
    real = iter(example_tensors(indices, torch.device("cpu"), model=model))
    meta = meta_tensors(inputs)
    return [meta[i] if f else next(real) for i, f in enumerate(floating)]


def index_bound(model: nn.Module) -> int:
    """An exclusive upper bound for generated integer inputs: the smallest embedding table's size.

    Token ids below it are valid for every ``nn.Embedding`` of the model (2 if it has none).
    """
    sizes = [m.num_embeddings for m in model.modules() if isinstance(m, nn.Embedding | nn.EmbeddingBag)]
    return min(sizes, default=2)


def example_tensors(
    inputs: ModelInputs, device: torch.device, *, seed: int = 0, model: nn.Module | None = None
) -> list[torch.Tensor]:
    """Real inputs on ``device``: the given examples, else seeded values of each spec.

    Floating inputs are standard normals; integer inputs are valid indices for
    every embedding of ``model`` (``index_bound``); boolean inputs, and inputs
    passed by a keyword ending in ``mask``, are all ones (a mask that masks nothing).
    """
    generator = torch.Generator().manual_seed(seed)
    generated_indices = any(
        example is None and not (spec.dtype.is_floating_point or spec.dtype.is_complex or spec.dtype == torch.bool)
        for spec, example in zip(inputs.specs, inputs.examples, strict=True)
    )
    bound = index_bound(model) if model is not None and generated_indices else 2  # a walk of the modules: if needed
    made = []
    for spec, example, name in zip(inputs.specs, inputs.examples, inputs.names, strict=True):
        if example is not None:
            made.append(example.to(device))
        elif spec.dtype == torch.bool or (name or "").endswith("mask"):
            made.append(torch.ones(spec.shape, dtype=spec.dtype, device=device))
        elif spec.dtype.is_floating_point or spec.dtype.is_complex:
            made.append(torch.randn(spec.shape, generator=generator).to(device, spec.dtype))
        else:
            made.append(torch.randint(0, bound, spec.shape, generator=generator).to(device, spec.dtype))
    return made


@memoize("graph.forward_parameters", "forward function -> its parameters", 256)
def _parameters(function: Any, method: bool) -> list[inspect.Parameter]:
    """A ``forward`` function's parameters, the instance left out of a method's (read through decorators'
    ``__wrapped__``, once per function)."""
    found = list(inspect.signature(function).parameters.values())
    return found[1:] if method and found else found


def input_names(model: nn.Module, inputs: ModelInputs) -> tuple[str, ...]:
    """The ``forward`` parameter each tensor input binds to, in input order (``input_2`` for a ``*args`` extra).

    Raises:
        UnsupportedInput: More positional inputs than ``forward`` takes, an unknown keyword, or a required
            parameter not given.
    """
    cls = type(model).__name__
    forward = model.forward
    try:
        function = getattr(forward, "__func__", None)
        parameters = _parameters(function, True) if function is not None else _parameters(forward, False)
    except (TypeError, ValueError):
        return tuple(name or f"input_{i}" for i, name in enumerate(inputs.names))
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    varargs = any(p.kind is p.VAR_POSITIONAL for p in parameters)
    varkw = any(p.kind is p.VAR_KEYWORD for p in parameters)
    named = [p.name for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    count = inputs.positional_count
    if count > len(positional) and not varargs:
        raise UnsupportedInput(f"{cls}.forward takes {len(positional)} input(s), got {count}")
    given = set(inputs.constants)
    names: list[str] = []
    index = 0
    for name in inputs.names:
        if name is None:
            names.append(positional[index].name if index < len(positional) else f"input_{index}")
            index += 1
        elif name in named or varkw:
            names.append(name)
        else:
            raise UnsupportedInput(f"{cls}.forward has no parameter '{name}' (it takes {', '.join(named)})")
    given |= set(names)
    for p in parameters:
        required = p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        if required and p.name not in given:
            raise UnsupportedInput(f"{cls}.forward needs input '{p.name}', but only {len(inputs)} input(s) were given")
    return tuple(names)
