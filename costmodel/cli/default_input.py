"""The input a model is costed on when the command line names none: read from its ``forward`` and its config.

A model whose ``forward`` takes token ids (``input_ids``) gets one sequence of integer ids, an image model
(``pixel_values``) an image of its config's size and channels, an audio model (``input_values``) one second of
16 kHz samples; an encoder-decoder gets ``decoder_input_ids`` too. Anything else gets the image of
``DEFAULT_INPUT_SHAPE``. The choice is said on stderr, with the flag that changes it.
"""

from __future__ import annotations

import inspect
from typing import Any, NamedTuple

import torch
from torch import nn

from costmodel.types import TensorSpec

__all__ = ["DEFAULT_INPUT_SHAPE", "DEFAULT_SEQUENCE", "DefaultInput", "default_input", "dtype_hint"]

DEFAULT_INPUT_SHAPE = (1, 3, 224, 224)
#: Tokens of the default sequence (fewer where the model's positions allow fewer).
DEFAULT_SEQUENCE = 128
_AUDIO_SAMPLES = 16_000


class DefaultInput(NamedTuple):
    """The input chosen and how to write it as ``--input-shape`` (``None``: the plain image default)."""

    value: Any
    flag: str | None


def _config_int(config: Any, *names: str) -> int | None:
    for name in names:
        value = getattr(config, name, None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        if isinstance(value, list | tuple) and value and isinstance(value[0], int):
            return int(value[0])
    return None


def _parameters(model: nn.Module) -> list[str]:
    try:
        return list(inspect.signature(model.forward).parameters)
    except (TypeError, ValueError):
        return []


def default_input(model: nn.Module) -> DefaultInput:
    """The input for ``model`` when none is given (see the module docstring)."""
    parameters = _parameters(model)
    first = parameters[0] if parameters else ""
    config = getattr(model, "config", None)
    if first == "input_ids":
        positions = _config_int(config, "max_position_embeddings", "n_positions", "max_seq_len")
        tokens = min(DEFAULT_SEQUENCE, positions) if positions else DEFAULT_SEQUENCE
        ids = TensorSpec((1, tokens), torch.int64)
        if getattr(config, "is_encoder_decoder", False) and "decoder_input_ids" in parameters:
            value = {"input_ids": ids, "decoder_input_ids": ids}
            return DefaultInput(value, f"input_ids=1,{tokens}:int64;decoder_input_ids=1,{tokens}:int64")
        return DefaultInput({"input_ids": ids}, f"input_ids=1,{tokens}:int64")
    if first == "pixel_values":
        size = _config_int(config, "image_size", "input_size") or DEFAULT_INPUT_SHAPE[-1]
        channels = _config_int(config, "num_channels", "in_channels") or DEFAULT_INPUT_SHAPE[1]
        return DefaultInput({"pixel_values": (1, channels, size, size)}, f"pixel_values=1,{channels},{size},{size}")
    if first == "input_values":
        return DefaultInput({"input_values": (1, _AUDIO_SAMPLES)}, f"input_values=1,{_AUDIO_SAMPLES}")
    return DefaultInput(DEFAULT_INPUT_SHAPE, None)


#: Words of torch's errors when a float tensor reaches an op that wants integer indices (an embedding's ids).
_WANTS_INTEGERS = ("scalar types: Long, Int", "indices", "IntTensor", "LongTensor")


def dtype_hint(message: str, flag: str | None) -> str:
    """A hint to add to an error that says a float input reached an op wanting integers (token ids)."""
    if "float" in message and any(word in message for word in _WANTS_INTEGERS):
        shape = (flag or "").split(":", 1)[0] or "1,64"
        return f" (token ids are integers: give the dtype, e.g. --input-shape {shape}:int64)"
    return ""
