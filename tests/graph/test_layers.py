"""Layers beyond convolutions, against closed forms written here: recurrent layers, transformer encoders,
multi-head attention (and its fast path, costed op by op), in-place views, unfold and fold."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import costmodel
from costmodel import TensorSpec
from costmodel.ops import lookup
from tests.conftest import torch_flop_counter_macs


# -- recurrent layers: multiply-adds in closed form ---------------------------------------------------
def _recurrent_macs(kind: str, inputs: int, hidden: int, layers: int, directions: int, proj: int, steps: int,
                    batch: int) -> int:  # fmt: skip
    """Per layer and direction, every step: the input and recurrent products of all gates (+ the projection)."""
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[kind]
    recurrent = proj or hidden
    total = 0
    for layer in range(layers):
        width = inputs if layer == 0 else directions * recurrent
        per_step = gates * hidden * width + gates * hidden * recurrent + (hidden * proj if proj else 0)
        total += directions * steps * batch * per_step
    return total


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize(
    ("kind", "layers", "bidirectional", "batch_first", "proj"),
    [
        ("LSTM", 1, False, False, 0),
        ("LSTM", 2, True, True, 0),
        ("LSTM", 2, True, True, 4),
        ("GRU", 2, False, True, 0),
        ("GRU", 1, True, False, 0),
        ("RNN", 3, True, False, 0),
    ],
)
def test_recurrent_layers_against_closed_forms(
    kind: str, layers: int, bidirectional: bool, batch_first: bool, proj: int
) -> None:
    options = {"proj_size": proj} if proj else {}
    layer = getattr(nn, kind)(8, 16, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, **options)
    steps, batch = 5, 3
    shape = (batch, steps, 8) if batch_first else (steps, batch, 8)
    rep = costmodel.report(layer, shape)
    expected = _recurrent_macs(kind, 8, 16, layers, 2 if bidirectional else 1, proj, steps, batch)
    enabled, torch.backends.mkldnn.enabled = torch.backends.mkldnn.enabled, False
    try:  # oneDNN's fused LSTM kernel has no FlopCounterMode formula: count the op-by-op path
        reference = torch_flop_counter_macs(layer, torch.randn(shape))
    finally:
        torch.backends.mkldnn.enabled = enabled
    assert rep.flops == expected == reference
    assert rep.params == sum(p.numel() for p in layer.parameters())
    assert rep.unsupported == {}
    assert layer._flat_weights[0].device.type == "cpu"  # the layer keeps its own weights


def test_elman_rnn_memory_access_in_closed_form() -> None:
    """nn.RNN (relu), one layer: per step two biased products, their in-place sum and the activation."""
    steps, batch, i, h = 4, 3, 8, 16
    rep = costmodel.report(nn.RNN(i, h, nonlinearity="relu"), (steps, batch, i))
    per_step = (
        (h + batch * i + h * i + batch * h)  # addmm(b_ih, x_t, W_ih^T): reads bias, x_t, weight; writes
        + (h + batch * h + h * h + batch * h)  # addmm(b_hh, h, W_hh^T)
        + 3 * batch * h  # add_: reads both, writes one
        + 2 * batch * h  # relu
    )
    initial = batch * h  # h0 = zeros
    stacked = 2 * steps * batch * h + 2 * batch * h  # outputs stacked over time, and h_n
    assert rep.mac == steps * per_step + initial + stacked
    assert rep.flops == steps * batch * (h * i + h * h)


def test_recurrent_layer_inside_a_model() -> None:
    class Tagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed, self.rnn, self.out = nn.Embedding(20, 8), nn.GRU(8, 16, batch_first=True), nn.Linear(16, 5)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            y, _ = self.rnn(self.embed(ids))
            return self.out(y)

    rep = costmodel.report(Tagger(), TensorSpec((2, 6), torch.int64))
    assert [n.module_path for n in rep.nodes if n.op == "call_module"] == ["embed", "rnn", "out"]
    assert rep.flops == _recurrent_macs("GRU", 8, 16, 1, 1, 0, 6, 2) + 2 * 6 * 16 * 5


# -- standard containers: traced into ------------------------------------------------------------------
def test_transformer_encoder_rows_and_closed_form() -> None:
    n, s, e, f, layers = 2, 10, 32, 64, 2
    block = nn.TransformerEncoderLayer(e, 4, f, batch_first=True)
    model = nn.TransformerEncoder(block, layers, enable_nested_tensor=False).eval()
    rep = costmodel.report(model, (n, s, e))
    per_layer = 3 * n * s * e * e + 2 * n * s * s * e + n * s * e * e + 2 * n * s * e * f
    assert rep.flops == layers * per_layer
    paths = [n_.module_path for n_ in rep.nodes]
    for i in range(layers):
        assert {f"layers.{i}.linear1", f"layers.{i}.linear2", f"layers.{i}.norm1"} <= set(paths)
        attention = [n_ for n_ in rep.nodes if n_.module_path == f"layers.{i}.self_attn" and n_.flops]
        # input projection (3 products), scores and weighted sum (the core), output projection
        assert sum(n_.flops for n_ in attention) == 4 * n * s * e * e + 2 * n * s * s * e
        assert len(attention) >= 3
    assert rep.params == sum(p.numel() for p in model.parameters())


def test_multihead_attention_shows_projections_and_core() -> None:
    n, s, e = 2, 6, 16
    attention = nn.MultiheadAttention(e, 2, batch_first=True).eval()
    rep = costmodel.report(attention, [(n, s, e)] * 3)
    products = [node.flops for node in rep.nodes if node.flops]
    assert sorted(products) == sorted([n * s * e * e] * 4 + [n * s * s * e] * 2)
    assert rep.params == sum(p.numel() for p in attention.parameters())


def test_the_inference_fast_path_is_costed_op_by_op_and_restored() -> None:
    assert torch.backends.mha.get_fastpath_enabled()
    block = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True).eval()
    rep = costmodel.report(block, torch.randn(2, 5, 16))
    assert rep.flops == 3 * 2 * 5 * 16 * 16 + 2 * 2 * 5 * 5 * 16 + 2 * 5 * 16 * 16 + 2 * 2 * 5 * 16 * 32
    assert torch.backends.mha.get_fastpath_enabled()


# -- registry gaps ----------------------------------------------------------------------------------------
def test_inplace_views_are_free_views() -> None:
    assert lookup(torch.ops.aten.as_strided_.default).kind is costmodel.OpKind.VIEW
    x = torch.randn(1, 8, 5, 5).to(memory_format=torch.channels_last)
    rep = costmodel.report(nn.AdaptiveAvgPool2d(1), x)
    assert rep.unsupported == {}


def test_unfold_and_fold_in_closed_form() -> None:
    unfolded = costmodel.report(nn.Unfold(kernel_size=2, stride=2), (1, 3, 4, 4))
    assert (unfolded.flops, unfolded.mac) == (0, 48 + 48)  # reads the image, writes 12 x 4 columns
    folded = costmodel.report(nn.Fold(output_size=(4, 4), kernel_size=2, stride=2), (1, 12, 4))
    assert folded.unsupported == {}
    assert folded.elementwise == 48  # each column element added into the image
    assert folded.mac == 48 + 48
