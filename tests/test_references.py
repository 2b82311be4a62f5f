"""Totals against independent counters: torch's FlopCounterMode and fvcore, on every zoo family."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import costmodel
from costmodel.zoo import MODELS
from tests.conftest import fvcore_macs, torch_flop_counter_macs
from tests.strategies import ConvConfig, build_conv, conv_configs, input_shape

QUICK = ["shufflenet_v2_x1.0", "shufflenet_v1_g3_x1.0", "shufflenet_v1_g8_x0.5", "mobilenet_v2_x1.0", "vit_tiny"]
ALL = sorted(MODELS)


def _check(name: str, size: int = 224) -> None:
    model = MODELS[name]()
    x = torch.zeros(1, 3, size, size)
    rep = costmodel.report(model, tuple(x.shape))
    assert rep.flops == pytest.approx(torch_flop_counter_macs(model, x), rel=1e-3)
    if not name.startswith("vit"):  # fvcore has no handle for aten::scaled_dot_product_attention
        assert rep.flops == pytest.approx(fvcore_macs(model, x), rel=1e-3)
    unique = {id(p): p.numel() for p in model.parameters()}
    assert rep.params == sum(unique.values())
    assert not rep.unsupported


@pytest.mark.parametrize("name", QUICK)
def test_zoo_totals_equal_flop_counter_and_fvcore(name: str) -> None:
    _check(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL)
def test_every_zoo_variant_equals_flop_counter_and_fvcore(name: str) -> None:
    _check(name)


def test_totals_agree_at_another_resolution() -> None:
    _check("mobilenet_v2_x0.75", size=160)


@given(conv_configs(transposed=False))
def test_generated_conv_layers_equal_fvcore(config: ConvConfig) -> None:
    layer = build_conv(config)
    assert costmodel.report(layer, input_shape(config)).flops == fvcore_macs(layer, torch.zeros(input_shape(config)))


@given(
    rows=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    features=st.integers(1, 64),
    out=st.integers(1, 64),
    bias=st.booleans(),
)
def test_generated_linear_layers_equal_the_references(rows: list[int], features: int, out: int, bias: bool) -> None:
    layer = torch.nn.Linear(features, out, bias=bias)
    shape = (*rows, features)
    rep = costmodel.report(layer, shape)
    assert rep.flops == math.prod(rows) * features * out
    assert rep.flops == torch_flop_counter_macs(layer, torch.zeros(shape))
    assert rep.flops == fvcore_macs(layer, torch.zeros(shape))
    assert rep.params == features * out + (out if bias else 0)
