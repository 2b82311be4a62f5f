"""Activations, adds, norms, pooling, softmax and upsampling: element-wise counts and MAC."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

import costmodel
from costmodel import OpKind


class Residual(nn.Module):
    """relu(x + y)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + x * 2.0)


def test_relu_reads_and_writes_every_element_once() -> None:
    rep = costmodel.report(nn.ReLU(), (1, 16, 8, 8))
    n = 16 * 64
    assert (rep.flops, rep.elementwise, rep.mac) == (0, n, 2 * n)


def test_inplace_relu6_costs_the_same_traffic_as_out_of_place() -> None:
    n = 4 * 7 * 7
    assert costmodel.report(nn.ReLU6(inplace=True), (1, 4, 7, 7)).mac == 2 * n


def test_add_reads_both_operands() -> None:
    rep = costmodel.report(Residual(), (1, 8, 4, 4))
    n = 8 * 16
    # mul: read x, write; add: read 2, write; relu: read, write  -> 7n, and 3 element-wise ops per element
    assert rep.mac == 7 * n
    assert rep.elementwise == 3 * n
    assert {node.kind for node in rep.nodes if node.ops} == {OpKind.ELEMENTWISE}


def test_inference_batch_norm_is_one_scale_shift_per_element() -> None:
    rep = costmodel.report(nn.BatchNorm2d(16), (2, 16, 8, 8))
    n = 2 * 16 * 64
    assert rep.flops == 0
    assert rep.elementwise == n
    assert rep.mac == 2 * n + 4 * 16  # x, y and weight, bias, running mean, running var
    assert rep.params == 32


def test_layer_norm_counts_statistics_passes() -> None:
    rep = costmodel.report(nn.LayerNorm(32), (4, 10, 32))
    assert rep.elementwise == 4 * 4 * 10 * 32
    assert rep.params == 64


def test_group_norm_is_supported() -> None:
    rep = costmodel.report(nn.GroupNorm(4, 16), (1, 16, 5, 5))
    assert not rep.unsupported
    assert rep.elementwise == 4 * 16 * 25


def test_max_pool_counts_window_compares_and_no_indices() -> None:
    rep = costmodel.report(nn.MaxPool2d(3, 2, 1), (1, 24, 112, 112))
    out = 24 * 56 * 56
    assert rep.elementwise == out * 9
    assert rep.mac == 24 * 112 * 112 + out


def test_avg_pool_and_adaptive_pool() -> None:
    rep = costmodel.report(nn.AvgPool2d(2), (1, 8, 10, 10))
    assert rep.elementwise == 8 * 5 * 5 * 4
    rep = costmodel.report(nn.AdaptiveAvgPool2d(1), (1, 8, 7, 7))
    assert rep.elementwise == 8 * 49
    assert rep.mac == 8 * 49 + 8


def test_global_mean_is_a_reduction_over_every_input_element() -> None:
    class GlobalMean(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean((2, 3))

    rep = costmodel.report(GlobalMean(), (2, 32, 7, 7))
    assert rep.elementwise == 2 * 32 * 49
    assert rep.mac == 2 * 32 * 49 + 2 * 32


def test_softmax_and_upsample() -> None:
    assert costmodel.report(nn.Softmax(dim=-1), (2, 5, 10)).elementwise == 3 * 100
    rep = costmodel.report(nn.Upsample(scale_factor=2, mode="bilinear"), (1, 3, 4, 4))
    assert rep.elementwise == 3 * 8 * 8 * 4  # 2 taps per spatial dim
    rep = costmodel.report(nn.Upsample(scale_factor=2, mode="nearest"), (1, 3, 4, 4))
    assert (rep.elementwise, rep.mac) == (0, 3 * 16 + 3 * 64)


def test_eval_mode_dropout_and_identity_cost_nothing() -> None:
    rep = costmodel.report(nn.Sequential(nn.Dropout(0.5), nn.Identity(), nn.Flatten()), (2, 3, 4))
    assert (rep.flops, rep.elementwise, rep.mac) == (0, 0, 0)
    assert not rep.unsupported


def test_gelu_silu_hardswish_sigmoid_tanh_are_pointwise() -> None:
    for act in (nn.GELU(), nn.SiLU(), nn.Hardswish(), nn.Sigmoid(), nn.Tanh(), nn.LeakyReLU(), nn.ELU()):
        rep = costmodel.report(act, (1, 10))
        assert (rep.elementwise, rep.mac, dict(rep.unsupported)) == (10, 20, {}), act
