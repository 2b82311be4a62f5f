"""Torch calls on values met again (``graph.value_nodes``): they run with the recorder off and take the calls
recorded the first time, and the report is the cold walk's; where their outputs follow values, they are recorded
each time.

Checked against a walk with the memos forgotten first, against the shapes torch itself gives, and against
closed forms written out here.
"""

from __future__ import annotations

import torch
from torch import nn

import costmodel
from costmodel.graph.value_nodes import VALUE_NODES, replayable
from costmodel.types import OpCall, TensorSpec

_aten = torch.ops.aten


class EdgeIndexArithmetic(nn.Module):
    """What a graph network does to its edge list before it aggregates: self-loops dropped and added, rows
    and columns selected, a degree counted by scatter, all on the real edge list; then a layer on meta."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(6, 4)

    def forward(self, x: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        keep = edges[0] != edges[1]
        loops = torch.arange(x.shape[0]).view(1, -1).repeat(2, 1)
        edges = torch.cat([edges[:, keep], loops], dim=1)  # a boolean mask's index: its shape follows values
        row, col = edges[0], edges[1]
        degree = torch.zeros(x.shape[0], dtype=torch.long).scatter_add_(0, col, torch.ones_like(col))
        messages = self.lin(x)[row] * degree[col].unsqueeze(-1)
        return torch.zeros_like(self.lin(x)).index_add_(0, col, messages)


def _rows(report: costmodel.Report) -> list[tuple[object, ...]]:
    return [(n.name, n.target, n.input_shapes, n.output_shapes, n.cost, n.output_bytes) for n in report.nodes]


def _value_store() -> costmodel.CacheInfo:
    return next(info for info in costmodel.cache_info() if info.name == "graph.value_nodes")


def test_torch_calls_on_values_met_again_give_the_cold_walks_report() -> None:
    model = EdgeIndexArithmetic()
    edges = torch.tensor([[0, 1, 2, 3, 3, 4, 1], [1, 1, 3, 0, 3, 2, 4]])  # two self-loops among 7 edges
    inputs = {"x": torch.randn(5, 6), "edges": edges}
    costmodel.clear_caches()
    cold = costmodel.report(model, inputs)
    before = _value_store()
    warm = costmodel.report(model, inputs)
    after = _value_store()
    assert _rows(cold) == _rows(warm)
    assert after.hits - before.hits >= 5  # the comparisons, selections, repeat and cat came from the memo
    # 7 edges, 2 of them self-loops, plus 5 added: 10 messages of 4 features gathered, scaled and added on 5 nodes
    index_add = next(n for n in warm.nodes if n.target == ".index_add_")
    assert index_add.input_shapes[-1] == (10, 4)
    assert warm.params == 6 * 4 + 4


def test_a_boolean_masks_index_is_recorded_each_time_its_values_change() -> None:
    model = EdgeIndexArithmetic()
    x = torch.randn(5, 6)
    costmodel.clear_caches()
    no_loops = costmodel.report(model, {"x": x, "edges": torch.tensor([[0, 1, 2], [1, 2, 3]])})
    all_loops = costmodel.report(model, {"x": x, "edges": torch.tensor([[0, 1, 2], [0, 1, 2]])})
    # the same signature, other values: 3 + 5 edges and then 0 + 5 after the self-loops are dropped and added
    assert next(n for n in no_loops.nodes if n.target == ".index_add_").input_shapes[-1] == (8, 4)
    assert next(n for n in all_loops.nodes if n.target == ".index_add_").input_shapes[-1] == (5, 4)


class Chunks(nn.Module):
    """``tensor_split`` at a tensor of positions: C++ reads the positions without dispatching an op, so its
    outputs' shapes follow values although none of its ops says so."""

    def forward(self, ids: torch.Tensor, cuts: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(part * 2 for part in torch.tensor_split(ids, cuts))


def test_a_call_whose_outputs_turn_out_to_follow_values_is_recorded_anew_and_never_served_again() -> None:
    model, ids = Chunks(), torch.arange(10)
    costmodel.clear_caches()
    first = costmodel.report(model, {"ids": ids, "cuts": torch.tensor([2, 5])})
    moved = costmodel.report(model, {"ids": ids, "cuts": torch.tensor([4, 5])})  # served, and found different
    again = costmodel.report(model, {"ids": ids, "cuts": torch.tensor([2, 5])})
    expected = {(2, 5): ((2,), (3,), (5,)), (4, 5): ((4,), (1,), (5,))}  # what torch.tensor_split gives
    for report, cuts in ((first, (2, 5)), (moved, (4, 5)), (again, (2, 5))):
        # the split makes views only: they join the products that read them, one node per part
        assert [n.output_shapes[0] for n in report.nodes if n.target == "mul"] == list(expected[cuts])
        assert [n.cost.mac for n in report.nodes] == [2 * s[0] for s in expected[cuts]]  # each part read, written
        assert report.flops == 0  # index arithmetic: no multiply-adds
        slices = [op.call.outputs[0].shape for op in report.nodes[0].ops if op.call.target == _aten.slice.Tensor]
        assert slices == list(expected[cuts])  # the split's own calls, recorded for these positions


def test_only_calls_of_tensors_with_shapes_that_follow_metadata_are_replayable() -> None:
    spec = TensorSpec((4,), torch.int64)
    assert replayable([OpCall(_aten.select.int, (spec, 0, 1), (TensorSpec((), torch.int64),))])
    assert not replayable([])
    assert not replayable([OpCall(_aten.index.Tensor, (spec, [spec]), (spec,))])  # dynamic_output_shape
    assert not replayable([OpCall(_aten._local_scalar_dense.default, (spec,), ())])  # a value read
    assert not replayable([OpCall(_aten.is_nonzero.default, (spec,), ())])  # returns no tensor
    assert not replayable([OpCall(nn.Linear, (spec,), (spec,))])  # a module formula's call


def test_the_memo_of_calls_on_values_is_forgotten_with_the_others() -> None:
    model = EdgeIndexArithmetic()
    costmodel.report(model, {"x": torch.randn(5, 6), "edges": torch.tensor([[0, 1], [1, 0]])})
    assert _value_store().size > 0
    costmodel.clear_caches()
    assert _value_store().size == 0
    assert VALUE_NODES.get(("any", "key")) is None


class MaskToActivations(nn.Module):
    """A padding mask moved to the activations' device (meta, in the walk) and then read: the walk runs the move on
    the CPU instead, so that the mask keeps its values; met again, it must not run as asked."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(6, 6)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        mask = mask.to(device=x.device)
        y = self.lin(x)
        return y if bool(mask.all()) else y * mask.unsqueeze(-1)


def test_a_call_the_walk_moved_to_the_cpu_is_not_served_as_asked() -> None:
    model = MaskToActivations()
    inputs = {"x": torch.randn(2, 4, 6), "mask": torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])}
    costmodel.clear_caches()
    first, second = costmodel.report(model, inputs), costmodel.report(model, inputs)
    assert (first.on_values, second.on_values) == (None, None)  # the mask read as values, the weights on meta
    assert _rows(first) == _rows(second)
    assert second.flops == 2 * 4 * 6 * 6  # the layer's multiply-adds
    assert [n.target for n in second.nodes][-1] == "mul"  # the mask is not all ones: the branch that multiplies
