"""The memoised walk: meta kernel results and prices kept per op signature give the same report as a cold walk.

Each claim is checked against a walk with the memos forgotten first, against closed forms written out
here, or against torch's FlopCounterMode.
"""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

import costmodel
from costmodel import OpKind, register_cost, unregister_cost
from costmodel.graph.memo import signature
from costmodel.ops import io_cost
from costmodel.zoo import shufflenet_v2
from tests.conftest import torch_flop_counter_macs

_aten = torch.ops.aten


class Mixed(nn.Module):
    """Views, in-place updates, a channels-last conv and scalar arithmetic: what a memo could get wrong."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        y = self.act(self.conv(x.contiguous(memory_format=torch.channels_last)))
        y.add_(1.0)  # in place: its output is y itself, never a fresh tensor
        z = y.transpose(1, 2).reshape(y.shape[0], -1)  # a view, then a copy (transposed memory)
        return z * 2, z * 2.0, y.sum(dim=(2, 3))


def _same(first: costmodel.Report, second: costmodel.Report) -> None:
    assert [n.name for n in first.nodes] == [n.name for n in second.nodes]
    for a, b in zip(first.nodes, second.nodes, strict=True):
        assert (a.cost, a.output_shapes, a.output_bytes, a.kind) == (b.cost, b.output_shapes, b.output_bytes, b.kind)
        assert [op.call for op in a.ops] == [op.call for op in b.ops]


def test_a_warm_walk_gives_the_cold_walks_report() -> None:
    model = Mixed()
    costmodel.clear_caches()
    cold = costmodel.report(model, (2, 4, 8, 8))
    warm = costmodel.report(model, (2, 4, 8, 8))
    _same(cold, warm)
    # conv 4 -> 8, 3x3, on 8x8, batch 2: 2 * 8 * 8 * 8 * 4 * 9 multiply-adds
    assert warm.flops == 2 * 8 * 8 * 8 * 4 * 9 == torch_flop_counter_macs(model, torch.randn(2, 4, 8, 8))


def test_a_warm_walk_of_a_zoo_model_gives_the_cold_walks_report() -> None:
    model = shufflenet_v2(0.5)
    costmodel.clear_caches()
    cold = costmodel.report(model, (1, 3, 64, 64))
    _same(cold, costmodel.report(model, (1, 3, 64, 64)))


def test_in_place_results_stay_the_tensor_they_update() -> None:
    """The in-place add writes into the ReLU's output: no fresh memory, on a cold walk and a warm one alike."""
    for _ in range(2):
        rep = costmodel.report(Mixed(), (2, 4, 8, 8))
        in_place = next(n for n in rep.nodes if n.target == ".add_")
        assert in_place.output_bytes == 0


def test_int_and_float_scalars_are_different_signatures() -> None:
    x = torch.zeros(2, 3, dtype=torch.int64, device="meta")
    keys = {signature(_aten.mul.Tensor, (x, v), {}) for v in (2, 2.0, True)}
    assert len(keys) == 3  # 2 == 2.0 == True in Python, yet an int tensor times each has its own dtype

    class Scaled(nn.Module):
        def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return ids * 2, ids * 2.0

    for _ in range(2):  # the second walk is served by the memo
        rep = costmodel.report(Scaled(), costmodel.TensorSpec((2, 3), torch.int64))
        by_dtype = [n.ops[0].call.outputs[0].dtype for n in rep.nodes if n.ops]
        assert by_dtype == [torch.int64, torch.float32]


def test_a_formula_registered_after_a_walk_prices_the_next_one() -> None:
    """Prices are memoised until a formula is registered: a new registration is seen at once."""

    class Cumulative(nn.Module):  # an op no built-in formula covers (registering over a built-in would lose it)
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.logcumsumexp(x, dim=1)

    shape = (2, 5)
    with pytest.warns(costmodel.UnsupportedOpWarning, match="logcumsumexp"):
        before = costmodel.report(Cumulative(), shape)
    assert before.nodes[0].kind is OpKind.UNSUPPORTED
    try:

        @register_cost(_aten.logcumsumexp, kind=OpKind.REDUCTION)
        def logcumsumexp(call):  # an exp, an add and a log per element
            return io_cost(call, elementwise=3 * call.outputs[0].numel)

        after = costmodel.report(Cumulative(), shape)
        assert after.nodes[0].kind is OpKind.REDUCTION
        assert after.elementwise == 3 * 2 * 5
    finally:
        unregister_cost(_aten.logcumsumexp)


class ShapeDependent(nn.Module):
    """Control flow on a shape, and an in-place ReLU over a tensor an earlier row read."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Conv2d(4, 4, 1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.a(x)
        if int(y.shape[1]) > 2:  # Python control flow on a shape: the walk takes the branch the shapes take
            z = self.b(y)  # reads y ...
            self.act(y)  # ... which is then updated in place
            return y + z
        return y


def test_rows_read_the_rows_that_made_their_inputs_at_the_time() -> None:
    rep = costmodel.report(ShapeDependent(), (1, 3, 8, 8))
    rows = {n.name: n for n in rep.nodes}
    order = list(rows)
    for node in rep.nodes:  # every row reads rows before it (or the model's input), never a later one
        for source in node.inputs:
            assert source not in rows or order.index(source) < order.index(node.name)
    conv_b = next(n for n in rep.nodes if n.module_path == "b")
    assert [rows[s].module_path for s in conv_b.inputs if s in rows] == ["a"]
    # 1x1 convs on 8x8: 3 -> 4 and 4 -> 4
    assert rep.flops == 8 * 8 * 4 * 3 + 8 * 8 * 4 * 4


class ValueBranch(nn.Module):
    """A branch on a tensor's values: meta tensors cannot take it."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(x)
        return y * 2 if bool((y > 100).any()) else y


def test_a_model_that_needed_values_gets_the_same_report_when_called_again() -> None:
    model = ValueBranch()
    costmodel.clear_caches()
    first = costmodel.report(model, (2, 4))
    again = costmodel.report(model, (2, 4))  # straight to the run on values this time
    assert first.on_values
    assert again.on_values == first.on_values
    _same(first, again)
    assert costmodel.report(model, (3, 4)).on_values  # another call: found out afresh


def test_the_default_dtype_is_part_of_a_signature() -> None:
    """A factory without a dtype follows torch's default dtype: a memo must not serve the other one's result."""

    class Ramp(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + torch.arange(x.shape[-1], dtype=None, device=x.device) * 0.5

    costmodel.report(Ramp(), (2, 4))  # float32 default, memoised
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        rep = costmodel.report(Ramp().double(), costmodel.TensorSpec((2, 4), torch.float64))
    finally:
        torch.set_default_dtype(before)
    made = [op.call.outputs[0].dtype for node in rep.nodes for op in node.ops if op.call.name == "mul"]
    assert made == [torch.float64]  # arange(4) * 0.5 is a float64 tensor under a float64 default


def test_the_rules_views_of_nodes_that_share_an_ops_tuple_keep_each_nodes_own_traffic() -> None:
    from costmodel.rules.g4_elementwise import elementwise_traffic
    from costmodel.types import Cost, NodeCost

    def node(name: str, mac: int) -> NodeCost:  # no ops: the one empty tuple, shared by every such node
        return NodeCost(name, "call_module", "Custom", name, "Custom", OpKind.NONE, (), (), Cost(mac=mac), 0, ())

    assert elementwise_traffic([node("a", 10), node("b", 32)])[1] == 10 + 32
    assert elementwise_traffic([node("c", 5)])[1] == 5


def _meta(shape: tuple[int, ...], dtype: torch.dtype = torch.float32, transposed: bool = False) -> torch.Tensor:
    if transposed:  # the same shape in column-major memory
        return torch.empty(shape[::-1], dtype=dtype, device="meta").t() if len(shape) == 2 else None
    return torch.empty(shape, dtype=dtype, device="meta")


def _channels_last(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    return torch.empty(shape, dtype=dtype, device="meta").contiguous(memory_format=torch.channels_last)


def _layout(value: object) -> object:
    if isinstance(value, torch.Tensor):
        return (tuple(value.shape), value.stride(), value.dtype)
    return tuple(_layout(v) for v in value)  # type: ignore[attr-defined]


def _real(value: object) -> object:
    """A meta argument as a real CPU tensor of the same layout (zeros), other arguments as they are."""
    if isinstance(value, torch.Tensor):
        return torch.empty_strided(value.shape, value.stride(), dtype=value.dtype).zero_()
    return value


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_outputs_made_without_meta_kernels_are_what_the_cpu_kernels_make(dtype: torch.dtype) -> None:
    from costmodel.graph.shape_only import shape_only

    a, b = _meta((4, 3), dtype), _meta((3, 6), dtype)
    ln = torch.empty(8, 5, 2, dtype=dtype, device="meta").permute(2, 1, 0)  # [2, 5, 8], not contiguous
    cases = [
        (_aten.mm.default, (a, b), {}),
        (_aten.mm.default, (_meta((4, 3), dtype, True), _meta((3, 6), dtype, True)), {}),
        (_aten.bmm.default, (_meta((2, 4, 3), dtype), _meta((2, 5, 3), dtype).transpose(1, 2)), {}),
        *[
            (_aten.addmm.default, (_meta(bias, dtype), a, b), kwargs)
            for bias in ((6,), (1, 6), (4, 1), (4, 6), (1,))
            for kwargs in ({}, {"beta": 0.5, "alpha": 2.0})
        ],
        (_aten.native_layer_norm.default, (_meta((2, 5, 8), dtype), [8], _meta((8,), dtype), None, 1e-5), {}),
        (_aten.native_layer_norm.default, (ln, [5, 8], None, None, 1e-5), {}),
        (_aten._native_batch_norm_legit_no_training.default,
         (_meta((2, 4, 3, 3), dtype), _meta((4,), dtype), None, _meta((4,), dtype), _meta((4,), dtype), 0.1, 1e-5), {}),
        (_aten.add.Tensor, (_meta((2, 3), dtype), _meta((2, 3), dtype)), {}),
        (_aten.mul.Tensor, (_meta((2, 3), dtype, True), _meta((2, 3), dtype, True)), {}),
        (_aten.relu.default, (_meta((2, 3), dtype),), {}),
        (_aten.gelu.default, (_meta((2, 3), dtype),), {}),
        (_aten.hardtanh.default, (_meta((2, 3), dtype), 0.0, 6.0), {}),
        (_aten.clamp.default, (_meta((2, 3), dtype), 0.0, 1.0), {}),
        (_aten.add_.Tensor, (_meta((2, 3), dtype), _meta((2, 3), dtype)), {}),
        (_aten.relu.default, (_channels_last((2, 4, 3, 3), dtype),), {}),
        (_aten.mul.Scalar, (_meta((2, 4, 3), dtype).permute(2, 0, 1), 0.125), {}),  # a permuted view, a scalar
        # attention's queries and keys cut from one projection (a slice of a permuted tensor), batch 1 and 2
        (_aten.mul.Scalar, (_meta((1, 7, 3, 2, 4), dtype).permute(2, 0, 3, 1, 4)[0], 0.5), {}),
        (_aten.mul.Scalar, (_meta((2, 7, 3, 2, 4), dtype).permute(2, 0, 3, 1, 4)[1].transpose(-2, -1), 0.5), {}),
        (_aten.relu.default, (_meta((4, 10), dtype)[:, :6],), {}),  # a slice
        (_aten._softmax.default, (_meta((2, 3, 4), dtype), -1, False), {}),
        (_aten._safe_softmax.default, (_meta((2, 3, 4), dtype).transpose(0, 1), -1), {}),
        (_aten.relu.default, (_meta((2, 5, 5, 8), dtype).permute(0, 3, 1, 2)[:, :4],), {}),
        (_aten.add.Tensor, (_meta((4, 6), dtype).t(), _meta((4, 6), dtype).t()), {}),
        (_aten.add.Tensor, (_channels_last((2, 4, 3, 3), dtype), _channels_last((2, 4, 3, 3), dtype)), {}),
        (_aten._native_batch_norm_legit_no_training.default,
         (_channels_last((2, 4, 3, 3), dtype), _meta((4,), dtype), None, _meta((4,), dtype), _meta((4,), dtype), 0.1,
          1e-5), {}),
        # a graph network's aggregation by edge: 7 edges' messages onto 5 nodes, and an index narrower than src
        (_aten.scatter_add_.default, (_meta((5, 3), dtype), 0, _meta((7, 3), torch.int64), _meta((7, 3), dtype)), {}),
        (_aten.scatter_add_.default, (_meta((5, 3), dtype), -2, _meta((4, 2), torch.int64), _meta((7, 3), dtype)), {}),
        (_aten.scatter_reduce_.two,
         (_meta((5, 3), dtype), 0, _meta((7, 3), torch.int64), _meta((7, 3), dtype), "amax"), {"include_self": False}),
        # broadcasting: a position bias over the batch, a norm's statistics, a weight vector, a rotary table,
        # an inverse frequency, a 0-dim factor, an attention mask filled from a boolean one, in place
        (_aten.add.Tensor, (_meta((2, 4, 16, 16), dtype), _meta((1, 4, 16, 16), dtype)), {}),
        (_aten.add.Tensor, (_meta((2, 4, 16, 16), dtype), _meta((2, 1, 16, 16), dtype)), {}),
        (_aten.mul.Tensor, (_meta((2, 16, 32), dtype), _meta((2, 16, 1), dtype)), {}),
        (_aten.mul.Tensor, (_meta((32,), dtype), _meta((2, 8, 32), dtype)), {}),
        (_aten.mul.Tensor, (_meta((2, 4, 16, 8), dtype), _meta((1, 1, 16, 8), dtype)), {}),
        (_aten.mul.Tensor, (_meta((1, 16, 1), dtype), _meta((4,), dtype)), {}),
        (_aten.mul.Tensor, (_meta((2, 3), dtype), _meta((), dtype)), {}),
        (_aten.add_.Tensor, (_meta((2, 3), dtype), _meta((3,), dtype)), {}),
        (_aten.where.self, (_meta((2, 1, 8, 16), torch.bool), _meta((), dtype), _meta((), dtype)), {}),
        (_aten.where.self, (_meta((2, 1, 8, 8), torch.bool), _meta((2, 4, 8, 8), dtype), _meta((), dtype)), {}),
        (_aten.pow.Tensor_Scalar, (_meta((2, 16, 32), dtype), 2), {}),
        (_aten.pow.Tensor_Scalar, (_meta((2, 16, 32), dtype), 3.0), {}),
        (_aten.rsqrt.default, (_meta((2, 16, 1), dtype),), {}),
        (_aten.cos.default, (_meta((1, 16, 8), dtype),), {}),
        (_aten.embedding.default, (_meta((100, 32), dtype), _meta((2, 16), torch.int64)), {}),
        (_aten.embedding.default, (_meta((64, 32), dtype), _meta((1, 16), torch.int64), 0), {}),
        # positions: an end, a start and an end, a step that does not divide, a step down, an empty range
        (_aten.arange.default, (16,), {}),
        (_aten.arange.default, (16,), {"dtype": dtype, "pin_memory": False}),
        (_aten.arange.start, (2, 16), {}),
        (_aten.arange.start_step, (2, 16, 3), {}),
        (_aten.arange.start_step, (16, 2, -3), {"dtype": dtype}),
        (_aten.arange.start, (5, 5), {}),
        # a rotary embedding's halves (heads transposed before they are cut), a cache's first keys (1-D, empty),
        # channels-last maps, and one channels-last map beside a contiguous one
        (_aten.add.Tensor, (_meta((2, 16, 4, 8), dtype).transpose(1, 2), _meta((2, 4, 16, 8), dtype)), {}),
        (_aten.cat.default, ([_meta((2, 16, 4, 8), dtype).transpose(1, 2)[..., :4], _meta((2, 4, 16, 4), dtype)], -1),
         {}),
        (_aten.cat.default, ([_meta((0,), dtype), _meta((2, 16, 4, 8), dtype).transpose(1, 2)], -2), {}),
        (_aten.cat.default, ([_channels_last((2, 4, 3, 3), dtype), _channels_last((2, 6, 3, 3), dtype)], 1), {}),
        (_aten.cat.default, ([_channels_last((2, 4, 3, 3), dtype), _meta((2, 6, 3, 3), dtype)], 1), {}),
        (_aten.cat.default, ([_meta((2, 3, 5, 4), dtype).permute(0, 3, 1, 2), _channels_last((2, 4, 3, 5), dtype)],
         0), {}),
    ]  # fmt: skip
    answered = 0
    for func, args, kwargs in cases:
        made = shape_only(func, args, kwargs)
        if made is not None:
            answered += 1
            # the CPU kernel is what eager PyTorch runs (inference batch norm saves no statistics there: [0])
            assert _layout(made) == _layout(func(*[_real(a) for a in args], **kwargs)), func
    # transposed inputs of a pointwise op keep their layout, as the CPU kernel keeps it; the 15 bfloat16 matrix
    # products and layer norms go to the meta kernel (norm statistics are float32 there)
    assert answered == len(cases) - (15 if dtype == torch.bfloat16 else 0)


def test_calls_the_rules_do_not_know_go_to_the_meta_kernels() -> None:
    from costmodel.graph.shape_only import shape_only

    a, b = _meta((4, 3)), _meta((3, 6))
    assert shape_only(_aten.mm.default, (a, _meta((4, 6))), {}) is None  # inner sizes differ: torch raises
    assert shape_only(_aten.mm.default, (a, _meta((3, 6), torch.float64)), {}) is None  # mixed dtypes
    assert shape_only(_aten.addmm.default, (_meta((5,)), a, b), {}) is None  # a bias that does not broadcast
    assert shape_only(_aten.native_layer_norm.default, (_meta((2, 8)), [4], None, None, 1e-5), {}) is None
    nodes, edges = _meta((5, 3)), _meta((7, 3))
    for index in (_meta((7, 3)), _meta((7, 4), torch.int64), _meta((7,), torch.int64)):  # a float index, too wide,
        assert shape_only(_aten.scatter_add_.default, (nodes, 0, index, edges), {}) is None  # another rank
    assert shape_only(_aten.scatter_add_.default, (nodes, 0, _meta((7, 3), torch.int64), edges.double()), {}) is None
    # shapes that do not broadcast, an in-place update of the smaller tensor, mixed dtypes, an integer where: the
    # meta kernel decides (and raises where torch raises)
    assert shape_only(_aten.add.Tensor, (_meta((4, 6)), _meta((4,))), {}) is None
    assert shape_only(_aten.add_.Tensor, (_meta((6,)), _meta((4, 6))), {}) is None
    assert shape_only(_aten.mul.Tensor, (_meta((4, 6)), _meta((6,), torch.float64)), {}) is None
    assert shape_only(_aten.arange.default, (2.5,), {}) is None  # float bounds: the meta kernel rounds them
    assert shape_only(_aten.arange.start_step, (0, 4, 0), {}) is None  # a zero step: torch raises
    condition = _meta((4, 6), torch.bool)
    assert shape_only(_aten.where.self, (condition, _meta((), torch.int64), _meta((), torch.int64)), {}) is None
    assert shape_only(_aten.where.self, (condition, _meta((4, 6)), _meta((), torch.float64)), {}) is None


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_convolution_pooling_reduction_and_grouped_outputs_are_what_the_cpu_kernels_make(dtype: torch.dtype) -> None:
    """The shape functions that keep a process's first report off the Python meta kernels (convolution, pooling,
    means and sums; the grouped product, whose meta kernel takes bfloat16 alone), each against the CPU kernel."""
    from costmodel.graph.shape_only import shape_only

    x = _meta((2, 8, 11, 11), dtype)
    conv = [
        (x, _meta((16, 8, 3, 3), dtype), None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1),
        (x, _meta((16, 8, 1, 1), dtype), _meta((16,), dtype), [2, 2], [0, 0], [1, 1], False, [0, 0], 1),
        (x, _meta((8, 1, 3, 3), dtype), None, [2, 2], [1, 1], [1, 1], False, [0, 0], 8),  # depthwise
        (x, _meta((16, 2, 5, 5), dtype), None, [1, 1], [2, 2], [2, 2], False, [0, 0], 4),  # grouped, dilated
        (x, _meta((8, 4, 2, 2), dtype), None, [2, 2], [0, 0], [1, 1], True, [1, 1], 1),  # transposed
        (_meta((2, 8, 20), dtype), _meta((4, 8, 3), dtype), None, [1], [0], [1], False, [0], 1),  # 1-D
        (_meta((1, 3, 9, 9, 9), dtype), _meta((4, 3, 3, 3, 3), dtype), None, [2] * 3, [1] * 3, [1] * 3, False,
         [0] * 3, 1),  # 3-D
    ]  # fmt: skip
    cases = [
        *[(_aten.convolution.default, args, {}) for args in conv],
        (_aten.max_pool2d_with_indices.default, (x, [3, 3], [2, 2], [1, 1]), {}),
        (_aten.max_pool2d_with_indices.default, (x, [2, 2], [2, 2], [0, 0], [1, 1], True), {}),  # ceil mode
        (_aten.max_pool2d_with_indices.default, (x, [3, 3]), {}),
        (_aten.avg_pool2d.default, (x, [2, 2]), {}),
        (_aten.avg_pool2d.default, (x, [3, 3], [2, 2], [1, 1], True, False), {}),
        (_aten._adaptive_avg_pool2d.default, (x, [1, 1]), {}),
        (_aten._adaptive_avg_pool2d.default, (x, [4, 3]), {}),
        (_aten.mean.dim, (x, [2, 3]), {}),
        (_aten.mean.dim, (x, [-1, -2], True), {}),
        (_aten.sum.dim_IntList, (x, [1]), {}),
        (_aten.sum.dim_IntList, (x, [0, 3], True), {}),
    ]
    # the grouped product: tokens routed to 3 experts (2D x 3D), a batched product (3D x 3D), K in groups (2D x 2D)
    grouped = [
        (_meta((10, 16), dtype), _meta((3, 16, 8), dtype), torch.tensor([2, 6, 10], dtype=torch.int32)),
        (_meta((3, 4, 16), dtype), _meta((3, 16, 8), dtype)),
        (_meta((4, 48), dtype), _meta((48, 8), dtype), torch.tensor([16, 32, 48], dtype=torch.int32)),
    ]
    cases += [(_aten._grouped_mm.default, args, {}) for args in grouped if dtype != torch.float64]
    answered = 0
    for func, args, kwargs in cases:
        made = shape_only(func, args, kwargs)
        if made is not None:
            answered += 1
            assert _layout(made) == _layout(func(*[_real(a) for a in args], **kwargs)), (func, args)
    # convolution, pooling and reductions answer for float32 and float64 (bfloat16 goes to the meta kernel); the
    # grouped product answers for float32 and bfloat16, the dtypes its CPU kernel takes
    expected = len(cases) - (len(cases) - len(grouped) if dtype == torch.bfloat16 else 0)
    assert answered == expected


def test_a_process_first_report_of_a_cnn_loads_no_python_meta_kernel_machinery() -> None:
    """Convolution, pooling and the global mean have shape functions: a fresh process's first ResNet report
    imports neither sympy (symbolic shapes) nor torch._dynamo (``mean``'s Python reference), nor the parts of
    costmodel a plain report does not use."""
    import subprocess
    import sys

    code = (
        "import sys, costmodel\nfrom costmodel.zoo import MODELS\n"
        "report = costmodel.report(MODELS['resnet18'](), (1, 3, 224, 224))\n"
        "print('sympy' in sys.modules, 'torch._dynamo' in sys.modules)\n"
        "print(*(name in sys.modules for name in ('costmodel.device', 'costmodel.formats.report', 'tomllib',\n"
        "    'costmodel.graph.exported', 'costmodel.views.rollup', 'costmodel.views.liveness',\n"
        "    'costmodel.views.completeness', 'costmodel.graph.failures')))\n"
        "str(report)\n"
        "print('costmodel.formats.report' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    no_meta_kernels, nothing_unused, formats_when_printed = done.stdout.splitlines()
    assert no_meta_kernels.split() == ["False", "False"]
    # a plain report needs no device part, no report format (until it is written), no project file, no program
    # reader, no view (until one is asked for), no failure messages
    assert nothing_unused.split() == ["False"] * 8
    assert formats_when_printed == "True"


def _laid_out(rng: random.Random, shape: list[int], order: list[int] | None = None) -> torch.Tensor:
    """A CPU tensor of ``shape`` whose dimensions lie in memory in a drawn order (or ``order``, outermost first),
    sometimes a slice of a longer one."""
    if order is None:
        order = list(range(len(shape)))
        if rng.random() < 0.6:
            rng.shuffle(order)
    sliced = bool(order) and rng.random() < 0.2
    stored = torch.empty([shape[d] * (2 if sliced and i == 0 else 1) for i, d in enumerate(order)])
    if sliced:
        start = rng.choice((0, 1))
        stored = stored[start : start + shape[order[0]]]
    return stored.permute([order.index(d) for d in range(len(shape))])


def test_broadcast_outputs_are_laid_out_as_the_cpu_kernels_lay_them_out() -> None:
    """600 drawn additions and ``where`` calls on inputs that broadcast (ranks 0-5, size-1 and missing dimensions,
    permuted and sliced memory): every output the shape functions give has the CPU kernel's shape, strides and
    dtype (the strides of TensorIterator's choice of dimension order, size-1 dimensions included)."""
    from costmodel.graph.shape_only import shape_only

    rng = random.Random(0)
    answered = 0
    for _ in range(600):
        rank = rng.randint(1, 5)
        full = [rng.choice((1, 2, 3, 4, 5)) for _ in range(rank)]
        inputs = []
        for _ in range(rng.choice((2, 3))):
            own = rng.randint(0, rank)
            inputs.append(_laid_out(rng, [1 if rng.random() < 0.35 else full[rank - own + d] for d in range(own)]))
        func = _aten.add.Tensor if len(inputs) == 2 else _aten.where.self
        if func is _aten.where.self:
            inputs[0] = inputs[0] > 0
        metas = [torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device="meta") for t in inputs]
        made = shape_only(func, tuple(metas), {})
        if made is None:
            continue
        answered += 1
        assert _layout(made) == _layout(func(*inputs)), [(tuple(t.shape), t.stride()) for t in inputs]
    assert answered > 500  # all but the calls whose shapes do not broadcast, or an in-place one


def test_cat_outputs_are_laid_out_as_the_cpu_kernel_lays_them_out() -> None:
    """300 drawn concatenations of 4-D and 5-D tensors in drawn memory orders (channels-last among them), sliced or
    not, with a cache's empty 1-D keys sometimes first: shape, strides and dtype as the CPU kernel makes them."""
    from costmodel.graph.shape_only import shape_only

    rng = random.Random(1)
    answered = 0
    for _ in range(300):
        rank = rng.choice((4, 5))
        shape = [rng.choice((1, 2, 3, 4)) for _ in range(rank)]
        dim = rng.randrange(rank)
        channels_last = [0, *range(2, rank), 1] if rng.random() < 0.4 else None  # for every input, or none
        inputs = []
        for _ in range(rng.choice((1, 2, 3))):
            own = list(shape)
            own[dim] = rng.choice((1, 2, 3))
            inputs.append(_laid_out(rng, own, channels_last))
        if rng.random() < 0.2:
            inputs.insert(0, torch.empty(0))
        metas = [torch.empty_strided(t.shape, t.stride(), device="meta") for t in inputs]
        made = shape_only(_aten.cat.default, (metas, dim), {})
        if made is not None:
            answered += 1
            assert _layout(made) == _layout(torch.cat(inputs, dim)), [(tuple(t.shape), t.stride()) for t in inputs]
    assert answered == 300


def test_inference_batch_norm_outputs_are_laid_out_as_the_cpu_kernel_lays_them_out() -> None:
    """200 drawn inference batch norms on inputs of ranks 2-5 in drawn memory orders (channels-last among them),
    sliced or not: the output's shape, strides and dtype as the CPU kernel makes them, and no saved statistics."""
    from costmodel.graph.shape_only import shape_only

    rng = random.Random(2)
    func = _aten._native_batch_norm_legit_no_training.default
    for _ in range(200):
        rank = rng.choice((2, 3, 4, 5))
        shape = [rng.choice((1, 2, 3, 4)) for _ in range(rank)]
        channels_last = [0, *range(2, rank), 1] if rank >= 4 and rng.random() < 0.4 else None
        x = _laid_out(rng, shape, channels_last)
        c = shape[1]
        statistics = [torch.ones(c), None, torch.zeros(c), torch.ones(c)]
        meta = [torch.empty_strided(x.shape, x.stride(), device="meta"), *(_meta((c,)) if s is not None else None
                                                                            for s in statistics)]  # fmt: skip
        made = shape_only(func, (*meta, 0.1, 1e-5), {})
        assert made is not None
        assert _layout(made) == _layout(func(x, *statistics, 0.1, 1e-5)), (tuple(x.shape), x.stride())
