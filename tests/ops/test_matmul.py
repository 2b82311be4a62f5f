"""Linear, matmul, bmm, einsum and attention costs against closed forms and FlopCounterMode."""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F

import costmodel
from tests.conftest import torch_flop_counter_macs


class MatMul(nn.Module):
    """x @ y."""

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.matmul(x, y)


class Einsum(nn.Module):
    """Batched product written as einsum."""

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bik,bkj->bij", x, y)


class Attention(nn.Module):
    """Fused scaled dot-product attention."""

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v)


def test_linear_is_one_multiply_add_per_weight_per_row() -> None:
    rep = costmodel.report(nn.Linear(1024, 1000), (8, 1024))
    assert rep.flops == 8 * 1024 * 1000  # rows * in * out = 8_192_000
    assert rep.elementwise == 8 * 1000  # bias adds
    assert rep.mac == 8 * 1024 + 1024 * 1000 + 1000 + 8 * 1000
    assert rep.params == 1024 * 1000 + 1000


def test_linear_on_a_sequence_folds_the_batch_dims() -> None:
    rep = costmodel.report(nn.Linear(64, 32, bias=False), (2, 10, 64))
    assert rep.flops == 2 * 10 * 64 * 32


# Sizes from 2: with a size-1 contraction einsum multiplies element-wise instead of calling bmm.
@given(
    b=st.integers(1, 3),
    m=st.integers(2, 9),
    k=st.integers(2, 9),
    n=st.integers(2, 9),
)
def test_batched_matmul_and_einsum_cost_b_m_n_k(b: int, m: int, k: int, n: int) -> None:
    for model in (MatMul(), Einsum()):
        rep = costmodel.report(model, [(b, m, k), (b, k, n)])
        assert rep.flops == b * m * n * k
        assert rep.flops == torch_flop_counter_macs(model, torch.zeros(b, m, k), torch.zeros(b, k, n))


def test_attention_counts_both_products_and_the_math_path_traffic() -> None:
    b, h, s, d = 2, 4, 16, 8
    rep = costmodel.report(Attention(), [(b, h, s, d)] * 3)
    # No FlopCounterMode check: on CPU it has no formula for the fused CPU kernel and reports 0.
    assert rep.flops == b * h * s * s * (d + d)  # Q K^T and P V: 32_768
    assert not rep.unsupported
    # Shape-only analysis runs PyTorch's math path (the fused kernels are chosen per device):
    # scale q and k (2 * 2bhsd), QK^T (2bhsd + bhss), softmax (2bhss), PV (bhss + 2bhsd).
    qkv, scores = b * h * s * d, b * h * s * s
    assert rep.mac == 4 * qkv + (2 * qkv + scores) + 2 * scores + (scores + 2 * qkv)
