"""Scatter, gather and routing formulas against closed forms written here."""

from __future__ import annotations

import math

import torch
from torch import nn

import costmodel
from costmodel import OpKind


def _op(rep: costmodel.Report, name: str) -> costmodel.OpCost:
    return next(op for node in rep.nodes for op in node.ops if op.name == name)


class ScatterAdd(nn.Module):
    """Messages of E edges (F features each) summed into N nodes, in place and out of place."""

    def forward(self, messages: torch.Tensor, index: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        expanded = index.unsqueeze(-1).expand_as(messages)
        return out.scatter_add(0, expanded, messages) + out.clone().scatter_add_(0, expanded, messages)


def test_scatter_add_in_place_and_out_of_place() -> None:
    e, n, f = 40, 10, 8
    rep = costmodel.report(ScatterAdd(), [(e, f), costmodel.TensorSpec((e,), torch.int64), (n, f)])
    out_of_place, in_place = _op(rep, "scatter_add"), _op(rep, "scatter_add_")
    assert out_of_place.kind is OpKind.ELEMENTWISE
    assert out_of_place.cost.elementwise == in_place.cost.elementwise == e * f  # one add per message element
    # in place: index and messages read, the e*f touched elements read and written
    assert in_place.cost.mac == e * f + e * f + 2 * e * f
    # out of place: self copied too (read n*f, write n*f) besides the touched elements read
    assert out_of_place.cost.mac == n * f + e * f + e * f + e * f + n * f


class Route(nn.Module):
    """Top-k routing of T tokens over E experts, then a sort and a histogram of the choices."""

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        _, chosen = logits.topk(2, dim=-1)
        ordered, _ = chosen.flatten().sort()
        return torch.histc(ordered.float(), bins=logits.shape[-1], min=0, max=logits.shape[-1] - 1)


def test_routing_ops_count_their_comparisons() -> None:
    tokens, experts = 32, 8
    rep = costmodel.report(Route(), (tokens, experts))
    assert _op(rep, "topk").cost.elementwise == tokens * experts
    assert _op(rep, "sort").cost.elementwise == tokens * 2 * math.ceil(math.log2(tokens * 2))
    assert _op(rep, "histc").cost.elementwise == tokens * 2
    assert rep.unsupported == {}


def test_an_in_place_op_is_costed_as_its_out_of_place_form() -> None:
    class Fill(nn.Module):
        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            return x.clone().masked_fill_(mask, 0.0)

    rep = costmodel.report(Fill(), [(4, 5), costmodel.TensorSpec((4, 5), torch.bool)])
    fill = _op(rep, "masked_fill_")
    assert fill.kind is OpKind.ELEMENTWISE
    assert fill.cost.elementwise == 20
    assert fill.cost.mac == 20 + 20 + 20  # self and mask read, self written
