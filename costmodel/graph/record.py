"""Run a traced graph on meta tensors and record, per node, every ATen op it dispatches.

Nothing is computed: inputs and weights become meta tensors that carry only
shape and dtype (meta-device models work the same way), so a model too large
for memory can still be analysed. The model is run in inference mode (its
``training`` flags are restored afterwards) and hooks of the traced layers are
not called (as in fx). A node that fails raises ``ShapeError`` naming the node,
its module, and the shapes it was given.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn
from torch.utils._python_dispatch import TorchDispatchMode

from costmodel.errors import ShapeError, TraceError, UnsupportedInput, ValueDependent
from costmodel.graph.inputs import example_tensors, meta_tensors
from costmodel.graph.interpret import fetch, inference, interpret, run_node
from costmodel.graph.memo import MEMO, signature
from costmodel.graph.split import Row, Segment, SplitRun, tensors_in
from costmodel.graph.trace import LOCATION, TracedModel
from costmodel.ops import lookup
from costmodel.types import FrozenMap, ModelInputs, OpCall, TensorSpec

__all__ = ["NodeRecord", "Recording", "forget_needed_values", "record"]

_aten = torch.ops.aten
_NO_KWARGS: FrozenMap[str, object] = FrozenMap()


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """What one graph node did: the tensors it took and gave, and the ATen ops it dispatched."""

    node: fx.Node | Row
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    calls: tuple[OpCall, ...]
    module: nn.Module | None = None
    #: Bytes of outputs in new memory (views and in-place results are not).
    output_bytes: int = 0
    #: The parameters this node owns, where not those of ``module`` (a container's own, in a split part).
    owned: tuple[nn.Parameter, ...] | None = None
    #: A row of an opaque part, run as Python runs it rather than traced.
    from_opaque: bool = False
    #: The opaque graph node whose output this row made: later nodes that read that node read this row.
    stands_for: str | None = None


def _spec(value: Any) -> Any:
    """Replace tensors (also inside lists) by their ``TensorSpec``; keep other values."""
    if isinstance(value, torch.Tensor):
        return TensorSpec.of(value)
    if isinstance(value, list | tuple) and any(isinstance(v, torch.Tensor) for v in value):
        return tuple(_spec(v) for v in value)
    return value


def _flat_specs(value: Any) -> tuple[TensorSpec, ...]:
    """Every tensor in a (nested) value, as specs."""
    return tuple(TensorSpec.of(t) for t in tensors_in(value))


def _paired(nodes: Any, values: Any) -> Iterator[tuple[fx.Node, torch.Tensor]]:
    """(graph node, tensor) for every tensor argument of a node, matched through nested args."""
    if isinstance(nodes, fx.Node):
        if isinstance(values, torch.Tensor):
            yield nodes, values
    elif isinstance(nodes, list | tuple) and isinstance(values, list | tuple):
        for n, v in zip(nodes, values, strict=False):
            yield from _paired(n, v)
    elif isinstance(nodes, dict) and isinstance(values, dict):
        for key, n in nodes.items():
            yield from _paired(n, values.get(key))


def _fresh_bytes(made: list[torch.Tensor], given: list[torch.Tensor]) -> int:
    """Bytes of the tensors made that are new memory: not an input, an in-place update or a view of one."""
    taken = {id(t) for t in given}
    taken |= {id(t._base) for t in given if t._base is not None}
    return sum(
        t.numel() * t.element_size()
        for t in made
        if id(t) not in taken and (t._base is None or id(t._base) not in taken)
    )


class _Recorder(TorchDispatchMode):
    """Runs every ATen op on the meta device and appends an ``OpCall`` while ``calls`` is a list.

    Real tensors met on the way (the user's weights) are swapped for meta tensors
    of the same shape, once each, so no kernel ever touches data. Factory ops are
    sent to the meta device too. With ``on_values`` the ops run as they are, on
    real tensors: for a model whose branches depend on tensor values.
    """

    def __init__(self, on_values: bool = False) -> None:
        super().__init__()
        self.on_values = on_values
        self.calls: list[OpCall] | None = None
        #: Told of every call with its arguments and outputs while set (a split opaque part).
        self.observer: Callable[[OpCall, Any, Any], None] | None = None
        #: Told when an op fails, while set (a split part notes the module call it failed in).
        self.on_failure: Callable[[], None] | None = None
        self._meta: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def to_meta(self, value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            if value.is_meta:
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
        kwargs = kwargs or {}
        try:
            if self.on_values:
                out = func(*args, **kwargs)
                call = MEMO.recorded_call(
                    signature(func, args, kwargs), lambda: _call(func, args, kwargs, out), _flat_specs(out)
                )
            else:
                args = tuple([self.to_meta(a) for a in args])
                kwargs = {k: self.to_meta(v) for k, v in kwargs.items()} if kwargs else {}
                if "device" in kwargs:
                    kwargs["device"] = torch.device("meta")
                out, call = _on_meta(func, args, kwargs)
        except Exception:
            if self.on_failure is not None:
                self.on_failure()
            raise
        if self.calls is not None:
            self.calls.append(call)
        if self.observer is not None:
            self.observer(call, (args, kwargs), out)
        return out


def _on_meta(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, OpCall]:
    """Run one op on meta tensors, through the memo of meta kernel results (``costmodel.graph.memo``)."""
    key = signature(func, args, kwargs)
    entry = MEMO.get(key) if key is not None else None
    if entry is not None:
        return entry.outputs(), entry.call
    out = _shape_only(func, args, kwargs)
    if out is None:
        out = func(*args, **kwargs)
    if key is None:
        return out, _call(func, args, kwargs, out)
    if not MEMO.fresh(func):  # a view or an in-place op: its outputs are its own, only the record is kept
        return out, MEMO.recorded_call(key, lambda: _call(func, args, kwargs, out), _flat_specs(out))
    call = _call(func, args, kwargs, out)
    MEMO.keep(key, func, out, call)
    return out, call


def _call(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCall:
    """The ``OpCall`` record of one dispatched call: tensors as specs."""
    return OpCall(
        func,
        tuple(_spec(a) for a in args),
        _flat_specs(out),
        FrozenMap({k: _spec(v) for k, v in kwargs.items()}) if kwargs else _NO_KWARGS,
    )


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
    """The step of the graph walk: runs one node on meta tensors and records its ops.

    An opaque part is split into per-layer rows (``costmodel.graph.split``).
    """

    def __init__(self, traced: TracedModel, recorder: _Recorder, modules: dict[str, nn.Module]) -> None:
        self.root = traced.root
        self.opaque = traced.opaque
        self.recorder = recorder
        self.records: list[NodeRecord] = []
        self.modules = modules
        self.paths = {id(m): name for name, m in modules.items()}
        self.taken = {n.name for n in traced.graph.nodes}

    def _module(self, path: Any) -> nn.Module:
        found = self.modules.get(path)
        return found if found is not None else fetch(self.root, path)  # a module shared under two names

    def __call__(self, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        module = self._module(node.target) if node.op == "call_module" else None
        calls: list[OpCall] = []
        self.recorder.calls = calls
        try:
            if module is None:
                result = run_node(self.root, node, args, kwargs)
            elif lookup(type(module)) is not None:
                result = self._costed_as_a_whole(module, args, kwargs, calls)
            elif node.target in self.opaque:
                return self._split(node, module, args, kwargs)
            else:
                result = module.forward(*args, **kwargs)  # a layer's forward, called directly (no hooks, as in fx)
        except (UnsupportedInput, ShapeError, TraceError):
            raise
        except Exception as error:
            raise _node_error(node, module, args, kwargs, error) from error
        finally:
            self.recorder.calls = None
        given, made = tensors_in((args, kwargs)), tensors_in(result)
        self.records.append(
            NodeRecord(
                node,
                tuple(TensorSpec.of(t) for t in given),
                tuple(TensorSpec.of(t) for t in made),
                tuple(calls),
                module,
                _fresh_bytes(made, given),
            )
        )
        return result

    def _split(self, node: fx.Node, module: nn.Module, args: Any, kwargs: Any) -> Any:
        """Run an opaque part with its module calls tracked; one record per row it splits into."""
        split = SplitRun(str(node.target), module, self.paths, (args, kwargs))
        self.recorder.calls = None
        self.recorder.observer, self.recorder.on_failure = split.observe, split.note_failure
        try:
            with split.hooks():
                result = run_node(self.root, node, args, kwargs)
        except (UnsupportedInput, ShapeError, TraceError):
            raise
        except Exception as error:
            if split.failed is None:
                raise  # the part's own op: named as the part
            path, inner, inner_args = split.failed  # named as the layer it failed in, with that layer's input
            raise _error(f"layer '{path}' ({_one_line(inner)})", inner, _shapes(inner_args), error) from error
        finally:
            self.recorder.observer = self.recorder.on_failure = None
        split.finish()
        sources = {id(value): source for source, value in _paired((node.args, node.kwargs), (args, kwargs))}
        last = next((split.maker(t) for t in tensors_in(result) if split.maker(t) not in (None, -1)), None)
        output_segment = split.segments[last] if last is not None else None  # made the part's output
        rows = split.nodes(self.taken, sources)
        owned = [_owned(segment) for segment, _ in rows]
        used = {id(p) for parameters in owned for p in parameters}
        if owned:  # a branch not taken: its parameters still belong to the part, on its first row
            owned[0] += tuple(p for p in module.parameters() if id(p) not in used)
        for (segment, row), parameters in zip(rows, owned, strict=True):
            row.meta[LOCATION] = None
            self.records.append(
                NodeRecord(
                    row,
                    tuple(segment.input_specs),
                    tuple(segment.output_specs),
                    tuple(segment.calls),
                    segment.module if segment.leaf else None,
                    segment.fresh_bytes,
                    parameters,
                    from_opaque=True,
                    stands_for=node.name if segment is output_segment else None,
                )
            )
        return result

    def _costed_as_a_whole(self, module: nn.Module, args: Any, kwargs: Any, calls: list[OpCall]) -> Any:
        self.recorder.calls = None  # a module formula costs the whole layer
        result = module.forward(*args, **kwargs)
        calls.append(OpCall(type(module), tuple(_spec(a) for a in args), _flat_specs(result), _NO_KWARGS, module))
        return result


def _owned(segment: Segment) -> tuple[nn.Parameter, ...]:
    """A row's parameters: a layer's all, a container's own (not its children's)."""
    if segment.leaf:
        module = segment.module
        if not module._modules:  # the usual childless layer: its own parameters, without a recursive walk
            return tuple(p for p in module._parameters.values() if p is not None)
        return tuple(module.parameters())
    return tuple(p for p in segment.module._parameters.values() if p is not None)


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


def _shapes(value: Any) -> str:
    return ", ".join(str(s) for s in _flat_specs(value)) or "no tensors"


def _node_error(node: fx.Node, module: nn.Module | None, args: Any, kwargs: Any, error: Exception) -> Exception:
    return _error(_describe(node, module), module, _shapes((args, kwargs)), error)


def _error(described: str, module: nn.Module | None, shapes: str, error: Exception) -> Exception:
    """The one-line error for a failure in the described place: values needed, a bug, or a shape mismatch."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    name = type(error).__name__
    if "DataDependent" in name or "data-dependent" in message or "meta tensor" in message:
        return ValueDependent(
            f"{described} depends on tensor values ({name}), which shape-only analysis cannot "
            "see; make that branch depend on shapes, or register a cost formula for the module"
        )
    if not isinstance(error, RuntimeError | ValueError | IndexError):  # not a shape check: a bug in forward
        return TraceError(f"{described} raised {name} on input {shapes}: {message}")
    return ShapeError(f"{described} {_expectation(module)}got {shapes}: {message}")


@contextlib.contextmanager
def _switched_off(read: Callable[[], bool], write: Callable[[bool], None]) -> Iterator[None]:
    """A global backend switch off for the block, back to what it was afterwards."""
    was = read()
    write(False)
    try:
        yield
    finally:
        write(was)


def _no_fast_path() -> contextlib.AbstractContextManager[None]:
    """Transformer layers' fused inference path off for the run: its single fused op would hide the
    projections, attention and feed-forward (the unfused path does the same arithmetic, op by op)."""
    return _switched_off(torch.backends.mha.get_fastpath_enabled, torch.backends.mha.set_fastpath_enabled)


def _no_onednn() -> contextlib.AbstractContextManager[None]:
    """oneDNN off for a run on values: its fused recurrent kernel would be one opaque call, where the
    op-by-op path does the same arithmetic."""
    return _switched_off(lambda: torch.backends.mkldnn.enabled, _set_onednn)


def _set_onednn(enabled: bool) -> None:
    torch.backends.mkldnn.enabled = enabled


@contextlib.contextmanager
def _recurrent_weights_on_meta(modules: Iterable[nn.Module]) -> Iterator[None]:
    """Recurrent layers (LSTM, GRU, RNN) read their weights from a private list, which C++ checks for the
    input's device before any op dispatches: point it at meta copies for the run, and back afterwards."""
    saved = []
    for module in modules:
        weights = getattr(module, "_flat_weights", None)
        if isinstance(module, nn.RNNBase) and isinstance(weights, list):
            saved.append((module, weights))
            module._flat_weights = [w.to("meta") if isinstance(w, torch.Tensor) else w for w in weights]
    try:
        yield
    finally:
        for module, weights in saved:
            module._flat_weights = weights


@dataclass(frozen=True, slots=True)
class Recording:
    """The records of one run, and where it had to run on example values (``None``: shapes were enough)."""

    records: list[NodeRecord]
    on_values: str | None = None


def record(traced: TracedModel, inputs: ModelInputs) -> Recording:
    """Run ``traced`` on meta tensors of the inputs' shapes and dtypes; on example values where values decide.

    A part whose branches depend on tensor values (``if x.sum() > 0``, a mask checked with
    ``.all()``) cannot run on meta tensors: then the whole model runs once more on real
    example values (the user's tensors, else generated ones: valid indices for embeddings,
    masks of ones) with its real weights, every op still recorded.

    Returns:
        One record per graph node except placeholders and the output (an opaque part: one per row).

    Raises:
        ValueDependent: Values decide, and the model's weights are on the meta device.
    """
    model = traced.root
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    key = _call_key(inputs)
    where = _NEEDED_VALUES.get(model, {}).get(key) if device.type != "meta" and key is not None else None
    if where is None:
        try:
            return Recording(_run(traced, inputs, on_values=False))
        except ValueDependent as error:
            if device.type == "meta":
                raise ValueDependent(
                    f"{error}; the model's weights are on the meta device, so it cannot run on example values "
                    "either: load real weights to analyse it"
                ) from error
            where = _where(str(error))
    recording = Recording(_run(traced, inputs, on_values=True, device=device), on_values=where)
    if key is not None:
        _NEEDED_VALUES.setdefault(model, {})[key] = where
    return recording


#: Model -> {inputs' specs and keywords -> the part that needed values}: a model called the same way again
#: goes straight to its run on values (the meta run would stop at the same branch). Weakly keyed: a model
#: is not kept alive by it.
_NEEDED_VALUES: weakref.WeakKeyDictionary[nn.Module, dict[Any, str]] = weakref.WeakKeyDictionary()


def forget_needed_values() -> None:
    """Forget which models needed values (for timing a cold walk)."""
    _NEEDED_VALUES.clear()


def _call_key(inputs: ModelInputs) -> Any:
    """What identifies a call for ``_NEEDED_VALUES`` (``None`` when a constant is unhashable)."""
    key = (inputs.specs, inputs.names, tuple(inputs.constants.items()))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _where(message: str) -> str:
    """The part named in a value-dependence message (``layer 'x' (...)``, ``op 'y' ...``)."""
    return message.split(" depends on tensor values")[0]


def _run(
    traced: TracedModel, inputs: ModelInputs, *, on_values: bool, device: torch.device | None = None
) -> list[NodeRecord]:
    model = traced.root
    modules = dict(model.named_modules())  # one walk of the hierarchy for the whole run
    recorder = _Recorder(on_values)
    runner = _Runner(traced, recorder, modules)
    if on_values:
        values = example_tensors(inputs, device or torch.device("cpu"), model=model)
        with inference(model, modules.values()), _no_fast_path(), _no_onednn(), recorder:
            interpret(traced, values, runner, inputs.names)
    else:
        every = modules.values()
        with inference(model, every), _no_fast_path(), _recurrent_weights_on_meta(every), recorder:
            interpret(traced, meta_tensors(inputs), runner, inputs.names)
    return runner.records
