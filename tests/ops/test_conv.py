"""Convolution costs against closed forms written out here, and against torch's FlopCounterMode."""

from __future__ import annotations

import math

import torch
from hypothesis import given
from torch import nn

import costmodel
from tests.conftest import torch_flop_counter_macs
from tests.strategies import ConvConfig, build_conv, conv_configs, input_shape


def _only_op(model: nn.Module, shape: tuple[int, ...]) -> costmodel.NodeCost:
    rep = costmodel.report(model, shape)
    (node,) = [n for n in rep.nodes if n.kind == costmodel.OpKind.CONV]
    return node


def test_pointwise_conv_matches_the_papers_mac_formula() -> None:
    # 1x1 conv, c1 = 32 -> c2 = 64, 56x56, no bias: B = hw c1 c2, MAC = hw(c1 + c2) + c1 c2
    node = _only_op(nn.Conv2d(32, 64, 1, bias=False), (1, 32, 56, 56))
    hw = 56 * 56
    assert node.flops == hw * 32 * 64  # 6_422_528
    assert node.mac == hw * (32 + 64) + 32 * 64  # 303_104
    assert node.mac_bytes == 4 * node.mac


def test_grouped_pointwise_conv_divides_weights_by_groups() -> None:
    # MAC = hw(c1 + c2) + c1 c2 / g  with g = 4;  B = hw c1 c2 / g
    node = _only_op(nn.Conv2d(64, 64, 1, groups=4, bias=False), (1, 64, 28, 28))
    hw = 28 * 28
    assert node.flops == hw * 64 * 64 // 4
    assert node.mac == hw * (64 + 64) + 64 * 64 // 4


def test_depthwise_3x3_stride_2_conv() -> None:
    # out 112 -> 56 ((112 + 2 - 2 - 1) // 2 + 1 = 56); each output = 9 MACs; weights 32*1*3*3
    node = _only_op(nn.Conv2d(32, 32, 3, 2, 1, groups=32, bias=False), (1, 32, 112, 112))
    assert node.output_shapes == ((1, 32, 56, 56),)
    assert node.flops == 32 * 56 * 56 * 9  # 903_168
    assert node.mac == 32 * 112 * 112 + 32 * 9 + 32 * 56 * 56


def test_conv_bias_adds_are_elementwise_not_flops() -> None:
    node = _only_op(nn.Conv2d(3, 8, 3, padding=1, bias=True), (2, 3, 10, 10))
    assert node.flops == 2 * 8 * 10 * 10 * 3 * 9  # n c_out h w * c_in k k = 43_200
    assert node.elementwise == 2 * 8 * 10 * 10  # one bias add per output element
    assert node.mac == 2 * 3 * 100 + 8 * 3 * 9 + 8 + 2 * 8 * 100
    assert node.params == 8 * 3 * 9 + 8


def test_transposed_conv_counts_each_input_element_against_its_weights() -> None:
    # ConvTranspose2d(4 -> 6, k=3, s=2): out = (5 - 1) * 2 + 3 = 11; flops = n c_in h w * c_out k k
    node = _only_op(nn.ConvTranspose2d(4, 6, 3, stride=2, bias=False), (1, 4, 5, 5))
    assert node.output_shapes == ((1, 6, 11, 11),)
    assert node.flops == 4 * 25 * 6 * 9  # 5_400
    assert node.mac == 4 * 25 + 4 * 6 * 9 + 6 * 121


def _closed_form(config: ConvConfig) -> tuple[int, int]:
    """(flops, mac) of a conv layer written out from its hyper-parameters."""
    o = config.out_size()
    k = config.kernel**config.dims
    x = config.batch * config.c_in * config.size**config.dims
    y = config.batch * config.c_out * o**config.dims
    weights = config.c_out * (config.c_in // config.groups) * k
    flops = (x * (config.c_out // config.groups) * k) if config.transposed else y * (config.c_in // config.groups) * k
    return flops, x + weights + (config.c_out if config.bias else 0) + y


@given(conv_configs())
def test_any_conv_layer_costs_its_closed_form(config: ConvConfig) -> None:
    node = _only_op(build_conv(config), input_shape(config))
    flops, mac = _closed_form(config)
    assert node.output_shapes[0][2:] == (config.out_size(),) * config.dims
    assert (node.flops, node.mac) == (flops, mac)


@given(conv_configs())
def test_any_conv_layer_flops_equal_torch_flop_counter_halved(config: ConvConfig) -> None:
    layer = build_conv(config)
    reference = torch_flop_counter_macs(layer, torch.zeros(input_shape(config)))
    assert costmodel.report(layer, input_shape(config)).flops == reference


def test_one_by_one_conv_mac_respects_the_g1_bound() -> None:
    for c1, c2 in [(32, 32), (22, 44), (13, 78), (9, 108)]:
        node = _only_op(nn.Conv2d(c1, c2, 1, bias=False), (1, c1, 56, 56))
        hw, B = 56 * 56, node.flops
        bound = 2 * math.sqrt(hw * B) + B / hw
        assert node.mac >= bound - 1e-9
        assert (node.mac - bound < 1e-6) == (c1 == c2)
