"""The tool as people install and live with it: packaging, the exit-status contract on every path, quiet
pipes, tables that fit the terminal, the new report columns, the budget gate and the report diff."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import costmodel
from costmodel.cli import main
from costmodel.zoo import shufflenet_v2

ROOT = Path(__file__).resolve().parents[1]


# -- packaging ---------------------------------------------------------------------------------------------


def test_the_distribution_has_its_own_name_a_license_and_type_information() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # "costmodel" on the public index is another project; the import name and the command stay costmodel.
    assert project["name"] == "torch-costmodel"
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert (ROOT / "costmodel" / "py.typed").is_file()
    assert any(c.startswith("Typing :: Typed") for c in project["classifiers"])
    readme = (ROOT / "README.md").read_text()
    assert "pip install costmodel" not in readme
    assert "pip install torch-costmodel" in readme


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"costmodel {costmodel.__version__}"


# -- exit status 2 and one line, on every error path -------------------------------------------------------

RAISES_IN_FORWARD = """
import torch
from torch import nn

class Broken(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(x) + {}["missing"]

INPUT_SHAPE = (1, 3, 8, 8)
"""


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--depth", "-1"],
        ["report", "--top", "0"],
        ["report", "--max-rows", "x"],
        ["report", "--sort", "speed"],
        ["report", "no_such_model.py"],
        ["report", "{broken}"],
        ["lint", "--min-saving", "1ms"],
        ["lint", "--bogus"],
        ["check", "shufflenet_v2_x0.5"],
        ["check", "shufflenet_v2_x0.5", "--max-flops", "lots"],
        ["check", "shufflenet_v2_x0.5", "--max-predicted-ms", "5"],
        ["diff", "{missing}", "{missing}"],
        ["diff", "{not_a_report}", "{not_a_report}"],
        ["measure", "--budget", "-1"],
        ["calibrate", "--dtype", "float99"],
        ["calibrate", "--threads", "0"],
        ["explain", "G99"],
        ["prove", "nothing"],
    ],
)
def test_every_error_is_one_line_and_exit_status_2(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no pyproject budget above
    broken = tmp_path / "broken.py"
    broken.write_text(RAISES_IN_FORWARD)
    (tmp_path / "not_a_report.json").write_text('{"hello": 1}')
    paths = {"broken": str(broken), "missing": str(tmp_path / "gone.json"), "not_a_report": "not_a_report.json"}
    assert main([a.format(**paths) for a in args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("costmodel")
    assert "Traceback" not in err


def test_an_input_shape_given_as_an_example_tensor_in_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model_file = tmp_path / "net.py"
    model_file.write_text(
        "import torch\nfrom torch import nn\n\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 8, 3, padding=1)\n\n"
        "    def forward(self, x):\n        return self.conv(x)\n\n"
        "INPUT_SHAPE = torch.randn(1, 3, 8, 8)\n"
    )
    assert main(["report", str(model_file), "--format", "json"]) == 0
    (rep,) = json.loads(capsys.readouterr().out)
    assert rep["input_shapes"] == [[1, 3, 8, 8]]
    assert rep["totals"]["flops"] == 8 * 8 * 8 * 3 * 9  # h*w*c_out*c_in*k*k


@pytest.mark.parametrize("command", [["prove", "--format", "json"], ["report", "shufflenet_v2_x0.5"]])
def test_output_piped_into_a_reader_that_stops_early_ends_quietly(command: list[str]) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "costmodel", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    )
    assert process.stdout is not None
    assert process.stderr is not None
    process.stdout.readline()  # what `| head -1` does: read a line, then close the pipe
    process.stdout.close()
    error = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=120) == 0
    assert "BrokenPipeError" not in error
    assert "Traceback" not in error


# -- tables that fit ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("columns", [60, 80, 100])
def test_text_fits_the_terminal_width(
    columns: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["report", "shufflenet_v2_x0.5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= columns
    assert any(line.startswith("node") and "FLOPs" in line for line in lines)  # the table is still there
    assert main(["lint", "shufflenet_v2_x0.5"]) == 1
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= columns


def test_files_and_pipes_get_full_width(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["report", "shufflenet_v2_x0.5"]) == 0
    header = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("node"))
    assert all(title in header for title in ("module", "op", "kind", "input", "output", "elementwise", "params"))
    assert len(header) > 120


# -- the report's new columns ------------------------------------------------------------------------------


def test_sort_and_top_order_rows_by_the_figure_and_share_is_of_the_total() -> None:
    rep = costmodel.report(shufflenet_v2(0.5), (1, 3, 224, 224))
    lines = rep.table(sort="params", top=3).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("node"))
    rows = [line.split() for line in lines[start + 2 : start + 5]]
    expected = sorted((n for n in rep.nodes if n.ops), key=lambda n: n.params, reverse=True)[:3]
    assert [r[0] for r in rows] == [n.name for n in expected]
    assert rows[0][-1] == f"{expected[0].params / rep.params:.1%}"
    assert lines[start].split()[-2:] == ["%", "params"]


def test_module_rows_carry_their_input_and_output_shapes() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    rows = {m.path: m for m in costmodel.report(model, (2, 3, 8, 8)).by_module(1)}
    assert rows["0"].input_shapes == ((2, 3, 8, 8),)
    assert rows["0"].output_shapes == ((2, 8, 4, 4),)
    assert rows["3"].input_shapes == ((2, 128),)
    assert rows["3"].output_shapes == ((2, 10),)
    assert rows[""].input_shapes == ((2, 3, 8, 8),)
    assert rows[""].output_shapes == ((2, 10),)


def test_trainable_and_frozen_parameters() -> None:
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    model[0].requires_grad_(False)
    rep = costmodel.report(model, (1, 16))
    assert rep.frozen_params == 16 * 32 + 32
    assert rep.trainable_params == 32 * 4 + 4
    assert model[0].weight.requires_grad is False
    assert model[2].weight.requires_grad is True


class ReluChain(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inplace = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(x)  # new memory
        y = self.inplace(y)  # in place: none
        z = y.view(-1)  # a view: none
        return torch.relu(z)  # new memory, while y is still alive


def test_activation_memory_counts_live_tensors_views_and_in_place_ops() -> None:
    megabyte = 256 * 1024 * 4  # one [1, 256, 1024] float32 tensor
    memory = costmodel.report(ReluChain(), (1, 256, 1024)).activation_memory()
    assert memory.written_bytes == 2 * megabyte  # two fresh outputs
    assert memory.peak_bytes == 3 * megabyte  # the input, y and the last relu at once


# -- lint output a person can read -------------------------------------------------------------------------


def test_repeated_findings_group_by_block_type_and_all_instances_lists_them(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["lint", "resnet18", "--select", "G4"]) == 1
    grouped = capsys.readouterr().out.splitlines()
    assert main(["lint", "resnet18", "--select", "G4", "--all-instances"]) == 1
    every = capsys.readouterr().out.splitlines()
    blocks = [line for line in every if "(BasicBlock)" in line]
    (group,) = [line for line in grouped if "(BasicBlock)" in line]
    assert f"and {len(blocks) - 1} more BasicBlock like it" in group
    assert len(grouped) < len(every)


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.a(x) + self.b(y)


class Fork(TwoInputs):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.a(x) + self.b(x)


def test_g3_counts_branches_of_a_fork_not_separate_model_inputs() -> None:
    shapes = [(1, 3, 8, 8), (1, 3, 8, 8)]
    assert not costmodel.lint(TwoInputs(), shapes, select=["G3"])
    (finding,) = costmodel.lint(Fork(), shapes, select=["G3"])
    assert finding.data["branches"] == 2


class Relu6Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(self.conv(F.relu6(x)))


def test_g4_names_ops_as_the_user_wrote_them() -> None:
    (finding,) = costmodel.lint(Relu6Net(), (1, 8, 16, 16), select=["G4"], options={"G4.max_share": 0.1})
    assert "relu6 x2" in finding.message
    assert "hardtanh" not in finding.message


# -- budget gate and diff ----------------------------------------------------------------------------------


def test_check_exits_1_over_budget_and_0_within(capsys: pytest.CaptureFixture[str]) -> None:
    # ShuffleNet V2 0.5x: 41 M multiply-adds in the paper's Table 5, 1,366,792 parameters (torchvision).
    assert main(["check", "shufflenet_v2_x0.5", "--max-flops", "42M", "--max-params", "1.4M"]) == 0
    assert "within budget" in capsys.readouterr().out
    assert main(["check", "shufflenet_v2_x0.5", "--max-flops", "42M", "--max-params", "1.3M"]) == 1
    out = capsys.readouterr().out
    assert "OVER shufflenet_v2_x0.5: parameters 1.37M (limit 1.30M)" in out


def test_check_reads_the_budget_from_pyproject(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.costmodel.budget]\nmax_flops = "1K"\nmax_params = 1000000\n')
    model_file = tmp_path / "net.py"
    model_file.write_text(
        "from torch import nn\n\ndef net():\n    return nn.Sequential(nn.Linear(16, 32))\n\nINPUT_SHAPE = (1, 16)\n"
    )
    assert main(["check", str(model_file)]) == 0
    out = capsys.readouterr().out
    assert "ok   net: FLOPs (multiply-adds) 512 (limit 1.00K)" in out  # 16 * 32 multiply-adds
    assert "ok   net: parameters 544 (limit 1.00M)" in out  # 16 * 32 + 32
    assert main(["check", str(model_file), "--max-flops", "500"]) == 1  # the flag wins over the file
    assert "OVER net: FLOPs (multiply-adds) 512 (limit 500)" in capsys.readouterr().out


def _report_json(tmp_path: Path, name: str, width: int, findings: list[dict[str, object]]) -> Path:
    model = nn.Sequential(nn.Conv2d(3, width, 3, padding=1))
    data = costmodel.report(model, (1, 3, 8, 8), name="net").to_dict()
    data["findings"] = findings
    path = tmp_path / name
    path.write_text(json.dumps([data]))
    return path


def test_diff_shows_module_changes_and_new_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    g4 = {"code": "G4", "module": "", "message": "element-wise heavy", "name": "elementwise-heavy"}
    old = _report_json(tmp_path, "old.json", 8, [])
    new = _report_json(tmp_path, "new.json", 16, [g4])
    assert main(["diff", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    # conv 3 -> c on 8x8, 3x3: 8*8*c*3*9 multiply-adds; params c*3*9 + c
    assert "13.82K -> 27.65K (+100.0%)" in out
    assert "224 -> 448 (+100.0%)" in out
    assert "new finding G4 [<model>] element-wise heavy" in out
    assert main(["diff", str(old), str(new), "--fail-on-increase"]) == 1
    assert main(["diff", str(new), str(old), "--fail-on-increase"]) == 0
    assert "gone: G4 [<model>]" in capsys.readouterr().out
