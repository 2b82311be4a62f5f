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


class MixedActivations(nn.Module):
    """Seven element-wise ops under six spellings: F.relu x2, F.relu6 x2, nn.ReLU, an add, x.relu_()."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 1)
        self.bn = nn.BatchNorm2d(8)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(F.relu(self.bn(self.conv(F.relu6(F.relu(x))))))
        return (self.act(y) + x).relu_()


def test_g4_counts_add_up_and_name_one_spelling_per_op() -> None:
    (finding,) = costmodel.lint(MixedActivations(), (1, 8, 16, 16), select=["G4"], options={"G4.max_share": 0.1})
    message = finding.message
    assert "in 7 element-wise ops (relu x4, relu6 x2, add x1)" in message  # F.relu, nn.ReLU and .relu_ are one
    assert finding.data["elementwise_ops"] == 7


def test_g4_says_what_batch_norm_adds_when_it_is_left_out() -> None:
    model = MixedActivations()
    (left_out,) = costmodel.lint(model, (1, 8, 16, 16), select=["G4"], options={"G4.max_share": 0.1})
    (counted,) = costmodel.lint(
        model, (1, 8, 16, 16), select=["G4"], options={"G4.max_share": 0.1, "G4.count_batchnorm": 1}
    )
    elements = 8 * 16 * 16
    batch_norm = 2 * elements + 2 * 8  # reads the map and its scale and shift, writes the map (eval, folded affine)
    assert counted.data["mac"] - left_out.data["mac"] >= batch_norm - 2 * 8
    assert f"{counted.data['mac'] / 1e3:.2f}K elements with it" in left_out.message
    assert "with it" not in counted.message


class AttentionBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.qkv, self.out = nn.Linear(32, 96), nn.Linear(32, 32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        attention = (q @ k.transpose(-2, -1) * 32**-0.5).softmax(-1)
        return x + self.out(F.gelu(attention @ v))


def test_g4_advice_fits_the_architecture() -> None:
    (transformer,) = costmodel.lint(AttentionBlock(), (1, 64, 32), select=["G4"], options={"G4.max_share": 0.1})
    assert "fuse them into the matrix products and attention" in transformer.message
    assert "conv" not in transformer.message
    (cnn,) = costmodel.lint(Relu6Net(), (1, 8, 16, 16), select=["G4"], options={"G4.max_share": 0.1})
    assert "fuse them into the convs" in cnn.message
    assert "ResNet ran about 20% faster" in cnn.message  # why a plain residual block is flagged at all


def test_g4_advice_follows_the_kind_that_does_most_of_the_work() -> None:
    from costmodel.zoo import MODELS

    rep = costmodel.report(MODELS["vit_tiny"](), (1, 3, 224, 224))
    model_level = next(f for f in rep.findings if f.code == "G4" and f.module == "")
    assert "fuse them into the matrix products and attention" in model_level.message  # its patch conv is 2%
