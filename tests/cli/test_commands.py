"""The command line: in-process through ``main(argv)`` and as a subprocess; exit codes and messages."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from costmodel.cli import main

GOOD = """
import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)

class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        return self.conv(x).relu()

def build_wide() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 16, 1))

def helper(x=1):
    return x + 1
"""


def _write(tmp_path: Path, text: str, name: str = "model.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_report_of_the_default_zoo_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--depth", "1"]) == 0
    out = capsys.readouterr().out
    assert "shufflenet_v2_x1.0 on input [1, 3, 224, 224]" in out
    assert "144.91M" in out


def test_report_of_every_model_in_a_file_as_one_json_array(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, GOOD)
    assert main(["report", path, "--format", "json"]) == 0
    documents = json.loads(capsys.readouterr().out)
    assert [d["model"] for d in documents] == ["Tiny", "build_wide"]
    assert documents[1]["totals"]["flops"] == 16 * 32 * 32 * 3


def test_report_json_is_parseable_per_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, GOOD)
    assert main(["report", path, "--model", "Tiny", "--format", "json"]) == 0
    (data,) = json.loads(capsys.readouterr().out)
    assert data["model"] == "Tiny"
    assert data["input_shapes"] == [[1, 3, 32, 32]]  # from the file's INPUT_SHAPE
    assert data["totals"]["flops"] == 8 * 32 * 32 * 3 * 9


def test_file_models_are_classes_and_factories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, GOOD)
    assert main(["report", path, "--input-shape", "2,3,8,8", "--max-rows", "2"]) == 0
    out = capsys.readouterr().out
    assert "Tiny on input [2, 3, 8, 8]" in out
    assert "build_wide on input [2, 3, 8, 8]" in out
    assert "helper" not in out


INSTANCES = """
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 8)

    def forward(self, x):
        return self.fc(x)

model = Net()  # offered under its class's name
baseline = nn.Sequential(nn.Linear(4, 2))  # an instance of a library class
"""


def test_file_models_include_module_level_instances(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, INSTANCES)
    assert main(["report", path, "--input-shape", "3,4", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {entry["model"]: entry["totals"]["flops"] for entry in data} == {"Net": 3 * 4 * 8, "Sequential": 3 * 4 * 2}


def test_instances_of_one_class_go_by_their_variable_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "from torch import nn\nsmall = nn.Linear(4, 2)\nlarge = nn.Linear(4, 8)\n")
    assert main(["report", path, "--input-shape", "3,4", "--format", "json"]) == 0
    assert [entry["model"] for entry in json.loads(capsys.readouterr().out)] == ["small", "large"]


HELPER_BLOCK = """
from torch import nn

class Block(nn.Module):
    def __init__(self, c=16):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(x).relu()

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.block = Block()

    def forward(self, x):
        return self.block(self.stem(x))
"""


def test_a_helper_block_beside_the_model_is_part_of_it_not_a_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, HELPER_BLOCK)
    assert main(["report", path, "--input-shape", "1,3,8,8", "--format", "json"]) == 0
    (data,) = json.loads(capsys.readouterr().out)
    assert data["model"] == "Net"
    assert data["totals"]["flops"] == 16 * 8 * 8 * 3 * 9 + 16 * 8 * 8 * 16 * 9  # stem, then the block's conv
    assert main(["report", path, "--model", "Block", "--input-shape", "1,16,8,8", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["model"] == "Block"  # still reachable by name


def test_a_file_that_builds_its_model_is_costed_on_that_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, HELPER_BLOCK + "\nmodel = Net()\n")
    assert main(["report", path, "--input-shape", "1,3,8,8", "--format", "json"]) == 0
    assert [entry["model"] for entry in json.loads(capsys.readouterr().out)] == ["Net"]


def test_a_class_needing_arguments_is_named_with_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        "from torch import nn\nclass Net(nn.Module):\n"
        "    def __init__(self, width, num_classes):\n        super().__init__()\n"
    )
    assert main(["report", _write(tmp_path, text)]) == 2
    err = capsys.readouterr().err
    assert "no model found: Net needs arguments (width, num_classes)" in err
    assert err.count("\n") == 1


def test_an_error_names_the_model_it_came_from(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", _write(tmp_path, GOOD), "--input-shape", "1,4,32,32"]) == 2
    assert "error: model 'Tiny': layer 'conv'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        (None, [], "no such file"),
        ("def broken(:\n    pass\n", [], ":1:12: syntax error"),
        ("import not_a_module_anywhere\n", [], ":1: importing the file failed: ModuleNotFoundError"),
        ("x = 1\n", [], "no model found"),
        (
            "from torch import nn\n"
            "class Needs(nn.Module):\n"
            "    def __init__(self, width):\n"
            "        super().__init__()\n",
            ["--model", "Needs"],
            "needs arguments (width)",
        ),
        (GOOD, ["--model", "Nope"], "no model named 'Nope' (found: Tiny, build_wide, helper)"),
        (GOOD, ["--model", "Tiny", "--input-shape", "1,4,32,32"], "layer 'conv'"),
        (GOOD, ["--input-shape", "1,3.5,3"], "--input-shape: '1,3.5,3' is not"),
        (GOOD, ["--input-shape", "1,0,3"], "must list positive ints"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | None, args: list[str], message: str
) -> None:
    path = _write(tmp_path, text) if text is not None else str(tmp_path / "missing.py")
    assert main(["report", path, *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert main(["report", "--format", "xml"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_traceback_flag_shows_the_cause(tmp_path: Path) -> None:
    path = _write(tmp_path, "x = 1\n")
    with pytest.raises(Exception, match="no model found"):
        main(["report", path, "--traceback"])


def test_python_dash_m_runs_as_a_subprocess(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    done = subprocess.run(
        [sys.executable, "-m", "costmodel", "report", path, "--model", "Tiny", "--format", "csv", "--depth", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("module_path,type,depth,flops")
    failed = subprocess.run(
        [sys.executable, "-m", "costmodel", "report", str(tmp_path / "none.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode == 2
    assert failed.stderr.strip() == f"costmodel report: error: {tmp_path / 'none.py'}: no such file"


LINTED = """
from torch import nn

INPUT_SHAPE = (1, 64, 28, 28)

class Grouped(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(64, 64, 1, groups=8, bias=False)

    def forward(self, x):
        return self.conv(x)

class Clean(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(64, 64, 1, bias=False)

    def forward(self, x):
        return self.conv(x)
"""


def test_lint_prints_path_line_col_code_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, LINTED)
    assert main(["lint", path]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(f"{path}:9:9: G2 grouped conv 'conv' (64->64, 1x1, g=8)") or line.startswith(
        f"{Path(path).name}:9:9: G2"
    )


def test_lint_clean_model_exits_0_and_exit_zero_hides_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, LINTED)
    assert main(["lint", path, "--model", "Clean"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["lint", path, "--exit-zero"]) == 0
    assert main(["lint", path, "--ignore", "G2"]) == 0
    assert main(["lint", path, "--option", "G2.min_increase=10"]) == 0


def test_lint_json_and_sarif(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, LINTED)
    assert main(["lint", path, "--format", "json"]) == 1
    (finding,) = json.loads(capsys.readouterr().out)
    assert (finding["code"], finding["line"], finding["data"]["groups"]) == ("G2", 9, 8)
    assert main(["lint", path, "--format", "sarif"]) == 1
    sarif = json.loads(capsys.readouterr().out)
    run = sarif["runs"][0]
    assert sarif["version"] == "2.1.0"
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["G1", "G2", "G3", "G4"]
    assert run["results"][0]["ruleId"] == "G2"
    assert run["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 9


def test_lint_reads_pyproject_next_to_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, LINTED)
    (tmp_path / "pyproject.toml").write_text('[tool.costmodel]\nignore = ["G2"]\n')
    assert main(["lint", path]) == 0


def test_lint_bad_option_and_bad_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, LINTED)
    assert main(["lint", path, "--option", "G2.nope=1"]) == 2
    assert "unknown rule option 'G2.nope'" in capsys.readouterr().err
    assert main(["lint", path, "--option", "G2"]) == 2
    assert main(["lint", str(tmp_path / "missing.py")]) == 2


def test_rules_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == ["G1", "G2", "G3", "G4"]
    assert main(["rules", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[1]["name"] == "excessive-group-conv"
    assert main(["explain", "G2"]) == 0
    assert "## Why is this bad?" in capsys.readouterr().out
    assert main(["explain", "network-fragmentation"]) == 0
    assert main(["explain", "G9"]) == 2


def test_lint_as_a_subprocess_on_a_zoo_model() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "costmodel", "lint", "shufflenet_v1_g3_x1.0", "--select", "G2", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert {f["code"] for f in json.loads(done.stdout)} == {"G2"}


VALUE_DEPENDENT = """
from torch import nn

class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8, device="meta")  # no weights to run on values either

    def forward(self, x):
        if x.sum() > 0:
            return self.fc(x)
        return x
"""


def test_a_model_that_cannot_be_traced_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, VALUE_DEPENDENT)
    for command in ("report", "lint"):
        assert main([command, path, "--input-shape", "1,3,8,8"]) == 2
        err = capsys.readouterr().err
        assert "depends on tensor values" in err
        assert err.count("\n") == 1


def test_lint_pylint_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, LINTED)
    assert main(["lint", path, "--format", "pylint", "--statistics"]) == 1
    captured = capsys.readouterr()
    assert ":9: [G2(excessive-group-conv), conv] grouped conv 'conv'" in captured.out
    assert captured.err.split() == ["1", "G2", "excessive-group-conv"]


def test_every_command_spells_plain_output_text_and_keeps_the_old_spellings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["report", "shufflenet_v2_x0.5", "--depth", "0", "--format", "text"]) == 0
    text = capsys.readouterr().out
    assert main(["report", "shufflenet_v2_x0.5", "--depth", "0", "--format", "table"]) == 0
    assert capsys.readouterr().out == text
    assert main(["rules", "--format", "text"]) == 0
    assert main(["rules", "--format", "xml"]) == 2
    assert "choose from text, json" in capsys.readouterr().err
