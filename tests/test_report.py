"""``costmodel.report``: totals, roll-ups, views, fallbacks, user formulas, and the model left alone."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

import costmodel
from costmodel import OpKind
from costmodel.ops import io_cost
from costmodel.types import Cost, NodeCost, OpCall
from costmodel.zoo import shufflenet_v2
from tests.conftest import torch_flop_counter_macs
from tests.nets import ShapeBranch, SharedWeights, TwoInputs, UntraceableRoot, small_cnn

IMAGE = (1, 3, 224, 224)


@pytest.fixture(scope="module")
def v2_report() -> costmodel.Report:
    return costmodel.report(shufflenet_v2(1.0), IMAGE)


def test_totals_are_the_sum_of_the_nodes(v2_report: costmodel.Report) -> None:
    assert v2_report.flops == sum(n.flops for n in v2_report.nodes)
    assert v2_report.mac == sum(n.mac for n in v2_report.nodes)
    assert v2_report.params == sum(n.params for n in v2_report.nodes)
    assert v2_report.mac_bytes == 4 * v2_report.mac  # float32 throughout


def test_every_node_knows_its_module_and_source_line(v2_report: costmodel.Report) -> None:
    conv = next(n for n in v2_report.nodes if n.module_path == "stages.0.branch2.0.0")
    assert (conv.target, conv.kind, conv.module_type) == ("Conv2d", OpKind.CONV, "Conv2d")
    assert conv.input_shapes == ((1, 24, 56, 56),)
    assert conv.output_shapes == ((1, 58, 56, 56),)
    assert conv.location is not None
    assert conv.location.file.endswith("shufflenet_v2.py")
    cat = next(n for n in v2_report.nodes if n.target == "cat")
    assert cat.module_path == "stages.0"
    assert cat.module_type == "ShuffleV2Unit"
    assert "torch.cat" in Path(cat.location.file).read_text().splitlines()[cat.location.line - 1]


def test_by_module_rolls_up_to_the_totals(v2_report: costmodel.Report) -> None:
    rows = v2_report.by_module(depth=1)
    assert rows[0].path == ""
    assert rows[0].cost == v2_report.total
    assert rows[0].params == v2_report.params
    top = [r for r in rows if r.depth == 1]
    assert [r.path for r in top] == ["conv1", "maxpool", "stages", "conv5", "fc"]
    assert sum(r.flops for r in top) == v2_report.flops
    assert {r.type for r in top} == {"Sequential", "MaxPool2d", "Linear"}
    units = [r for r in v2_report.by_module(depth=2) if r.path.startswith("stages.")]
    assert len(units) == 16
    assert all(r.type == "ShuffleV2Unit" for r in units)


def test_by_kind_splits_the_papers_categories(v2_report: costmodel.Report) -> None:
    kinds = v2_report.by_kind()
    assert kinds[OpKind.CONV].flops + kinds[OpKind.MATMUL].flops == v2_report.flops
    assert kinds[OpKind.DATA].mac > 0  # concat and shuffle copies
    assert kinds[OpKind.VIEW].mac == 0
    assert sum(kinds.values(), Cost()) == v2_report.total


def test_views_render_and_round_trip(v2_report: costmodel.Report) -> None:
    text = str(v2_report)
    assert "multiply-adds" in text
    assert "stages.0.branch2.0.0" in text
    assert "144.91M" in text
    rows = [line.split() for line in v2_report.table(depth=1).splitlines()]
    assert any(row[:2] == ["stages", "Sequential"] for row in rows)
    assert not any(row and row[0] == "stages.0" for row in rows)  # depth 1 stops above the units
    data = json.loads(v2_report.to_json())
    assert data["totals"]["flops"] == v2_report.flops
    assert len(data["nodes"]) == len(v2_report.nodes)
    frame = v2_report.to_dataframe()
    assert int(frame["flops"].sum()) == v2_report.flops
    assert list(v2_report.to_dataframe(depth=1)["module_path"])[:2] == ["", "conv1"]
    assert "<table" in v2_report._repr_html_()
    assert repr(v2_report).startswith("Report(model='ShuffleNetV2'")


def test_rich_console_renders_a_table(v2_report: costmodel.Report) -> None:
    from rich.console import Console

    console = Console(record=True, width=250)
    console.print(v2_report)
    assert "stages.15.branch2.2.0" in console.export_text()


def test_with_column_adds_a_per_node_value_without_touching_the_original(v2_report: costmodel.Report) -> None:
    timed = v2_report.with_column("time_ms", {"conv1_0": 1.5})
    assert timed.nodes[0].extras == {"time_ms": 1.5}
    assert v2_report.nodes[0].extras == {}
    assert "time_ms" in timed.table(max_rows=3)
    # the fast copy equals dataclasses.replace field by field, and a second column keeps the first
    both = timed.with_column("other", {"conv1_0": 2.0})
    assert both.nodes[0] == dataclasses.replace(v2_report.nodes[0], extras={"time_ms": 1.5, "other": 2.0})
    assert timed.nodes[0].extras == {"time_ms": 1.5}


def test_shared_parameters_count_once() -> None:
    model = SharedWeights()
    rep = costmodel.report(model, (2, 16))
    assert rep.params == 16 * 16 + 16 + 16 == sum(p.numel() for p in model.parameters())
    assert rep.flops == 2 * (2 * 16 * 16)  # the linear layer runs twice


def test_several_inputs_and_example_tensors() -> None:
    rep = costmodel.report(TwoInputs(), [(2, 3, 5, 5), (2, 6)])
    assert rep.flops == 2 * 4 * 25 * 3 + 2 * 6 * 4
    same = costmodel.report(TwoInputs(), [torch.zeros(2, 3, 5, 5), torch.zeros(2, 6)])
    assert same.total == rep.total
    assert rep.input_shapes == ((2, 3, 5, 5), (2, 6))


def test_half_precision_models_count_two_bytes_per_element() -> None:
    rep = costmodel.report(small_cnn().half(), (1, 3, 8, 8))
    assert rep.mac_bytes == 2 * rep.mac


def test_a_branch_on_a_shape_takes_the_branch_the_shapes_take() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 1), ShapeBranch(), nn.Flatten(), nn.Linear(8 * 8 * 8, 10))
    rep = costmodel.report(model, (1, 3, 8, 8))
    (branch,) = [n for n in rep.nodes if n.module_path.startswith("1.")]
    assert (branch.module_path, branch.op, branch.target) == ("1.large", "call_module", "Conv2d")
    assert branch.params == 8 * 8 * 9 + 8
    assert rep.unused_parameters == ("1.small.weight", "1.small.bias")  # the branch not taken, listed
    assert rep.flops == torch_flop_counter_macs(model, torch.zeros(1, 3, 8, 8))


def test_a_model_branching_on_its_batch_is_costed_per_row_with_correct_totals() -> None:
    model = UntraceableRoot()
    for batch, rows in ((2, ["conv"]), (1, ["conv", "add"])):
        rep = costmodel.report(model, (batch, 3, 8, 8))
        assert [n.name for n in rep.nodes] == rows
        assert rep.flops == torch_flop_counter_macs(model, torch.zeros(batch, 3, 8, 8))
        assert rep.params == 3 * 8 + 8


def test_model_on_the_meta_device_is_analysed_like_a_real_one() -> None:
    with torch.device("meta"):
        meta_model = shufflenet_v2(0.5)
    real = costmodel.report(shufflenet_v2(0.5), IMAGE)
    meta = costmodel.report(meta_model, IMAGE)
    assert (meta.flops, meta.params, meta.mac) == (real.flops, real.params, real.mac)


def test_the_model_is_left_as_it_was() -> None:
    model = small_cnn()
    model.train()
    model[1].eval()  # a mixed set of training flags
    calls: list[str] = []
    handle = model[0].register_forward_hook(lambda *_: calls.append("hook"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [m.training for m in model.modules()]
    costmodel.report(model, (2, 3, 8, 8))
    assert [m.training for m in model.modules()] == flags
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # BN stats too
    assert calls == ["hook"]  # hooks run once, as PyTorch runs them (on the walk's meta tensors)
    assert len(model[0]._forward_hooks) == 1
    handle.remove()
    assert all(p.device.type == "cpu" and p.requires_grad for p in model.parameters())


def test_batch_norm_is_costed_at_inference_even_for_a_training_model() -> None:
    model = nn.BatchNorm2d(4).train()
    assert costmodel.report(model, (2, 4, 3, 3)).elementwise == 2 * 4 * 9  # scale and shift only


CUSTOM_LIB = torch.library.Library("costmodel_test", "DEF")
CUSTOM_LIB.define("scale(Tensor x) -> Tensor")
CUSTOM_LIB.impl("scale", lambda x: x * 3, "CompositeExplicitAutograd")
CUSTOM_LIB.impl("scale", lambda x: torch.empty_like(x), "Meta")


class UsesCustomOp(nn.Module):
    """Calls an op costmodel has no formula for."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.costmodel_test.scale(x).relu()


def test_an_op_without_a_formula_is_listed_counted_and_warned_never_silent() -> None:
    with pytest.warns(costmodel.UnsupportedOpWarning, match=r"costmodel_test\.scale\.default \(1x\)"):
        rep = costmodel.report(UsesCustomOp(), (4, 5))
    assert rep.unsupported == {"costmodel_test.scale.default": 1}
    (node,) = [n for n in rep.nodes if n.unsupported]
    assert node.kind == OpKind.UNSUPPORTED
    assert node.mac == 40
    assert "UNSUPPORTED" in str(rep)


def test_users_register_formulas_for_their_ops() -> None:
    packet = torch.ops.costmodel_test.scale

    @costmodel.register_cost(packet, kind=OpKind.ELEMENTWISE)
    def scale(call: OpCall) -> Cost:
        return io_cost(call, elementwise=call.outputs[0].numel)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            rep = costmodel.report(UsesCustomOp(), (4, 5))
        assert not rep.unsupported
        assert rep.elementwise == 2 * 20
        with pytest.raises(costmodel.errors.DuplicateRegistration, match="registered already"):
            costmodel.register_cost(packet)(scale)
    finally:
        costmodel.unregister_cost(packet)


def test_users_register_formulas_for_whole_modules() -> None:
    class Fused(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.relu() + 1

    @costmodel.register_cost(Fused)
    def fused(call: OpCall) -> Cost:
        (x,) = call.args
        return Cost(flops=7 * x.numel, mac=2 * x.numel)

    try:
        rep = costmodel.report(nn.Sequential(nn.Linear(3, 3, bias=False), Fused()), (2, 3))
        node = rep.nodes[-1]
        assert (node.kind, node.target, node.flops, node.mac) == (OpKind.CUSTOM, "Fused", 42, 12)
    finally:
        costmodel.unregister_cost(Fused)


def test_registry_rejects_keys_of_the_wrong_kind() -> None:
    with pytest.raises(TypeError, match="packet"):
        costmodel.register_cost(torch.ops.aten.mm.default)
    with pytest.raises(TypeError, match="expected"):
        costmodel.register_cost("mm")


class Compare(nn.Module):
    """Comparisons are pointwise but return bool; their outputs must keep that dtype."""

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.where(x > y, x, y)


def test_comparison_outputs_are_bool_and_counted_as_one_byte() -> None:
    rep = costmodel.report(Compare(), [(2, 3), (2, 3)])
    gt = next(op for node in rep.nodes for op in node.ops if op.name == "gt")
    assert gt.call.outputs[0].dtype == torch.bool
    assert gt.cost.mac_bytes == 2 * 6 * 4 + 6 * 1  # two float inputs read, one bool output written


def test_records_are_frozen_in_fact_and_findings_are_hashable(v2_report: costmodel.Report) -> None:
    with pytest.raises(TypeError):
        v2_report.unsupported["x"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        v2_report.module_types["x"] = "y"  # type: ignore[index]
    with pytest.raises(TypeError):
        v2_report.findings[0].data["ratio"] = 0  # type: ignore[index]
    assert len(set(v2_report.findings)) == len(v2_report.findings)  # hashable values, all distinct
    assert v2_report.nodes[0].extras == {}  # read-only mappings still compare equal to dicts


def test_the_walks_fast_node_constructor_makes_the_same_record_as_the_dataclass() -> None:
    """``NodeCost.made`` sets slots directly, by keyword: it must agree with the frozen dataclass's own ``__init__``."""
    fields = {
        "name": "conv",
        "op": "call_module",
        "target": "Conv2d",
        "module_path": "features.0",
        "module_type": "Conv2d",
        "kind": OpKind.CONV,
        "input_shapes": ((1, 3, 8, 8),),
        "output_shapes": ((1, 4, 8, 8),),
        "cost": Cost(flops=6912, mac=2000),
        "params": 108,
        "ops": (),
        "location": None,
        "inputs": ("x",),
        "definition": None,
        "output_bytes": 1024,
        "frozen_params": 8,
    }
    assert NodeCost.made(**fields) == NodeCost(**fields)
