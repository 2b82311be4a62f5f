"""The command line as people live with it: the version, the exit-status contract on every error path (one line,
status 2), quiet pipes, and tables that fit the terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import costmodel
from costmodel.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"costmodel {costmodel.__version__}"


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


@pytest.mark.parametrize("columns", [60, 80, 100])
def test_text_fits_the_terminal_width(
    columns: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["report", "shufflenet_v2_x0.5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= columns
    assert any(line.startswith("module") and "FLOPs" in line for line in lines)  # the table is still there
    assert main(["lint", "shufflenet_v2_x0.5"]) == 1
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= columns


def test_files_and_pipes_get_full_width(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["report", "shufflenet_v2_x0.5", "--nodes"]) == 0
    header = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("node"))
    assert all(title in header for title in ("module", "op", "kind", "input", "output", "elementwise", "params"))
    assert len(header) > 120


def test_the_default_report_is_modules_to_depth_3_with_no_cell_over_40_characters(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["report", "shufflenet_v2_x0.5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("module"))
    rows = [line for line in lines[start + 2 :] if line.startswith(" ") or line.startswith("<model>")]
    paths = [row.split()[0] for row in rows]
    assert paths[0] == "<model>"
    assert max(path.count(".") for path in paths) == 2  # depth 3: stages.0.branch1
    assert len(lines) < 100  # torchinfo-like: not one row per op call
    assert all(len(cell) <= 40 for row in rows for cell in row.split("  ") if cell)


def test_sorting_by_time_without_a_time_column_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "shufflenet_v2_x0.5", "--sort", "time"]) == 2
    err = capsys.readouterr().err
    assert "--sort time needs a time column: give --profile PROFILE.json" in err
    assert err.count("\n") == 1


def test_ranked_module_rows_do_not_nest_so_their_shares_add_up(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "shufflenet_v2_x0.5", "--depth", "2", "--sort", "mac", "--top", "40"]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("module"))
    rows = [line.split() for line in lines[start + 2 :] if line and line[0] != "G" and "%" in line]
    paths = [row[0] for row in rows]
    assert not any(p != q and q.startswith(p + ".") for p in paths for q in paths)  # no module and its part
    assert "<model>" not in paths
    shares = [float(row[-1].rstrip("%")) for row in rows]
    assert shares == sorted(shares, reverse=True)
    assert 99.0 <= sum(shares) <= 100.05  # the stem, the stages and the head: every node once


@pytest.mark.parametrize("command", [["--version"], ["rules"], ["rules", "--format", "json"], ["explain", "G2"]])
def test_commands_that_need_no_model_do_not_import_torch(command: list[str]) -> None:
    code = (
        f"import sys\nfrom costmodel.cli import main\nmain({command!r})\nprint('torch' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stderr.strip() == "False"
    assert done.stdout.strip()
