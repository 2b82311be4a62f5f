"""Run a model once on meta tensors and record, per row, every ATen op it dispatches.

Nothing is computed: inputs and weights become meta tensors that carry only shape
and dtype (meta-device models work the same way), so a model too large for memory
can still be analysed. The rows are those of ``costmodel.graph.walk``: each layer
call, and each torch call a container makes. The model runs in inference mode (its
``training`` flags are restored afterwards) and hooks are not called (as in fx).

Where a branch depends on tensor values (``if x.sum() > 0``, a padding mask checked
with ``.all()``), meta tensors cannot run it: the model then runs once on example
values with its real weights, every op still recorded. A failure raises a one-line
error naming the layer or op it happened in and the shapes it was given.

Meta kernels are memoised per op signature (``graph.memo``) and whole rows per row
signature (``graph.row_memo``): a row met again with arguments of the same metadata is
rebuilt from its record instead of running.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from costmodel.errors import ShapeError, TraceError, UnsupportedInput, ValueDependent
from costmodel.graph.inputs import example_tensors, input_names, walk_inputs
from costmodel.graph.memo import MEMO, signature
from costmodel.graph.row_memo import ROWS, RowEntry, layout, module_key, row_key
from costmodel.graph.shape_only import shape_only
from costmodel.graph.source import call_site
from costmodel.graph.walk import Event, Structure, Walk, inference, tensors_in
from costmodel.ops import lookup
from costmodel.types import FrozenMap, ModelInputs, OpCall, OpKind, SourceLocation, TensorSpec

__all__ = ["NodeRecord", "Recording", "forget_needed_values", "record"]

_NO_KWARGS: FrozenMap[str, object] = FrozenMap()


class NodeRecord(NamedTuple):
    """What one row did: where it ran, the tensors it took and gave, and the ATen ops it dispatched."""

    name: str
    op: str  # call_module (a layer's call), call_function or call_method (a container's torch call)
    target: str  # the layer's class name, ``cat``, ``.view``
    module_path: str  # the layer's path, or that of the container making the call
    module_type: str
    inputs: tuple[str, ...]  # the rows and model inputs whose tensors it reads
    input_specs: tuple[TensorSpec, ...]
    output_specs: tuple[TensorSpec, ...]
    calls: tuple[OpCall, ...]
    #: The parameters it uses: a layer's own, and any read as arguments.
    parameters: tuple[nn.Parameter, ...] = ()
    location: SourceLocation | None = None
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
    return tuple(TensorSpec.of(t) for t in tensors_in(value))


def _fresh_bytes(made: list[torch.Tensor], given: list[torch.Tensor]) -> int:
    """Bytes of the tensors made that are new memory: not an input, an in-place update or a view of one."""
    fresh = 0
    taken: set[int] | None = None
    for t in made:
        base = t._base
        if base is None and not given:
            fresh += t.numel() * t.element_size()
            continue
        if taken is None:
            taken = {id(g) for g in given}
            taken |= {id(g._base) for g in given if g._base is not None}
        if id(t) not in taken and (base is None or id(base) not in taken):
            fresh += t.numel() * t.element_size()
    return fresh


class _Recorder(TorchDispatchMode):
    """Runs every ATen op on the meta device, or on small real values, and appends an ``OpCall`` to ``calls``.

    The weights (``weights``: parameters and floating buffers) met on the way are swapped for
    meta tensors of the same shape, once each, so no kernel ever touches them. An op whose
    tensors are all real and none a weight (token ids, masks and what is computed from them
    alone) runs for real, so a branch on a mask (``mask.all()``) sees its values; a factory of
    a small integer or boolean tensor (``arange`` of positions) makes a real one. Everything
    else runs on meta. With ``on_values`` every op runs as it is, on real tensors: for a
    model whose branches depend on values computed from its weights.
    """

    @classmethod
    def _should_skip_dynamo(cls) -> bool:  # never compiled: no wrapper around every dispatch
        return False

    def __init__(self, on_values: bool = False, weights: frozenset[int] = frozenset()) -> None:
        super().__init__()
        self.on_values = on_values
        self.weights = weights  # ids of the parameters and floating buffers
        self.calls: list[OpCall] = []
        self._meta: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        #: Ops run on real values so far (their values may decide what follows).
        self.on_values_count = 0

    def to_meta(self, value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            if value.is_meta:
                return value
            found = self._meta.get(id(value))
            if found is None:  # a meta stand-in of the same layout (cheaper than value.to("meta")); the original
                meta = torch.empty_strided(value.shape, value.stride(), dtype=value.dtype, device="meta")
                found = (value, meta)  # is kept alive so that its id stays unique
                self._meta[id(value)] = found
            return found[1]
        if isinstance(value, list | tuple):
            return type(value)(self.to_meta(v) for v in value)
        return value

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if torch._C._is_torch_function_mode_enabled():  # a mode of the user's: not for our own bookkeeping
            with torch._C.DisableTorchFunction():
                return self._dispatch(func, args, kwargs or {})
        return self._dispatch(func, args, kwargs or {})

    def _dispatch(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.on_values:
            out, call = _on_values(func, args, kwargs)
        else:
            values = self._values(args, kwargs)
            if values is _REAL:
                self.on_values_count += 1
                if kwargs.get("device") is not None:
                    kwargs = {**kwargs, "device": torch.device("cpu")}
                out, call = _on_values(func, args, kwargs)
            else:
                factory_kwargs = kwargs
                if values is not _ON_META:  # a weight or a real tensor among meta ones: made meta first
                    args = tuple([self.to_meta(a) for a in args])
                if kwargs:
                    kwargs = {k: self.to_meta(v) for k, v in kwargs.items()}
                    if "device" in kwargs:
                        kwargs["device"] = torch.device("meta")
                out, call = _on_meta(func, args, kwargs)
                if values is _NONE and _index_like(out):  # positions, an index range: small, and values may matter
                    self.on_values_count += 1
                    out = func(*args, **{**factory_kwargs, "device": torch.device("cpu")})
        self.calls.append(call)
        return out

    def _values(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> object:
        """``_REAL``: every tensor argument holds real values and none is a weight; ``_NONE``: no tensor
        argument (a factory); ``_ON_META``: every tensor argument is on meta already; ``_META``: a mix (the op
        runs on meta, its weights and real tensors made meta first)."""
        meta = real = False
        for value in (*args, *kwargs.values()) if kwargs else args:
            for item in value if isinstance(value, list | tuple) else (value,):  # a tensor list: cat's, stack's
                if not isinstance(item, torch.Tensor):
                    continue
                if item.is_meta:
                    meta = True
                elif id(item) in self.weights:
                    return _META
                else:
                    real = True
        if meta:
            return _META if real else _ON_META
        return _REAL if real else _NONE


_REAL, _META, _ON_META, _NONE = object(), object(), object(), object()
_UNSEEN = object()
#: The most elements a factory's integer or boolean output may have to be made real.
_INDEX_LIMIT = 1 << 20


def _index_like(out: Any) -> bool:
    """A single small integer or boolean meta tensor (what a factory of positions or flags makes)."""
    return (
        isinstance(out, torch.Tensor)
        and not (out.dtype.is_floating_point or out.dtype.is_complex)
        and out.numel() <= _INDEX_LIMIT
    )


def _on_values(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, OpCall]:
    """Run one op on real tensors; its record from the memo where one of these shapes was kept."""
    out = func(*args, **kwargs)
    key = signature(func, args, kwargs)
    return out, MEMO.recorded_call(key, lambda: _call(func, args, kwargs, out), _flat_specs(out))


def _on_meta(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, OpCall]:
    """Run one op on meta tensors, through the memo of meta kernel results (``costmodel.graph.memo``)."""
    key = signature(func, args, kwargs)
    entry = MEMO.get(key) if key is not None else None
    if entry is not None:
        return entry.outputs(), entry.call
    out = shape_only(func, args, kwargs)
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


class _Names:
    """Unique row names: a stem the first time, then ``stem_1``, ``stem_2``, ... (as torch.fx names nodes)."""

    def __init__(self, taken: Iterable[str]) -> None:
        self.taken = set(taken)
        self.counts: dict[str, int] = {}

    def make(self, stem: str) -> str:
        if stem[:1].isdigit():  # a Sequential's layer "0": "_0", an identifier, as torch.fx names it
            stem = f"_{stem}"
        if stem not in self.taken:
            self.taken.add(stem)
            return stem
        count = self.counts.get(stem, 0)
        while True:
            count += 1
            candidate = f"{stem}_{count}"
            if candidate not in self.taken:
                self.counts[stem] = count
                self.taken.add(candidate)
                return candidate


#: A torch call that made views only: (event, its ATen calls, tensors read, tensors made, its line).
_Pending = tuple[Event, list[OpCall], list[torch.Tensor], list[torch.Tensor], SourceLocation | None]

#: Frames from ``_RecordingWalk._after_row`` up to the walk's own entry points (``_row``, ``_module``/``_function``, the
#: replaced ``__call__`` or the mode): ``call_site`` starts past them and walks on past torch's frames.
_ROW_DEPTH = 4


class _RecordingWalk(Walk):
    """The walk whose rows record their ATen calls into ``NodeRecord``s.

    Tensors are tied to the row (or model input) that made them by identity, weakly, so
    each row names the rows it reads: the report is the model's data-flow graph.
    """

    def __init__(
        self,
        model: nn.Module,
        structure: Structure,
        recorder: _Recorder,
        parameters: dict[int, nn.Parameter],
        inputs: dict[str, torch.Tensor],
    ) -> None:
        super().__init__(model, structure)
        self.recorder = recorder
        self.parameters = parameters
        self.records: list[NodeRecord] = []
        #: Event ordinal -> (row name, the event's own stem): where a later run of the same model meets each row.
        self.ordinals: dict[int, tuple[str, str]] = {}
        self.names = _Names(inputs)
        self.makers: dict[int, tuple[weakref.ref[torch.Tensor], str]] = {}
        for name, tensor in inputs.items():
            self.makers[id(tensor)] = (weakref.ref(tensor), name)
        self.loose: list[OpCall] = []
        recorder.calls = self.loose
        #: Torch calls that made views only, waiting to join the next torch call of their container.
        self.pending: list[_Pending] = []
        #: id(layer) -> its ``module_key`` (``None``: its rows are not memoised), read once a walk.
        self.module_keys: dict[int, Any] = {}

    def row(self, event: Event, run: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        given = tensors_in(args) if not kwargs else tensors_in((args, kwargs))
        key = self._row_key(event, run, args, kwargs, given)
        if key is None:
            result, calls = self._run_row(event, run, args, kwargs)
            return self._after_row(event, result, calls, given, None)
        entry = ROWS.get(key)
        if entry is not None:
            metas = self._metas(given) if entry.aliases else None
            with torch._C._DisableTorchDispatch():  # rebuilt outputs: not ops of the model
                result = entry.outputs(metas)
            return self._after_row(event, result, entry.calls, given, entry)
        metas = self._metas(given)
        before = [layout(m) for m in metas]
        on_values = self.recorder.on_values_count
        result, calls = self._run_row(event, run, args, kwargs)
        if self.recorder.on_values_count != on_values:  # values were read: the row is not its metadata's alone
            return self._after_row(event, result, calls, given, None)
        if event.op == "call_module" and module_key(event.module) != self.module_keys[id(event.module)]:
            self.module_keys[id(event.module)] = None  # the call changed the layer's state: never kept this walk
            return self._after_row(event, result, calls, given, None)
        fresh = _fresh_bytes(tensors_in(result), given)
        entry = ROWS.keep(key, result, given, metas, before, calls, fresh)
        return self._after_row(event, result, calls, given, entry)

    def _metas(self, given: list[torch.Tensor]) -> list[torch.Tensor]:
        """The row's tensor arguments as its ops see them: weights as their meta stand-ins (made here, if they
        are not yet, with the recorder off: not ops of the model)."""
        if all(t.is_meta for t in given):
            return given
        with torch._C._DisableTorchDispatch():
            return [t if t.is_meta else self.recorder.to_meta(t) for t in given]

    def _row_key(
        self,
        event: Event,
        run: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        given: list[torch.Tensor],
    ) -> Any:
        """The row memo's key for this row, or ``None`` where the row must run: a module formula, a split call, a
        run on values, or a layer whose state has no hashable stand-in. Arguments holding real values (a mask,
        token ids) are named in the key: a row is kept only if none of its ops read them (``row``)."""
        if event.formula or event.split or self.recorder.on_values:
            return None
        weights = self.recorder.weights
        real = tuple([i for i, t in enumerate(given) if not t.is_meta and id(t) not in weights])
        if event.op == "call_module":
            found = self.module_keys.get(id(event.module), _UNSEEN)
            if found is _UNSEEN:
                found = self.module_keys[id(event.module)] = module_key(event.module)
            if found is None:
                return None
            key = row_key(found, args, kwargs)
        else:
            key = row_key(run, args, kwargs)  # the function itself: the key keeps it, so no other takes its id
        return (key, real) if real and key is not None else key

    def _run_row(
        self, event: Event, run: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Any, list[OpCall]]:
        calls: list[OpCall] = []
        self.recorder.calls = calls
        try:
            if event.formula:  # a module formula costs the whole layer: its ops are not recorded
                self.recorder.calls = []
                result = run(*args, **kwargs)
                calls.append(OpCall(type(event.module), tuple(_spec(a) for a in args), _flat_specs(result),
                                    _NO_KWARGS, event.module))  # fmt: skip
            else:
                result = run(*args, **kwargs)
        finally:
            self.recorder.calls = self.loose
        return result, calls

    def _after_row(
        self,
        event: Event,
        result: Any,
        calls: list[OpCall] | tuple[OpCall, ...],
        given: list[torch.Tensor],
        entry: RowEntry | None,
    ) -> Any:
        """File a row that ran (or came from the row memo, ``entry``): views wait for the next call."""
        if not calls and event.op != "call_module":  # a torch call that ran no op (x.shape, x.dim()) is no row
            return result
        made = tensors_in(result)
        function = event.op != "call_module"
        pending = self.pending
        if pending and (not function or pending[0][0].path != event.path):
            self._flush_views()
            pending = self.pending
        if function and not event.split and _all_free(calls):
            # views only: they join the next torch call here (their line taken now, should they stay a row)
            pending.append((event, list(calls), given, made, call_site(_ROW_DEPTH)))
            return result
        ordinals: list[tuple[int, str]] = []
        views: list[torch.Tensor] = []
        if pending:  # this call takes the views before it: their calls, what they read from outside, what they made
            views = [t for _, _, _, views_made, _ in pending for t in views_made]
            inner = {id(t) for t in views}
            given = [t for _, _, views_given, _, _ in pending for t in views_given] + [
                t for t in given if id(t) not in inner
            ]
            calls = [*(call for _, views_calls, _, _, _ in pending for call in views_calls), *calls]
            ordinals = [(view_event.ordinal, view_event.stem) for view_event, _, _, _, _ in pending]
            pending.clear()
            entry = None  # its specs are those of the call alone
        parts = _big_op_parts(list(calls)) if event.split else [calls]
        self._keep(event, parts, given, made, call_site(_ROW_DEPTH), ordinals, views, entry)
        return result

    def _flush_views(self) -> None:
        """Views with no torch call after them in their container: rows of their own."""
        pending, self.pending = self.pending, []
        for event, calls, given, made, location in pending:
            self._keep(event, [calls], given, made, location)

    def _keep(
        self,
        event: Event,
        parts: list[list[OpCall]],
        given: list[torch.Tensor],
        made: list[torch.Tensor],
        location: SourceLocation | None,
        ordinals: list[tuple[int, str]] | tuple[tuple[int, str], ...] = (),
        views: list[torch.Tensor] | tuple[torch.Tensor, ...] = (),
        entry: RowEntry | None = None,
    ) -> None:
        """One record per part (one part but for a call split by its big ops, whose parts read one another);
        ``ordinals`` are those of the views it took in, met again as this row, and ``views`` what they made
        (read later as made by this row). ``entry``: the row memo's entry, whose specs are the row's."""
        makers, parameters = self.makers, self.parameters
        inputs: list[str] = []
        used: list[nn.Parameter] = []
        layer = event.op == "call_module"
        if layer:
            used += [p for p in event.module._parameters.values() if p is not None]
        for tensor in given:
            found = makers.get(id(tensor))
            if found is not None and found[0]() is tensor:
                if found[1] not in inputs:
                    inputs.append(found[1])
            elif id(tensor) in parameters:
                used.append(parameters[id(tensor)])
        if entry is not None:  # its specs and bytes as the memo has them
            input_specs, output_specs, output_bytes = entry.input_specs, entry.output_specs, entry.output_bytes
        else:
            input_specs = tuple(TensorSpec.of(t) for t in given)
            output_specs = tuple(TensorSpec.of(t) for t in made)
            output_bytes = _fresh_bytes(made, given)
        for index, calls in enumerate(parts):
            last = index == len(parts) - 1
            stem = (
                event.stem if len(parts) == 1 else f"{event.path.replace('.', '_') or event.stem}_{_part_name(calls)}"
            )
            name = self.names.make(stem)
            if index == 0:  # a later run times a split call as a whole, on its first row
                self.ordinals[event.ordinal] = (name, event.stem)
                for ordinal, view_stem in ordinals:
                    self.ordinals[ordinal] = (name, view_stem)
            self.records.append(
                NodeRecord(
                    name,
                    event.op,
                    event.target,
                    event.path,
                    type(event.module).__name__,
                    tuple(inputs),
                    input_specs,
                    output_specs if last else calls[-1].outputs,
                    tuple(calls),
                    tuple(used) if index == 0 else (),
                    location,
                    output_bytes if last else sum(spec.nbytes for spec in calls[-1].outputs),
                )
            )
            if not last:
                inputs, input_specs = [name], calls[-1].outputs
        for tensor in (*views, *made):
            makers[id(tensor)] = (weakref.ref(tensor), name)

    def between_rows(self) -> None:
        """Views left at a container's end become rows. Ops that ran outside every row (a container calling
        ``torch.ops`` with torch functions off): rows of the container, named after their first op; never dropped."""
        path = self.containers[-1][0] if self.containers else None
        flush = bool(self.pending) and self.pending[0][0].path != path
        if flush or self.loose:
            with torch._C.DisableTorchFunction():  # our own bookkeeping: never an event of the walk
                if flush:
                    self._flush_views()
                if self.loose:
                    self._loose_row()

    def _loose_row(self) -> None:
        calls, self.loose = self.loose, []
        self.recorder.calls = self.loose
        path, container = self.containers[-1] if self.containers else ("", self.model)
        stem = calls[0].name
        name = self.names.make(stem)
        specs = tuple(spec for call in calls for spec in call.outputs)
        self.records.append(
            NodeRecord(name, "call_function", stem, path, type(container).__name__, (), (), specs[-1:], tuple(calls))
        )


#: Ops that get a row of their own when a call is split by its big ops.
_BIG = frozenset({OpKind.CONV, OpKind.MATMUL, OpKind.ATTENTION, OpKind.EMBEDDING})
#: Ops that move no data: a run of only these joins the part after it.
_FREE = frozenset({OpKind.VIEW, OpKind.NONE})


def _all_free(calls: Iterable[OpCall]) -> bool:
    """Whether every call only moves no data (views, metadata)."""
    return all(_kind(call) in _FREE for call in calls)


def _kind(call: OpCall) -> OpKind | None:
    formula = lookup(call.target)
    return formula.kind if formula is not None else None


def _big_op_parts(calls: list[OpCall]) -> list[list[OpCall]]:
    """A call's ATen calls in parts: each big op (product, convolution, attention core) a part of its own, and
    each run of the cheaper ops between them one part; a run of views joins the part after it."""
    parts: list[list[OpCall]] = []
    run: list[OpCall] = []
    for call in calls:
        kind = _kind(call)
        if kind in _BIG:
            if run and not all(_kind(c) in _FREE for c in run):
                parts.append(run)
                run = []
            parts.append([*run, call])
            run = []
        else:
            run.append(call)
    if run:
        if parts and all(_kind(c) in _FREE for c in run):
            parts[-1] += run
        else:
            parts.append(run)
    return parts or [calls]


def _part_name(calls: list[OpCall]) -> str:
    """A part's name: its big op's, else its first op's that moves data, else its first op's."""
    main = max(calls, key=lambda c: (_kind(c) in _BIG, _kind(c) not in _FREE))
    return main.name


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
    """The rows of one run, where it had to run on example values (``None``: shapes were enough), the names the
    model's inputs go by, the rows that made its outputs, and for each event ordinal the row it belongs to and
    the event's own stem (where a later run meets each row, and a check that it meets the same call there)."""

    records: list[NodeRecord]
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    ordinals: FrozenMap[int, tuple[str, str]]
    on_values: str | None = None


def record(model: nn.Module, inputs: ModelInputs, structure: Structure | None = None) -> Recording:
    """Run ``model`` on meta tensors of the inputs' shapes and dtypes; on example values where values decide.

    A model whose branches depend on tensor values (``if x.sum() > 0``, a mask checked with
    ``.all()``) cannot run on meta tensors: then it runs once more on real example values
    (the user's tensors, else generated ones: valid indices for embeddings, masks of ones)
    with its real weights, every op still recorded.

    Raises:
        UnsupportedInput: The inputs do not fit ``forward``'s parameters.
        ShapeError: The input does not fit a layer (the message names it).
        TraceError: ``forward`` raised something other than a shape error.
        ValueDependent: Values decide, and the model's weights are on the meta device.
    """
    names = input_names(model, inputs)
    structure = structure or Structure.of(model)
    device = structure.parameters[0][1].device if structure.parameters else torch.device("cpu")
    key = _call_key(inputs)
    where = _NEEDED_VALUES.get(model, {}).get(key) if device.type != "meta" and key is not None else None
    if where is None:
        try:
            return _run(model, inputs, names, structure, on_values=False)
        except ValueDependent as error:
            if device.type == "meta":
                raise ValueDependent(
                    f"{error}; the model's weights are on the meta device, so it cannot run on example values "
                    "either: load real weights to analyse it"
                ) from error
            where = _where(str(error))
    recording = _run(model, inputs, names, structure, on_values=True, device=device, where=where)
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
    model: nn.Module,
    inputs: ModelInputs,
    names: tuple[str, ...],
    structure: Structure,
    *,
    on_values: bool,
    device: torch.device | None = None,
    where: str | None = None,
) -> Recording:
    parameters = {id(p): p for _, p in structure.parameters}
    weights = frozenset(parameters) | {id(b) for _, b in structure.buffers if b.is_floating_point()}
    recorder = _Recorder(on_values, weights)
    if on_values:
        tensors = example_tensors(inputs, device or torch.device("cpu"), model=model)
    else:
        tensors = walk_inputs(inputs, model)
    walk = _RecordingWalk(model, structure, recorder, parameters, dict(zip(names, tensors, strict=True)))
    positional, keyword = inputs.split(tensors)
    every = [module for _, module in structure.modules]
    switches = _no_onednn() if on_values else _recurrent_weights_on_meta(every)
    try:
        with inference(model, every), _no_fast_path(), switches, recorder:
            result = walk.run(positional, keyword)
    except (UnsupportedInput, ShapeError, TraceError, ValueDependent):
        raise
    except Exception as error:
        failed = walk.failed
        if failed is None:
            raise _error(f"model {type(model).__name__}", None, _shapes(tensors), error) from error
        described, module, given = failed
        raise _error(described, module, _shapes(given), error) from error
    made = {id(t): name for t in tensors_in(result) if (found := walk.makers.get(id(t))) and (name := found[1])}
    outputs = tuple(dict.fromkeys(made.values()))
    return Recording(walk.records, names, outputs, FrozenMap(walk.ordinals), where)
