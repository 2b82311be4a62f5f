"""Views are free, copies cost their reads and writes: channel shuffle, concat, split, embedding."""

from __future__ import annotations

import torch
from torch import nn

import costmodel
from costmodel import OpKind
from costmodel.zoo._layers import ChannelShuffle


class SplitConcat(nn.Module):
    """chunk (a view) then cat (a copy)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return torch.cat((b, a), dim=1)


class ViewsOnly(nn.Module):
    """reshape / permute / transpose / flatten of a contiguous tensor: all views."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(2, 8, 16).permute(0, 2, 1).transpose(1, 2).flatten(1)


def test_channel_shuffle_costs_one_read_and_one_write_of_the_map() -> None:
    rep = costmodel.report(ChannelShuffle(2), (1, 116, 28, 28))
    n = 116 * 28 * 28
    assert rep.mac == 2 * n  # the contiguous() copy; view/transpose are free
    assert rep.flops == rep.elementwise == 0
    kinds = {node.target: node.kind for node in rep.nodes if node.ops}
    assert kinds == {".contiguous": OpKind.DATA, ".view": OpKind.VIEW}  # the views before the copy join its row
    (copy,) = [node for node in rep.nodes if node.target == ".contiguous"]
    assert [op.name for op in copy.ops] == ["view", "transpose", "clone"]


def test_split_is_free_and_concat_copies() -> None:
    rep = costmodel.report(SplitConcat(), (1, 8, 4, 4))
    assert rep.mac == 2 * 8 * 16


def test_views_move_nothing() -> None:
    rep = costmodel.report(ViewsOnly(), (2, 128))
    assert rep.mac == 0
    assert not rep.unsupported


def test_embedding_reads_only_the_rows_it_gathers() -> None:
    model = nn.Embedding(10_000, 64)
    rep = costmodel.report(model, [torch.zeros(4, 12, dtype=torch.long)])
    looked_up = 4 * 12 * 64
    assert rep.mac == 4 * 12 + 2 * looked_up  # indices + gathered rows + output
    assert rep.params == 10_000 * 64
    assert rep.mac_bytes == 8 * 4 * 12 + 4 * 2 * looked_up
