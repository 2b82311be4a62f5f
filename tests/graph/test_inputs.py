"""Inputs as forward takes them: defaults kept, keywords by name, unknown keywords named, flags, integer token ids."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import costmodel
from costmodel import TensorSpec, UnsupportedInput


class Masked(nn.Module):
    """An optional mask, and an optional scale whose wrong branch would not crash."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, scale: float | None = None) -> torch.Tensor:
        y = self.fc(x)
        if mask is not None:
            y = y.masked_fill(mask, 0.0)
        if scale is not None:
            y = y * scale
        return y


def test_parameters_not_given_keep_their_defaults() -> None:
    rep = costmodel.report(Masked(), (2, 4))
    assert [n.target for n in rep.nodes] == ["Linear"]  # neither branch: mask and scale are None
    assert rep.elementwise == 2 * 4  # the bias only


def test_keyword_inputs_are_passed_by_name() -> None:
    rep = costmodel.report(Masked(), {"x": (2, 4), "mask": TensorSpec((2, 4), torch.bool)})
    assert [n.target for n in rep.nodes] == ["Linear", ".masked_fill"]
    assert rep.elementwise == 2 * 4 + 2 * 4  # bias, then one select per element
    assert rep.input_shapes == ((2, 4), (2, 4))


def test_an_unknown_keyword_is_named() -> None:
    with pytest.raises(UnsupportedInput, match="no parameter 'masks'"):
        costmodel.report(Masked(), {"x": (2, 4), "masks": (2, 4)})


class Flagged(nn.Module):
    """A Python flag with a default: fx could not trace ``if return_both`` on a proxy; the default decides."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(self, x: torch.Tensor, return_both: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        y = self.a(x)
        if return_both:
            return y, self.b(y)
        return y


def test_a_flag_left_at_its_default_takes_its_branch() -> None:
    rep = costmodel.report(Flagged(), (2, 4))
    assert [n.module_path for n in rep.nodes] == ["a"]
    both = costmodel.report(Flagged(), {"x": (2, 4), "return_both": True})
    assert [n.module_path for n in both.nodes if n.op == "call_module"] == ["a", "b"]


def test_integer_token_ids_as_specs_and_tensors() -> None:
    model = nn.Sequential(nn.Embedding(50, 8), nn.Linear(8, 2))
    rep = costmodel.report(model, TensorSpec((3, 7), torch.int64))
    assert rep.flops == 3 * 7 * 8 * 2
    same = costmodel.report(model, torch.randint(0, 50, (3, 7)))
    assert same.total == rep.total
