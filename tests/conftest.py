"""Shared test set-up: hypothesis profiles and small reference helpers."""

from __future__ import annotations

import os
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, settings
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

# dev: quick, the default. ci: thorough and derandomized, so a CI run is reproducible.
settings.register_profile("dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci", max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.getenv("HYPOTHESIS_PROFILE", "dev"))


def torch_flop_counter_macs(
    model: torch.nn.Module, *inputs: torch.Tensor, custom_mapping: dict[Any, Any] | None = None
) -> int:
    """Multiply-adds according to torch's FlopCounterMode (which counts 2 per multiply-add).

    SDPA runs on its math backend: FlopCounterMode has no formula for the fused CPU kernel
    (``_scaled_dot_product_flash_attention_for_cpu``) and would count attention as zero.
    ``custom_mapping`` adds formulas FlopCounterMode lacks (its own argument of that name).
    """
    counter = FlopCounterMode(display=False, custom_mapping=custom_mapping)
    model.eval()
    with counter, torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        model(*inputs)
    total = counter.get_total_flops()
    assert total % 2 == 0
    return total // 2


def torch_flop_counter_macs_by_keyword(
    model: torch.nn.Module, inputs: dict[str, Any], custom_mapping: dict[Any, Any] | None = None
) -> int:
    """``torch_flop_counter_macs`` of a model called with keyword inputs, as Hugging Face models are called."""

    class Keywords(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self) -> Any:
            return self.inner(**inputs)

    return torch_flop_counter_macs(Keywords(), custom_mapping=custom_mapping)


def fvcore_macs(model: torch.nn.Module, *inputs: torch.Tensor) -> int:
    """fvcore's multiply-adds of the conv and matmul families (fvcore also counts norms and pools)."""
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model.eval(), inputs)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    families = {"conv", "linear", "addmm", "matmul", "bmm", "einsum", "mm"}
    return sum(count for op, count in analysis.by_operator().items() if op in families)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
