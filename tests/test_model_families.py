"""Models people bring in 2026, from small configs, called as their users call them: mixture-of-experts layers
(grouped matrix products and eager experts with routing), a model that collects outputs with hooks (Segformer),
graph networks (GCN, GAT) and weight-normed layers. FLOPs against FlopCounterMode (math SDPA; a ``_grouped_mm``
formula added to its registry here), parameters exact, one node per layer, the model left as it was."""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any

import pytest
import torch
from torch import nn

import costmodel
from costmodel import ValueDependent
from tests.conftest import torch_flop_counter_macs, torch_flop_counter_macs_by_keyword

T = pytest.importorskip("transformers")


def grouped_mm_flop(a_shape: Any, b_shape: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """FlopCounterMode's missing formula, written here: 2 x rows x columns x K of ``torch._grouped_mm``
    (2D x 2D: K is split into the groups, so the output's group count is not a factor)."""
    k = a_shape[-1]
    if len(a_shape) == 2 and len(b_shape) == 2:
        return 2 * math.prod(out_shape[1:]) * k
    return 2 * math.prod(out_shape) * k


def _reference(model: nn.Module, inputs: dict[str, Any]) -> int:
    return torch_flop_counter_macs_by_keyword(model, inputs, {torch.ops.aten._grouped_mm: grouped_mm_flop})


def _state(model: nn.Module) -> tuple[dict[str, torch.Tensor], list[bool], int]:
    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
    return copy.deepcopy(model.state_dict()), [m.training for m in model.modules()], hooks


def _leaves_with_weights(model: nn.Module) -> set[str]:
    return {path for path, m in model.named_modules() if not m._modules and any(True for _ in m.parameters())}


def _hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def _check(model: nn.Module, inputs: dict[str, Any], spec: Any = None) -> costmodel.Report:
    """The report against FlopCounterMode, parameters, one node per layer with weights, the model left as a real
    call leaves it (a library may install its hooks on the first call, as Hugging Face's capture_outputs does)."""
    before = _state(model)
    copied = copy.deepcopy(model).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error", costmodel.UnsupportedOpWarning)
        rep = costmodel.report(model, spec if spec is not None else inputs)
    reference = _reference(copied, inputs)
    assert abs(rep.flops - reference) <= 0.005 * reference, (rep.flops, reference)
    assert rep.params == sum(p.numel() for p in model.parameters())
    assert rep.unsupported == {}
    layers = {n.module_path for n in rep.nodes if n.op == "call_module"}
    assert _leaves_with_weights(model) - {p for p in _leaves_with_weights(model) if ".parametrizations." in p} <= layers
    after = _state(model)
    assert after[1] == before[1]
    assert after[2] == _hooks(copied)  # as many hooks as a real call leaves
    assert all(torch.equal(before[0][k], v) for k, v in after[0].items())
    return rep


def _ids() -> torch.Tensor:
    return torch.randint(0, 100, (2, 16), generator=torch.Generator().manual_seed(3))


MOE = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
       "vocab_size": 100, "max_position_embeddings": 64}  # fmt: skip


@pytest.mark.parametrize("experts", ["grouped_mm", "eager", "batched_mm"])
def test_mixtral_with_each_experts_implementation(experts: str) -> None:
    torch.manual_seed(0)
    config = T.MixtralConfig(intermediate_size=128, num_local_experts=4, num_experts_per_tok=2, **MOE)
    model = T.MixtralForCausalLM._from_config(config, experts_implementation=experts).eval()
    rep = _check(model, {"input_ids": _ids()})
    experts = [n for n in rep.nodes if ".mlp.experts" in n.module_path]
    # 2 sequences x 16 tokens, each to 2 of 4 experts: gate, up and down projections of 64 x 128, in 2 layers
    assert sum(n.flops for n in experts) == 2 * (2 * 16) * 2 * 3 * 64 * 128
    if experts == "eager":  # routing reads values: the run on values, as documented
        assert rep.on_values
        assert "experts" in rep.on_values
    if experts == "grouped_mm":
        assert any("routed row once" in note for note in rep.notes)


def test_qwen2_moe_with_a_shared_expert() -> None:
    torch.manual_seed(0)
    config = T.Qwen2MoeConfig(
        intermediate_size=128, moe_intermediate_size=32, shared_expert_intermediate_size=64, num_experts=4,
        num_experts_per_tok=2, **MOE,
    )  # fmt: skip
    _check(T.Qwen2MoeForCausalLM(config).eval(), {"input_ids": _ids()})


def test_mixtral_8x7b_sizes_on_meta_match_the_hand_count() -> None:
    """Mixtral-8x7B (hidden 4096, FFN 14336, 32 layers, 32 heads of 128, 8 KV heads, 8 experts, top 2, vocab
    32000) on 1 x 2048 tokens, weights on the meta device, in bf16 and fp32."""
    length, h, ffn, layers, heads, kv, vocab, top = 2048, 4096, 14336, 32, 32, 8, 32000, 2
    head = h // heads
    per_layer = (
        length * h * h  # q
        + 2 * length * h * kv * head  # k, v
        + length * h * h  # o
        + 2 * heads * length * length * head  # Q K^T and P V (math SDPA: the whole square)
        + length * h * 8  # router
        + length * top * 3 * h * ffn  # each token through 2 experts: gate, up, down
    )
    hand = layers * per_layer + length * h * vocab  # + the LM head
    assert hand == 27_208_617_820_160
    for dtype in (torch.bfloat16, torch.float32):
        with torch.device("meta"):
            model = T.MixtralForCausalLM(T.MixtralConfig()).to(dtype).eval()
        rep = costmodel.report(model, {"input_ids": costmodel.TensorSpec((1, length), torch.int64)})
        assert abs(rep.flops - hand) <= 0.01 * hand
        assert rep.unsupported == {}
        assert rep.params == sum(p.numel() for p in model.parameters())
        assert any("whatever the routing" in line for line in rep.table().splitlines()[:12])


def test_segformer_collects_its_hidden_states_with_hooks() -> None:
    torch.manual_seed(0)
    config = T.SegformerConfig(
        num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[16, 32], num_attention_heads=[1, 2],
        decoder_hidden_size=32, num_labels=3, patch_sizes=[7, 3], strides=[4, 2], mlp_ratios=[2, 2],
    )  # fmt: skip
    model = T.SegformerForSemanticSegmentation(config).eval()
    rep = _check(model, {"pixel_values": torch.randn(1, 3, 64, 64)})
    projections = {
        n.module_path for n in rep.nodes if n.op == "call_module" and ".linear_projections." in n.module_path
    }
    assert projections == {"decode_head.linear_projections.0.proj", "decode_head.linear_projections.1.proj"}


def _graph(nodes: int = 50, edges: int = 200) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(4)
    return {"x": torch.randn(nodes, 16, generator=generator),
            "edge_index": torch.randint(0, nodes, (2, edges), generator=generator)}  # fmt: skip


@pytest.mark.parametrize("kind", ["gcn", "gat", "sage"])
def test_graph_networks_on_a_random_graph(kind: str) -> None:
    pyg = pytest.importorskip("torch_geometric.nn")
    build = {
        "gcn": lambda a, b: pyg.GCNConv(a, b),
        "gat": lambda a, b: pyg.GATConv(a, b, heads=2, concat=False),
        "sage": lambda a, b: pyg.SAGEConv(a, b),
    }[kind]

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.first, self.second = build(16, 32), build(32, 8)

        def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
            return self.second(self.first(x, edge_index).relu(), edge_index)

    torch.manual_seed(0)
    rep = _check(Net().eval(), _graph())
    scatter = [op for n in rep.nodes for op in n.ops if op.name.startswith(("scatter", "index_add"))]
    assert scatter
    assert all(op.supported and op.cost.elementwise > 0 for op in scatter)


@pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated:FutureWarning")
@pytest.mark.parametrize("style", ["parametrization", "hook"])
def test_a_weight_normed_conv_is_one_node_with_its_weights(style: str) -> None:
    conv = nn.Conv1d(8, 16, 3)
    normed = nn.utils.parametrizations.weight_norm(conv) if style == "parametrization" else nn.utils.weight_norm(conv)
    model = nn.Sequential(normed, nn.ReLU()).eval()
    x = torch.randn(2, 8, 20)
    rep = costmodel.report(model, (2, 8, 20))
    assert rep.flops == torch_flop_counter_macs(copy.deepcopy(model), x) == 18 * 16 * 8 * 3 * 2
    assert rep.params == sum(p.numel() for p in model.parameters())
    assert rep.unused_parameters == ()
    assert [n.module_path for n in rep.nodes] == ["0", "1"]
    if style == "parametrization":  # w = g v / |v|: 3 element-wise ops per weight element
        ops = rep.nodes[0].ops
        assert [op.name for op in ops] == ["_weight_norm_interface", "convolution"]
        assert ops[0].cost.elementwise == 3 * 16 * 8 * 3


# -- hooks -----------------------------------------------------------------------------------------------


def test_a_library_hook_that_captures_outputs_sees_every_call_once() -> None:
    seen: list[tuple[int, ...]] = []
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).eval()
    handles = [m.register_forward_hook(lambda _m, _i, out: seen.append(tuple(out.shape))) for m in model]
    try:
        costmodel.report(model, (3, 4))
        costmodel.report(model, (3, 4))  # a second report: layers with hooks are never served from the memo
    finally:
        for handle in handles:
            handle.remove()
    assert seen == [(3, 8), (3, 8), (3, 2)] * 2


def test_a_hook_that_changes_the_output_changes_the_cost() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.Linear(16, 2)).eval()
    handle = model[0].register_forward_hook(lambda _m, _i, out: torch.cat([out, out], -1))
    try:
        rep = costmodel.report(model, (3, 4))
    finally:
        handle.remove()
    assert rep.flops == 3 * 4 * 8 + 3 * 16 * 2


class _Checked(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.seen: list[bool] = []
        self.body.register_forward_hook(self._no_nans)

    def _no_nans(self, module: nn.Module, args: Any, out: torch.Tensor) -> None:
        self.seen.append(bool(torch.isfinite(out).all()))  # reads values

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).relu()


def test_a_users_hook_that_reads_values_makes_the_model_run_on_example_values() -> None:
    model = _Checked().eval()
    rep = costmodel.report(model, (2, 4))
    assert rep.on_values
    assert "body" in rep.on_values
    assert model.seen == [True]  # the hook saw real, finite values on the run on example values
    assert rep.flops == 2 * 4 * 4


def test_with_weights_on_meta_a_hook_that_reads_values_is_named() -> None:
    with torch.device("meta"):
        model = _Checked().eval()
    with pytest.raises(ValueDependent, match="body"):
        costmodel.report(model, (2, 4))


# -- never silently low ------------------------------------------------------------------------------------

_LIB = torch.library.Library("costmodel_families", "DEF")
_LIB.define("fused_mm(Tensor a, Tensor b) -> Tensor")
_LIB.impl("fused_mm", lambda a, b: a @ b, "CompositeExplicitAutograd")
_LIB.impl("fused_mm", lambda a, b: a.new_empty(a.shape[0], b.shape[1]), "Meta")


class _Opaque(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(64, 64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.costmodel_families.fused_mm(x, self.weight).relu()


def test_an_unsupported_matrix_op_makes_the_header_say_the_count_is_a_lower_bound() -> None:
    with pytest.warns(costmodel.UnsupportedOpWarning, match="lower bound: fused_mm look like matrix work"):
        rep = costmodel.report(_Opaque(), (8, 64))
    header = rep.table().splitlines()
    assert any(line.startswith("INCOMPLETE: FLOPs is a lower bound: fused_mm") for line in header)
    assert rep.to_dict()["lower_bound"] is True


@pytest.mark.filterwarnings("always::costmodel.errors.UnsupportedOpWarning")
def test_check_refuses_an_incomplete_count_unless_allowed(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from costmodel.cli import main

    path = tmp_path / "opaque.py"
    path.write_text(
        "import torch\nfrom torch import nn\n\n"
        "class Opaque(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.weight = nn.Parameter(torch.randn(64, 64))\n\n"
        "    def forward(self, x):\n"
        "        return torch.ops.costmodel_families.fused_mm(x, self.weight).relu()\n\n"
        "INPUT_SHAPE = (8, 64)\n"
    )
    assert main(["check", str(path), "--max-flops", "1G"]) == 1
    out, err = capsys.readouterr()
    assert "FLOPs is a lower bound: fused_mm look like matrix work" in err
    assert "INCOMPLETE" in out
    assert "fused_mm" in out
    assert "over budget: 1 of 1" in out
    assert main(["check", str(path), "--max-flops", "1G", "--allow-unsupported"]) == 0
