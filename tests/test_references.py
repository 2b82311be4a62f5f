"""Totals against independent counters: torch's FlopCounterMode and fvcore, on every zoo family."""

from __future__ import annotations

import pytest
import torch
from fvcore.nn import FlopCountAnalysis

import costmodel
from costmodel.zoo import MODELS
from tests.conftest import torch_flop_counter_macs

QUICK = ["shufflenet_v2_x1.0", "shufflenet_v1_g3_x1.0", "shufflenet_v1_g8_x0.5", "mobilenet_v2_x1.0"]
ALL = sorted(MODELS)
FVCORE_MATMUL_OPS = {"conv", "linear", "addmm", "matmul", "bmm", "einsum", "mm"}


def _fvcore_macs(model: torch.nn.Module, x: torch.Tensor) -> int:
    analysis = FlopCountAnalysis(model.eval(), x)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    # fvcore counts 1 per multiply-add like the papers; keep its conv/matmul families only
    # (it also counts batch norm and pooling, which costmodel keeps as element-wise).
    return sum(v for k, v in analysis.by_operator().items() if k in FVCORE_MATMUL_OPS)


def _check(name: str, size: int = 224) -> None:
    model = MODELS[name]()
    x = torch.zeros(1, 3, size, size)
    rep = costmodel.report(model, tuple(x.shape))
    assert rep.flops == pytest.approx(torch_flop_counter_macs(model, x), rel=1e-3)
    assert rep.flops == pytest.approx(_fvcore_macs(model, x), rel=1e-3)
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
