"""Any model: inputs as the user calls it, defaults kept, recurrent layers, containers traced into, registry gaps.

Expected values are closed forms written out here, or torch's FlopCounterMode.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import costmodel
from costmodel import TensorSpec, UnsupportedInput
from costmodel.cli import main, parse_shapes
from costmodel.ops import lookup
from tests.conftest import torch_flop_counter_macs


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


# -- the command line ---------------------------------------------------------------------------------------
def test_input_shape_grammar() -> None:
    assert parse_shapes("1,3,8,8") == (1, 3, 8, 8)
    assert parse_shapes("1,3;2,5") == [(1, 3), (2, 5)]
    assert parse_shapes("1,3", "int64") == TensorSpec((1, 3), torch.int64)
    assert parse_shapes("input_ids=2,16:int64;attention_mask=2,16:int64") == {
        "input_ids": TensorSpec((2, 16), torch.int64),
        "attention_mask": TensorSpec((2, 16), torch.int64),
    }


TOKEN_MODEL = """
import torch
from torch import nn

class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed, self.out = nn.Embedding(30, 8), nn.Linear(8, 3)

    def forward(self, ids, mask=None):
        y = self.out(self.embed(ids))
        return y if mask is None else y * mask.unsqueeze(-1)

INPUT_SHAPE = {"ids": torch.zeros(2, 5, dtype=torch.long)}
"""


def test_cli_keyword_and_integer_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tagger.py"
    path.write_text(TOKEN_MODEL)
    assert main(["report", str(path), "--format", "json"]) == 0  # the file's INPUT_SHAPE: a dict of tensors
    assert '"flops": 240' in capsys.readouterr().out  # 2 x 5 tokens x 8 x 3
    assert main(["report", str(path), "--input-shape", "ids=2,5:int64;mask=2,5", "--format", "json"]) == 0
    assert '"flops": 240' in capsys.readouterr().out
    for bad in ("ids=2,5:int65", "ids=2,5;2,5", "2,5=ids"):
        assert main(["report", str(path), "--input-shape", bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "--input-shape" in err
