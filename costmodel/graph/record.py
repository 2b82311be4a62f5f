"""Run a traced graph on meta tensors and record, per node, every ATen op it dispatches.

Nothing is computed: inputs and weights become meta tensors that carry only
shape and dtype (meta-device models work the same way), so a model too large
for memory can still be analysed. The model is run in inference mode (its
``training`` flags are restored afterwards) and hooks of the traced layers are
not called (as in fx). A node that fails raises ``ShapeError`` naming the node,
its module, and the shapes it was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn
from torch.utils._python_dispatch import TorchDispatchMode

from costmodel.errors import ShapeError, TraceError, UnsupportedInput
from costmodel.graph.inputs import meta_tensors
from costmodel.graph.interpret import fetch, inference, interpret, run_node
from costmodel.graph.trace import TracedModel
from costmodel.ops import lookup
from costmodel.types import FrozenMap, ModelInputs, OpCall, TensorSpec

__all__ = ["NodeRecord", "record"]

_aten = torch.ops.aten
_NO_KWARGS: FrozenMap[str, object] = FrozenMap()


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """What one graph node did: the tensors it took and gave, and the ATen ops it dispatched."""

    node: fx.Node
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    calls: tuple[OpCall, ...]
    module: nn.Module | None = None
    #: Bytes of outputs in new memory (views and in-place results are not).
    output_bytes: int = 0


def _spec(value: Any) -> Any:
    """Replace tensors (also inside lists) by their ``TensorSpec``; keep other values."""
    if isinstance(value, torch.Tensor):
        return TensorSpec.of(value)
    if isinstance(value, list | tuple) and any(isinstance(v, torch.Tensor) for v in value):
        return tuple(_spec(v) for v in value)
    return value


def _flat_specs(value: Any) -> tuple[TensorSpec, ...]:
    """Every tensor in a (nested) value, as specs."""
    if isinstance(value, torch.Tensor):
        return (TensorSpec.of(value),)
    if isinstance(value, list | tuple):
        return tuple(s for v in value for s in _flat_specs(v))
    if isinstance(value, dict):
        return tuple(s for v in value.values() for s in _flat_specs(v))
    return ()


def _tensors(value: Any) -> list[torch.Tensor]:
    """Every tensor in a (nested) value."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, list | tuple):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


def _fresh_bytes(result: Any, given: Any) -> int:
    """Bytes of the result's tensors that are new memory: not an input, an in-place update or a view of one."""
    taken = {id(t) for t in _tensors(given)}
    taken |= {id(t._base) for t in _tensors(given) if t._base is not None}
    return sum(
        t.numel() * t.element_size()
        for t in _tensors(result)
        if id(t) not in taken and (t._base is None or id(t._base) not in taken)
    )


class _Recorder(TorchDispatchMode):
    """Runs every ATen op on the meta device and appends an ``OpCall`` while ``calls`` is a list.

    Real tensors met on the way (the user's weights) are swapped for meta tensors
    of the same shape, once each, so no kernel ever touches data. Factory ops are
    sent to the meta device too.
    """

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[OpCall] | None = None
        self._meta: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def to_meta(self, value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            if value.device.type == "meta":
                return value
            found = self._meta.get(id(value))
            if found is None:
                found = (value, value.to("meta"))  # keep the original alive so its id stays unique
                self._meta[id(value)] = found
            return found[1]
        if isinstance(value, list | tuple):
            return type(value)(self.to_meta(v) for v in value)
        return value

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        args = tuple(self.to_meta(a) for a in args)
        kwargs = {k: self.to_meta(v) for k, v in kwargs.items()} if kwargs else {}
        if "device" in kwargs:
            kwargs["device"] = torch.device("meta")
        out = _shape_only(func, args, kwargs)
        if out is None:
            out = func(*args, **kwargs)
        if self.calls is not None:
            self.calls.append(
                OpCall(
                    func,
                    tuple(_spec(a) for a in args),
                    _flat_specs(out),
                    FrozenMap({k: _spec(v) for k, v in kwargs.items()}) if kwargs else _NO_KWARGS,
                )
            )
        return out


def _empty(shape: Any, dtype: torch.dtype) -> torch.Tensor:
    """A contiguous meta tensor (``torch.empty_like`` on meta is ~50x slower: it runs Python refs)."""
    return torch.empty(shape, dtype=dtype, device="meta")


#: Pointwise ops whose output takes the shape and floating dtype of same-shaped float inputs.
_SAME_AS_INPUT = frozenset(
    f"{name}{suffix}"
    for name in (
        "relu", "hardtanh", "add", "sub", "mul", "div", "sigmoid", "tanh", "silu", "gelu", "hardswish",
        "hardsigmoid", "leaky_relu", "elu", "clamp", "neg", "abs", "exp",
    )
    for suffix in ("", "_")
)  # fmt: skip


def _shape_only(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Outputs of the commonest ops made without their meta kernels, which are slow Python.

    Only where the output is certain: inference batch norm, and a few float-preserving
    pointwise ops (not comparisons, which return bool) whose tensor arguments share one
    shape and floating dtype. Anything else returns ``None`` and runs the real meta kernel.
    """
    packet = func.overloadpacket
    if packet is _aten._native_batch_norm_legit_no_training or (
        packet is _aten.native_batch_norm and len(args) > 5 and args[5] is False
    ):
        x = args[0]
        return _empty(x.shape, x.dtype), _empty((0,), x.dtype), _empty((0,), x.dtype)
    name = func._schema.name.partition("::")[2]
    if name not in _SAME_AS_INPUT or kwargs:
        return None
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    first = tensors[0] if tensors else None
    if first is None or not first.is_floating_point():
        return None
    if any(t.shape != first.shape or t.dtype != first.dtype for t in tensors):
        return None
    if name.endswith("_"):  # in place: returns its first argument
        return first
    return _empty(first.shape, first.dtype)


def _one_line(module: nn.Module) -> str:
    """A leaf layer's repr (``Conv2d(3, 24, ...)``); a container's class name only."""
    return repr(module) if not module._modules else f"{type(module).__name__}(...)"


def _describe(node: fx.Node, module: nn.Module | None) -> str:
    if node.op == "call_module":
        name = node.target or "<model>"
        return f"layer '{name}' ({_one_line(module)})" if module is not None else f"layer '{name}'"
    target = getattr(node.target, "__name__", str(node.target))
    stack = node.meta.get("nn_module_stack") or {}
    where = f" in '{next(reversed(stack))}'" if stack else ""
    return f"op '{node.name}' ({node.op} {target}){where}"


class _Runner:
    """The step of the graph walk: runs one node on meta tensors and records its ops."""

    def __init__(self, root: nn.Module, recorder: _Recorder) -> None:
        self.root = root
        self.recorder = recorder
        self.records: list[NodeRecord] = []

    def __call__(self, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        module = fetch(self.root, node.target) if node.op == "call_module" else None
        calls: list[OpCall] = []
        self.recorder.calls = calls
        try:
            if module is not None and lookup(type(module)) is not None:
                result = self._costed_as_a_whole(module, args, kwargs, calls)
            else:
                result = run_node(self.root, node, args, kwargs)
        except (UnsupportedInput, ShapeError, TraceError):
            raise
        except Exception as error:
            raise _node_error(node, module, args, kwargs, error) from error
        finally:
            self.recorder.calls = None
        self.records.append(
            NodeRecord(
                node,
                _flat_specs((args, kwargs)),
                _flat_specs(result),
                tuple(calls),
                module,
                _fresh_bytes(result, (args, kwargs)),
            )
        )
        return result

    def _costed_as_a_whole(self, module: nn.Module, args: Any, kwargs: Any, calls: list[OpCall]) -> Any:
        self.recorder.calls = None  # a module formula costs the whole layer
        result = module.forward(*args, **kwargs)
        calls.append(OpCall(type(module), tuple(_spec(a) for a in args), _flat_specs(result), _NO_KWARGS, module))
        return result


def _expectation(module: nn.Module | None) -> str:
    """What a standard layer expects of its input, from its own attributes ('' if unknown)."""
    if isinstance(module, nn.modules.conv._ConvNd):
        dims = len(module.kernel_size)
        return f"expects [N, {module.in_channels}, {', '.join('*' * dims)}] (channels in dim 1); "
    if isinstance(module, nn.Linear | nn.Bilinear):
        return f"expects [..., {getattr(module, 'in_features', getattr(module, 'in1_features', '?'))}]; "
    if isinstance(module, nn.modules.batchnorm._NormBase):
        return f"expects [N, {module.num_features}, ...] (features in dim 1); "
    if isinstance(module, nn.LayerNorm):
        return f"expects [..., {', '.join(map(str, module.normalized_shape))}]; "
    return ""


def _node_error(node: fx.Node, module: nn.Module | None, args: Any, kwargs: Any, error: Exception) -> Exception:
    shapes = ", ".join(str(s) for s in _flat_specs((args, kwargs))) or "no tensors"
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    name = type(error).__name__
    if "DataDependent" in name or "data-dependent" in message or "meta tensor" in message:
        return TraceError(
            f"{_describe(node, module)} depends on tensor values ({name}), which shape-only analysis cannot "
            "see; make that branch depend on shapes, or register a cost formula for the module"
        )
    if not isinstance(error, RuntimeError | ValueError | IndexError):  # not a shape check: a bug in forward
        return TraceError(f"{_describe(node, module)} raised {name} on input {shapes}: {message}")
    return ShapeError(f"{_describe(node, module)} {_expectation(module)}got {shapes}: {message}")


def record(traced: TracedModel, inputs: ModelInputs) -> list[NodeRecord]:
    """Run ``traced`` on meta tensors of the inputs' shapes and dtypes.

    Returns:
        One record per graph node except placeholders and the output.
    """
    model = traced.root
    recorder = _Recorder()
    runner = _Runner(model, recorder)
    with inference(model), recorder:
        interpret(traced, meta_tensors(inputs), runner)
    return runner.records
