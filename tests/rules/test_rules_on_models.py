"""The rules on small models: repeated findings grouped by block type, G3's branches of a fork, G4's op names
as the user wrote them."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import costmodel
from costmodel.cli import main


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
