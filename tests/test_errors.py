"""Bad input gets one clear line naming what is wrong and where; never a deep torch traceback."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import costmodel
from costmodel import ShapeError, UnsupportedInput, ValueDependent
from costmodel.zoo import shufflenet_v2
from tests.nets import ValueBranch


def test_wrong_channel_count_names_the_layer_expected_and_got() -> None:
    with pytest.raises(ShapeError) as info:
        costmodel.report(shufflenet_v2(), (1, 4, 224, 224))
    message = str(info.value)
    assert "'conv1.0'" in message
    assert "Conv2d(3, 24" in message
    assert "expects [N, 3, *, *]" in message
    assert "got [1, 4, 224, 224]" in message
    assert "\n" not in message
    assert isinstance(info.value, ValueError)  # user errors also subclass the builtin


def test_wrong_feature_count_for_a_linear_layer() -> None:
    with pytest.raises(ShapeError, match=r"expects \[\.\.\., 3\]; got \[2, 5\]"):
        costmodel.report(nn.Linear(3, 4), (2, 5))


def test_missing_dimension_is_reported_on_the_first_layer() -> None:
    with pytest.raises(ShapeError, match=r"'conv1\.0'.*got \[1, 3, 224\]"):
        costmodel.report(shufflenet_v2(), (1, 3, 224))


class _RunAsPython(nn.Module):
    """fx cannot trace ``int()`` of a shape: the whole model runs as Python runs it, split by module call."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fc = nn.Linear(10, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if int(y.shape[1]) > 4:
            y = y.flatten(1)
        return self.fc(y)


def test_a_shape_mismatch_in_a_part_run_as_python_names_the_layer_it_failed_in() -> None:
    with pytest.raises(ShapeError) as info:
        costmodel.report(_RunAsPython(), (1, 3, 16, 16))
    message = str(info.value)
    assert "layer 'fc' (Linear(in_features=10" in message
    assert "expects [..., 10]; got [1, 1568]" in message  # conv 3 -> 8 on 16x16: 8 * 14 * 14 = 1568 features
    assert "\n" not in message


def test_not_a_module() -> None:
    with pytest.raises(UnsupportedInput, match=r"torch\.nn\.Module or a torch\.export\.ExportedProgram, got function"):
        costmodel.report(shufflenet_v2, (1, 3, 224, 224))


def test_empty_model() -> None:
    with pytest.raises(UnsupportedInput, match="empty model"):
        costmodel.report(nn.Sequential(), (1, 3))


@pytest.mark.parametrize("bad", ["abc", (), (1, -3), [(1, 2), "x"], None, 3])
def test_malformed_input_shapes(bad: object) -> None:
    with pytest.raises(UnsupportedInput, match="input"):
        costmodel.report(nn.Linear(3, 4), bad)


def test_input_count_must_match_forward() -> None:
    with pytest.raises(UnsupportedInput, match="takes 1 input"):
        costmodel.report(nn.Linear(3, 4), [(2, 3), (2, 3)])


def test_value_dependent_control_flow_runs_on_example_values_and_says_so() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 1), ValueBranch())
    rep = costmodel.report(model, (1, 3, 8, 8))
    assert rep.on_values is not None
    assert "layer '1' (ValueBranch())" in rep.on_values
    assert "ran on example values" in str(rep)
    x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))  # the values report() generates
    with torch.no_grad():
        taken = int(model[0](x).sum() > 0)  # the branch those values take: x * 2, or nothing
    assert rep.flops == 8 * 3 * 64
    # the conv's bias, the sum the branch tests and its comparison, and the product if taken
    assert rep.elementwise == 8 * 64 + 8 * 64 + 1 + taken * 8 * 64


def test_value_dependent_control_flow_without_weights_names_the_module() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 1), ValueBranch()).to("meta")
    with pytest.raises(ValueDependent, match=r"layer '1' \(ValueBranch\(\)\) depends on tensor values.*meta device"):
        costmodel.report(model, (1, 3, 8, 8))


def test_failed_report_leaves_the_model_in_training_mode() -> None:
    model = shufflenet_v2(0.5).train()
    with pytest.raises(ShapeError):
        costmodel.report(model, (1, 5, 64, 64))
    assert all(m.training for m in model.modules())
    assert next(model.parameters()).device == torch.device("cpu")
