"""The CI gates: the budget check (flags and pyproject) and the report diff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from torch import nn

import costmodel
from costmodel.cli import main


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
