"""The row memo: a row run again on arguments of the same signature is rebuilt, never wrongly.

The reference for each report is the same walk with the row memo switched off (every row runs), and closed
forms written out here; what must differ between two layers (an attribute, a tensor attribute's value, an integer
buffer, the default dtype) is checked to differ.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import costmodel
from costmodel.graph import node_memo
from tests.conftest import torch_flop_counter_macs


def _every_row_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_memo.NODES, "get", lambda key: None)


def _rows(report: costmodel.Report) -> list[tuple[object, ...]]:
    return [
        (n.name, n.target, n.inputs, n.input_shapes, n.output_shapes, n.output_bytes, n.cost, [op.call for op in n.ops])
        for n in report.nodes
    ]


class Block(nn.Module):
    """Views of an argument, a view of a weight, an in-place add on a view, a copy and a layer: each kind of
    result the memo rebuilds."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.norm = nn.LayerNorm(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(x)
        t = y.transpose(0, 1)  # a view of an argument
        t.add_(1.0)  # in place on that view
        w = self.fc.weight.t()  # a view of a weight
        z = torch.matmul(t.transpose(0, 1), w)
        parts = z.chunk(2, dim=-1)  # views, a tuple of them
        return self.norm(torch.cat([parts[1], parts[0]], dim=-1).contiguous())


class Stack(nn.Module):
    def __init__(self, depth: int = 4) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*(Block() for _ in range(depth)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


def test_repeated_blocks_get_the_report_of_a_walk_that_runs_every_row(monkeypatch: pytest.MonkeyPatch) -> None:
    model = Stack()
    costmodel.clear_caches()
    first = costmodel.report(model, (3, 8))  # blocks 2-4 meet block 1's rows in the memo
    second = costmodel.report(model, (3, 8))  # every row from the memo
    with monkeypatch.context() as patch:
        _every_row_runs(patch)
        reference = costmodel.report(model, (3, 8))
    assert _rows(first) == _rows(reference) == _rows(second)
    # per block: linear 3x8x8, matmul 3x8x8, layer norm's affine part is element-wise (not multiply-adds)
    assert second.flops == 4 * (3 * 8 * 8 + 3 * 8 * 8) == torch_flop_counter_macs(model, torch.randn(3, 8))


def test_a_view_from_the_memo_is_a_view_of_the_argument() -> None:
    model = Stack(2)
    costmodel.report(model, (3, 8))
    report = costmodel.report(model, (3, 8))  # every row from the memo
    adds = [n for n in report.nodes if n.target == ".add_"]
    assert [[op.name for op in n.ops] for n in adds] == [["transpose", "add_"]] * 2  # the view joins its user
    assert [n.output_bytes for n in adds] == [0, 0]  # in place on a view of the linear's output: no new memory
    products = [n for n in report.nodes if n.target == "matmul"]
    assert [n.inputs for n in products] == [("add_",), ("add__1",)]  # the views are read as made by their rows
    assert [n.output_bytes for n in products] == [3 * 8 * 4] * 2


def _as_a_librarys(monkeypatch: pytest.MonkeyPatch, cls: type) -> None:
    """Treat a class of this file as an installed library's, whose layers' rows are memoised."""
    monkeypatch.setitem(node_memo._ORIGINS.entries, cls, "library")


class Scaled(nn.Module):
    """A user's layer whose ops depend on a plain attribute."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(x) if self.mode == "gelu" else torch.exp(x)


class Switched(nn.Module):
    """A user's layer that tells ``True`` from ``1`` (equal in Python, and as dict keys)."""

    def __init__(self, switch: object) -> None:
        super().__init__()
        self.switch = switch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x) if self.switch is True else torch.neg(x)


class Flagged(nn.Module):
    """A user's layer whose ops depend on a tensor attribute's value."""

    def __init__(self, flag: bool) -> None:
        super().__init__()
        self.flag = torch.tensor(flag)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x) if self.flag else torch.neg(x)


class Counted(nn.Module):
    """A user's layer whose ops depend on an integer buffer's value."""

    def __init__(self, steps: int) -> None:
        super().__init__()
        self.register_buffer("steps", torch.tensor(steps))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(int(self.steps)):
            x = torch.sigmoid(x)
        return x


@pytest.mark.parametrize(
    ("first", "second", "ops"),
    [
        (Scaled("gelu"), Scaled("exp"), (["gelu"], ["exp"])),
        (Switched(True), Switched(1), (["exp"], ["neg"])),
        (Flagged(True), Flagged(False), (["exp"], ["neg"])),
        (Counted(1), Counted(3), (["sigmoid"], ["sigmoid"] * 3)),
    ],
    ids=["attribute", "True and 1", "tensor attribute", "integer buffer"],
)
def test_layers_that_differ_in_state_are_never_one_signature(
    first: nn.Module, second: nn.Module, ops: tuple[list[str], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _as_a_librarys(monkeypatch, type(first))  # a user's own layers are never memoised at all
    model = nn.Sequential(first, second)
    for _ in range(2):  # the second report from a warm memo
        report = costmodel.report(model, (2, 5))
        computed = [[op.name for op in n.ops if op.name != "_local_scalar_dense"] for n in report.nodes]
        assert computed == list(ops)  # (reading a flag or count is an op too: ``_local_scalar_dense``)


FAST = True


class Global(nn.Module):
    """A user's layer that reads a global flag: its attributes do not show what it does."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x) if FAST else torch.neg(x)


def test_a_users_own_layer_runs_every_time() -> None:
    global FAST
    model = nn.Sequential(Global())
    ops = []
    for flag in (True, False):
        FAST = flag
        ops.append([op.name for n in costmodel.report(model, (2, 5)).nodes for op in n.ops])
    FAST = True
    assert ops == [["exp"], ["neg"]]


class Toggle(nn.Module):
    """A layer that changes its own state when called: a row of it is never kept."""

    def __init__(self) -> None:
        super().__init__()
        self.on = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.on = not self.on
        return torch.exp(x) if self.on else torch.neg(x)


def test_a_layer_that_changes_its_own_state_runs_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    _as_a_librarys(monkeypatch, Toggle)
    shared = Toggle()
    model = nn.Sequential(shared, shared)  # called twice a run: exp, then neg
    for _ in range(2):
        report = costmodel.report(model, (2, 5))
        assert [[op.name for op in n.ops] for n in report.nodes] == [["exp"], ["neg"]]


class Unsqueezed(nn.Module):
    """In-place ops that change a tensor's shape: a row that does so is never replayed."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = x.clone()
        a.unsqueeze_(0)
        b = x.clone()
        b.unsqueeze_(0)
        return torch.cat([a, b])


def test_an_in_place_change_of_shape_is_run_every_time() -> None:
    for _ in range(2):
        report = costmodel.report(Unsqueezed(), (4, 8))
        assert report.nodes[-1].output_shapes == ((2, 4, 8),)


class Factory(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.zeros(8)


def test_the_default_dtype_is_part_of_a_rows_signature() -> None:
    model = Factory()
    single = costmodel.report(model, (2, 8))
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        double = costmodel.report(model, (2, 8))
    finally:
        torch.set_default_dtype(previous)
    made = {n.target: n for n in single.nodes}, {n.target: n for n in double.nodes}
    assert made[0]["zeros"].output_bytes == 8 * 4
    assert made[1]["zeros"].output_bytes == 8 * 8


class Repeated(nn.Module):
    """One torch call on a meta tensor and the user's real counts, which it reads: its output's shape is theirs."""

    def forward(self, x: torch.Tensor, repeats: torch.Tensor) -> torch.Tensor:
        return torch.repeat_interleave(x, repeats, dim=0)


@pytest.mark.filterwarnings("ignore::costmodel.UnsupportedOpWarning")  # repeat_interleave: listed, MAC estimated
def test_a_row_that_reads_values_is_run_every_time() -> None:
    model = Repeated()
    rows = []
    for count in (1, 2, 1):
        report = costmodel.report(model, {"x": (3, 4), "repeats": torch.full((3,), count)})
        rows.append(report.nodes[-1].output_shapes)
    assert rows == [((3, 4),), ((6, 4),), ((3, 4),)]


@pytest.mark.parametrize("name", ["gpt2", "t5", "llama"])
def test_a_transformer_gets_the_report_of_a_walk_that_runs_every_row(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    transformers_cases = pytest.importorskip("tests.test_transformers").CASES
    build, inputs = transformers_cases[name]
    model = build("sdpa").eval()
    costmodel.clear_caches()
    cold = costmodel.report(model, inputs())  # later layers meet the first one's rows in the memo
    warm = costmodel.report(model, inputs())
    with monkeypatch.context() as patch:
        _every_row_runs(patch)
        reference = costmodel.report(model, inputs())
    assert _rows(cold) == _rows(reference) == _rows(warm)
