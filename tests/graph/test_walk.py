"""The eager walk: which calls are rows, views joining the call after them, nothing dropped, torch left as it was.

Expected values are closed forms written out here.
"""

from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

import costmodel
from tests.device.test_measure import QUICK


class Attention(nn.Module):
    """Single-head attention written out: views and transposes between the products."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.qkv = nn.Linear(width, 3 * width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, s, e = x.shape
        q, k, v = self.qkv(x).view(n, s, 3, e).unbind(2)
        scores = torch.matmul(q, k.transpose(1, 2))
        return torch.matmul(scores.softmax(-1), v)


def test_views_join_the_torch_call_after_them() -> None:
    n, s, e = 2, 5, 8
    rep = costmodel.report(Attention(e), (n, s, e))
    assert [(node.target, [op.name for op in node.ops]) for node in rep.nodes] == [
        ("Linear", ["t", "view", "mm", "_unsafe_view"]),
        # .view, .unbind and .transpose make views only: they join the product after them
        ("matmul", ["view", "unbind", "transpose", "expand", "view", "expand", "view", "bmm", "_unsafe_view"]),
        (".softmax", ["_softmax"]),
        ("matmul", ["expand", "view", "expand", "view", "bmm", "_unsafe_view"]),
    ]
    projection, scores, softmax, out = rep.nodes
    assert scores.inputs == (projection.name,)  # what the joined views read
    assert out.inputs == (softmax.name, scores.name)  # v: made by the unbind that joined the first product's row
    assert rep.flops == n * s * e * 3 * e + 2 * n * s * s * e


class TorchOpsWithFunctionsOff(nn.Module):
    """ATen ops run where no torch function is seen: they must still be costed, never dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch._C.DisableTorchFunction():
            y = x * 2
        return self.fc(y)


def test_ops_outside_every_torch_call_are_rows_of_their_container() -> None:
    rep = costmodel.report(TorchOpsWithFunctionsOff(), (3, 4))
    assert [node.target for node in rep.nodes] == ["mul", "Linear"]
    assert rep.elementwise == 3 * 4 + 3 * 4  # the product, then the bias
    assert rep.flops == 3 * 4 * 4


def test_module_call_is_restored_after_a_report_and_after_a_failed_one() -> None:
    """The walk replaces ``__call__`` on the model's own classes only, and takes it away again."""
    original = nn.Module.__call__
    costmodel.report(nn.Sequential(nn.Linear(3, 4)), (2, 3))
    with pytest.raises(costmodel.ShapeError):
        costmodel.report(nn.Sequential(nn.Linear(3, 4)), (2, 5))
    assert nn.Module.__call__ is original
    assert "__call__" not in vars(nn.Linear)
    assert "__call__" not in vars(nn.Sequential)
    assert nn.Linear.__call__ is original


def test_another_thread_runs_its_modules_as_usual_during_a_walk() -> None:
    """A module called on another thread while a walk is under way keeps its hooks and computes for real."""
    calls: list[str] = []
    other = nn.Linear(2, 2)
    other.register_forward_hook(lambda *_: calls.append("hook"))
    results: list[torch.Tensor] = []

    class Waits(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            worker = threading.Thread(target=lambda: results.append(other(torch.ones(1, 2))))
            worker.start()
            worker.join()
            return self.fc(x)

    rep = costmodel.report(Waits(), (1, 2))
    assert calls == ["hook"]
    assert results[0].device.type == "cpu"  # real values, not the walk's meta tensors
    assert [node.target for node in rep.nodes] == ["Linear"]


def test_a_users_own_torch_function_mode_stays_in_force() -> None:
    with torch.device("meta"):  # a TorchFunctionMode of torch's own
        model = nn.Sequential(nn.Linear(8, 8), nn.ReLU())
        rep = costmodel.report(model, (2, 8))
    assert rep.flops == 2 * 8 * 8
    assert rep.params == 8 * 8 + 8


def test_measure_times_every_row_and_a_merged_row_once_per_pass() -> None:
    result = costmodel.measure(Attention(8), (2, 5, 8), **QUICK)
    assert set(result.node_times) == {node.name for node in result.report.nodes}
    assert result.stable or all("other branches" not in problem for problem in result.problems)


def test_a_view_left_at_its_containers_end_keeps_its_own_line() -> None:
    from pathlib import Path

    from costmodel.zoo._layers import ChannelShuffle

    rep = costmodel.report(ChannelShuffle(2), (1, 8, 4, 4))
    last = rep.nodes[-1]
    assert last.target == ".view"  # nothing came after it in the shuffle: a row of its own
    assert last.location is not None
    line = Path(last.location.file).read_text().splitlines()[last.location.line - 1]
    assert "return x.view(n, c, h, w)" in line
