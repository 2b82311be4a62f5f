"""torch.fx in and out, and costs as formulas of the input's sizes.

In: a ``GraphModule`` (``symbolic_trace``, ``make_fx``, ``ep.module()``) is a module like any other; an
``ExportedProgram`` is costed from its graph without running, and gives the eager report's totals and findings.
Out: ``Report.to_fx()`` carries each node's cost on an fx node, with the report's data flow. Symbolic: a report of
named sizes, substituted at random sizes, equals the numeric report at those sizes: exactly for CNNs; for
transformers the FLOPs and parameters exactly and the memory traffic within 10% (see the test).
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import costmodel
from costmodel import TensorSpec
from costmodel.cli import main
from costmodel.errors import UnsupportedInput
from costmodel.zoo import MODELS
from tests.hf_models import CASES

IMAGE = (1, 3, 224, 224)
CNNS = ("shufflenet_v2_x0.5", "shufflenet_v1_g3_x1.0", "mobilenet_v2_x1.0", "resnet18", "squeezenet1_1")


def _totals(rep: costmodel.Report) -> tuple[int, ...]:
    return rep.flops, rep.elementwise, rep.params, rep.mac, rep.mac_bytes


def _findings(rep: costmodel.Report) -> list[tuple[str, str]]:
    return sorted((f.code, f.module) for f in rep.findings)


@cache
def _exported(name: str) -> torch.export.ExportedProgram:
    return torch.export.export(MODELS[name]().eval(), (torch.randn(*IMAGE),))


# -- fx in ------------------------------------------------------------------------------------------------
def test_graph_modules_from_tracing_and_export_cost_as_their_model() -> None:
    model = MODELS["shufflenet_v2_x0.5"]().eval()
    eager = costmodel.report(model, IMAGE)
    traced = costmodel.report(torch.fx.symbolic_trace(model), IMAGE)
    assert _totals(traced) == _totals(eager)
    unlifted = _exported("shufflenet_v2_x0.5").module()  # refuses eval(): the flags are set instead
    assert _totals(costmodel.report(unlifted, IMAGE))[:3] == _totals(eager)[:3]
    flat = torch.fx.experimental.proxy_tensor.make_fx(model)(torch.randn(*IMAGE))
    assert costmodel.report(flat, IMAGE).flops == eager.flops


@pytest.mark.parametrize("name", CNNS)
def test_an_exported_program_gives_the_eager_reports_totals_and_findings(name: str) -> None:
    eager = costmodel.report(MODELS[name](), IMAGE)
    exported = costmodel.report(_exported(name))  # no input: the program has its own, and nothing runs
    assert _totals(exported) == _totals(eager)
    assert exported.input_shapes == eager.input_shapes
    assert _findings(exported) == _findings(eager)
    assert costmodel.lint(_exported(name)) == exported.findings
    layers = {n.module_path for n in exported.nodes if n.op == "call_module"}
    assert {n.module_path for n in eager.nodes if n.op == "call_module" and n.params} <= layers
    assert any(n.location is not None and n.location.file.endswith(".py") for n in exported.nodes)


def test_an_exported_program_at_other_shapes_is_refused_in_one_line() -> None:
    with pytest.raises(UnsupportedInput, match=r"takes \[\[1, 3, 224, 224\]\], got \[\[2, 3, 224, 224\]\]"):
        costmodel.report(_exported("squeezenet1_1"), (2, 3, 224, 224))


@pytest.mark.parametrize(("family", "implementation"), [("bert", "sdpa"), ("distilbert", "sdpa"), ("vit", "sdpa"),
                                                         ("gpt2", "eager"), ("llama", "sdpa")])  # fmt: skip
def test_exported_transformers_count_the_eager_flops_and_parameters(family: str, implementation: str) -> None:
    """FLOPs and parameters exact; MAC within 10%: export traces a mask branch the eager run decides on values
    (it materialises an attention mask the eager walk skips), a different program by a few element-wise ops."""
    build, make_inputs = CASES[family]
    model = build(implementation).eval()
    inputs = make_inputs() if family in ("bert", "distilbert", "vit") else {**make_inputs(), "use_cache": False}
    eager = costmodel.report(model, inputs)
    exported = costmodel.report(torch.export.export(model, (), inputs, strict=False))
    assert (exported.flops, exported.params) == (eager.flops, eager.params)
    assert exported.mac == pytest.approx(eager.mac, rel=0.10)


# -- fx out -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("with_model", [False, True])
def test_to_fx_carries_every_nodes_cost_and_the_reports_data_flow(with_model: bool) -> None:
    model = MODELS["shufflenet_v2_x0.5"]()
    rep = costmodel.report(model, IMAGE)
    graph_module = rep.to_fx(model if with_model else None)
    nodes = [n for n in graph_module.graph.nodes if n.op not in ("placeholder", "output")]
    assert len(nodes) == len(rep.nodes)
    assert [n.meta["cost"] for n in nodes] == list(rep.nodes)
    by_name = {n.name: n for n in graph_module.graph.nodes}
    for node in rep.nodes:
        assert [a.name for a in by_name[node.name].args] == [i for i in node.inputs if i in by_name]
    assert sum(n.meta["cost"].flops for n in nodes) == rep.flops
    if with_model:
        assert graph_module.get_submodule("conv1.0") is model.conv1[0]  # the model's own layer, the model untouched
    assert "conv1" not in dict(nn.Module().named_children())


def test_to_fx_of_a_report_with_a_profile_has_predicted_ms_on_each_node() -> None:
    from tests.device.test_device import known_profile

    rep = costmodel.report(MODELS["squeezenet1_1"](), IMAGE, profile=known_profile())
    nodes = [n for n in rep.to_fx().graph.nodes if "cost" in n.meta]
    assert sum(n.meta["predicted_ms"] for n in nodes) == pytest.approx(rep.predicted_ms)


# -- symbolic sizes ---------------------------------------------------------------------------------------
@cache
def _symbolic(name: str) -> costmodel.Report:
    return costmodel.report(MODELS[name](), ("B", 3, "H", "W"))


@pytest.mark.parametrize("name", ["shufflenet_v2_x0.5", "mobilenet_v2_x1.0", "resnet18", "resnet50"])
@settings(max_examples=5)
@given(batch=st.integers(1, 4), height=st.integers(32, 320), width=st.integers(32, 320))
def test_formulas_at_random_sizes_equal_the_numeric_report(name: str, batch: int, height: int, width: int) -> None:
    symbolic = _symbolic(name)
    assert symbolic.symbols == ("B", "H", "W")
    numeric = costmodel.report(MODELS[name](), (batch, 3, height, width))
    at = symbolic.at(B=batch, H=height, W=width)
    assert _totals(at) == _totals(numeric)
    assert _findings(at) == _findings(numeric)


def test_activation_memory_is_a_formula_too() -> None:
    import sympy

    rep = _symbolic("shufflenet_v2_x0.5")
    memory = rep.activation_memory()
    sizes = {sympy.Symbol(s, integer=True, positive=True): v for s, v in (("B", 2), ("H", 160), ("W", 97))}
    numeric = rep.at(B=2, H=160, W=97).activation_memory()
    assert int(memory.peak_bytes.xreplace(sizes)) == numeric.peak_bytes
    assert int(memory.written_bytes.xreplace(sizes)) == numeric.written_bytes


def test_a_resnet_is_a_formula_in_the_image_size_with_the_papers_conv_count() -> None:
    """The FLOPs of ResNet-18's first conv, written out: 64 filters of 7x7x3 on ceil(H/2) x ceil(W/2) outputs."""
    import sympy

    rep = _symbolic("resnet18")
    batch, height, width = (sympy.Symbol(s, integer=True, positive=True) for s in "BHW")
    stem = next(n for n in rep.nodes if n.module_path == "stem.0.0")
    half = (sympy.floor((height - 1) / 2) + 1) * (sympy.floor((width - 1) / 2) + 1)
    assert sympy.simplify(stem.flops - 64 * 7 * 7 * 3 * batch * half) == 0
    assert rep.params == costmodel.report(MODELS["resnet18"](), IMAGE).params
    assert rep.findings == ()  # the rules compare numbers: at() has them


@pytest.mark.parametrize(("family", "implementation"), [("gpt2", "eager"), ("bert", "sdpa"), ("llama", "sdpa"),
                                                         ("distilbert", "sdpa")])  # fmt: skip
def test_transformers_in_sequence_length_show_the_quadratic_attention_term(family: str, implementation: str) -> None:
    import sympy

    build, _ = CASES[family]
    model = build(implementation).eval()
    extra = {} if family in ("bert", "distilbert") else {"use_cache": False}
    rep = costmodel.report(model, {"input_ids": TensorSpec(("B", "L"), torch.int64), **extra})
    batch, length = (sympy.Symbol(s, integer=True, positive=True) for s in "BL")
    flops = sympy.expand(rep.flops)
    assert sympy.degree(flops, length) == 2  # Q K^T and attention x V
    layers, hidden = model.config.num_hidden_layers, model.config.hidden_size
    assert flops.coeff(length, 2) == 2 * layers * hidden * batch  # two L x L x hidden products per layer
    for size_b, size_l in [(1, 9), (2, 15), (3, 4), (1, 30), (2, 21)]:
        ids = TensorSpec((size_b, size_l), torch.int64)
        numeric_program = torch.export.export(
            model, (), {"input_ids": torch.zeros(ids.shape, dtype=torch.int64), **extra}, strict=False
        )
        at, static = rep.at(B=size_b, L=size_l), costmodel.report(numeric_program)
        assert (at.flops, at.params) == (static.flops, static.params)
        assert at.flops == costmodel.report(model, {"input_ids": ids, **extra}).flops  # and the eager FLOPs
        # a program traced with symbolic sizes copies a few tensors that one traced at fixed sizes knows to be
        # contiguous already (and materialises masks the eager run decides on values): MAC within 10%
        assert at.mac == pytest.approx(static.mac, rel=0.10)


def test_a_model_that_fixes_a_named_size_says_which() -> None:
    with pytest.raises(UnsupportedInput, match=r"fixes a named size \(H\) to a constant"):
        costmodel.report(MODELS["vit_tiny"](), (1, 3, "H", "H"))  # learned positions of a 224-pixel image
    batch_only = costmodel.report(MODELS["vit_tiny"](), ("B", 3, 224, 224))
    assert batch_only.at(B=2).flops == costmodel.report(MODELS["vit_tiny"](), (2, 3, 224, 224)).flops


def test_the_command_line_prints_formulas(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "resnet18", "--input-shape", "B,3,H,W"]) == 0
    out = capsys.readouterr().out
    assert "resnet18 on input [B, 3, H, W]: costs as formulas of B, H, W" in out
    assert "  FLOPs = " in out
    assert "floor(H/2 - 1/2)" in out
    assert main(["report", "resnet18", "--input-shape", "B,3,H,W", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)[0]
    assert data["symbols"] == ["B", "H", "W"]
    assert "B*" in data["totals"]["flops"]


def test_the_numeric_path_imports_neither_sympy_nor_the_symbolic_reader() -> None:
    import subprocess

    code = (
        "import sys, costmodel\nfrom costmodel.zoo import MODELS\n"
        "costmodel.report(MODELS['resnet18'](), (1, 3, 64, 64))\n"
        "print('sympy' in sys.modules, 'costmodel.graph.symbolic' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_a_saved_program_is_a_model_file_of_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "squeeze.pt2"
    torch.export.save(_exported("squeezenet1_1"), path)
    assert main(["report", str(path), "--format", "json"]) == 0
    (data,) = json.loads(capsys.readouterr().out)
    assert data["totals"]["flops"] == costmodel.report(MODELS["squeezenet1_1"](), IMAGE).flops
    (tmp_path / "bad.pt2").write_text("not a program")
    assert main(["report", str(tmp_path / "bad.pt2")]) == 2
    err = capsys.readouterr().err
    assert "bad.pt2: not a torch.export program" in err
    assert err.count("\n") == 1
