"""The recording walk: each node of the model's run (``graph.walk``) with its ATen calls, the tensors it read and
made, and the nodes it reads from, as a ``RecordedNode``.

A node met again with arguments of the same metadata is rebuilt from the node memo
(``graph.node_memo``) instead of running.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from costmodel.cache import KeyedStore
from costmodel.graph.dispatch import Recorder, flat_specs, spec_of
from costmodel.graph.node_memo import NODES, NodeEntry, layout, module_key, node_key
from costmodel.graph.source import call_site
from costmodel.graph.split import all_free, big_op_parts, part_name
from costmodel.graph.value_nodes import VALUE_NODES, builtin
from costmodel.graph.walk import Event, Structure, Walk, tensors_in
from costmodel.records import record
from costmodel.types import OpCall, SourceLocation, TensorSpec

__all__ = ["NodeNames", "RecordedNode", "RecordingWalk"]

_UNSEEN = object()
#: ``_node_key``'s answer for a torch call on real tensors alone (``_value_node``).
_ON_VALUES = object()


def _copied(value: Any) -> Any:
    """A value with its tensors (also in lists, tuples and dicts) cloned."""
    if isinstance(value, torch.Tensor):
        return value.clone()
    if type(value) in (list, tuple):
        return type(value)(_copied(item) for item in value)
    if type(value) is dict:
        return {key: _copied(item) for key, item in value.items()}
    return value


@record
class RecordedNode:
    """What one node did: where it ran, the tensors it took and gave, and the ATen ops it dispatched."""

    name: str
    op: str  # call_module (a layer's call), call_function or call_method (a container's torch call)
    target: str  # the layer's class name, ``cat``, ``.view``
    module_path: str  # the layer's path, or that of the container making the call
    module_type: str
    inputs: tuple[str, ...]  # the nodes and model inputs whose tensors it reads
    input_specs: tuple[TensorSpec, ...]
    output_specs: tuple[TensorSpec, ...]
    calls: tuple[OpCall, ...]
    #: The parameters it uses: a layer's own, and any read as arguments.
    parameters: tuple[nn.Parameter, ...] = ()
    location: SourceLocation | None = None
    #: Bytes of outputs in new memory (views and in-place results are not).
    output_bytes: int = 0


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


#: Tuples of shared records (a node's recorded calls, its specs) by the identity of their items -> one tuple object,
#: so that a node met again whose ops ran anew (on values, a layer with hooks) is priced from the stores keyed by
#: that tuple. A kept tuple holds its items, so no other object can take their ids while it is kept.
_TUPLES: KeyedStore[tuple[int, ...], tuple[Any, ...]] = KeyedStore(
    "graph.shared_tuples", "ids of shared records -> the one tuple of them", limit=1 << 14
)


_TUPLE_ENTRIES = _TUPLES.entries  # read directly (three lookups a node), the counts kept here


def _shared(items: Iterable[Any]) -> tuple[Any, ...]:
    """``tuple(items)``, the same tuple object each time these very objects come in this order."""
    items = tuple(items)
    key = tuple(map(id, items))
    found = _TUPLE_ENTRIES.get(key)
    if found is None:
        _TUPLES.misses += 1
        return _TUPLES.put(key, items)
    _TUPLES.hits += 1
    return found


class NodeNames:
    """Unique node names: a stem the first time, then ``stem_1``, ``stem_2``, ... (as torch.fx names nodes)."""

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

#: Frames from ``RecordingWalk._after_node`` up to the walk's own entry points (``_row``, ``_module``/``_function``, the
#: replaced ``__call__`` or the mode): ``call_site`` starts past them and walks on past torch's frames.
_NODE_DEPTH = 4


class RecordingWalk(Walk):
    """The walk whose nodes record their ATen calls into ``RecordedNode``s.

    Tensors are tied to the node (or model input) that made them by identity, weakly, so
    each node names the nodes it reads: the report is the model's data-flow graph.
    """

    def __init__(
        self,
        model: nn.Module,
        structure: Structure,
        recorder: Recorder,
        parameters: dict[int, nn.Parameter],
        inputs: dict[str, torch.Tensor],
    ) -> None:
        super().__init__(model, structure)
        self.recorder = recorder
        self.parameters = parameters
        self.records: list[RecordedNode] = []
        #: Event ordinal -> (node name, the event's own stem): where a later run of the same model meets each node.
        self.ordinals: dict[int, tuple[str, str]] = {}
        self.names = NodeNames(inputs)
        self.makers: dict[int, tuple[weakref.ref[torch.Tensor], str]] = {}
        for name, tensor in inputs.items():
            self.makers[id(tensor)] = (weakref.ref(tensor), name)
        self.loose: list[OpCall] = []
        recorder.calls = self.loose
        #: Torch calls that made views only, waiting to join the next torch call of their container.
        self.pending: list[_Pending] = []
        #: id(layer) -> its ``module_key`` (``None``: its nodes are not memoised), read once a walk.
        self.module_keys: dict[int, Any] = {}

    def node(self, event: Event, run: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        given = tensors_in(args) if not kwargs else tensors_in((args, kwargs))
        key = self._node_key(event, run, args, kwargs, given)
        if key is None:
            result, calls = self._run_node(event, run, args, kwargs)
            return self._after_node(event, result, calls, given, None)
        if key is _ON_VALUES:
            return self._value_node(event, run, args, kwargs, given)
        entry = NODES.get(key)
        if entry is not None:
            metas = self._metas(given) if entry.aliases else None
            with torch._C._DisableTorchDispatch():  # rebuilt outputs: not ops of the model
                result = entry.outputs(metas)
            return self._after_node(event, result, entry.calls, given, entry)
        metas = self._metas(given)
        before = [layout(m) for m in metas]
        on_values = self.recorder.on_values_count
        result, calls = self._run_node(event, run, args, kwargs)
        if self.recorder.on_values_count != on_values:  # values were read: the node is not its metadata's alone
            NODES.bypass("read tensor values")
            return self._after_node(event, result, calls, given, None)
        if event.op == "call_module" and module_key(event.module) != self.module_keys[id(event.module)]:
            self.module_keys[id(event.module)] = None  # the call changed the layer's state: never kept this walk
            NODES.bypass("changed its layer's state")
            return self._after_node(event, result, calls, given, None)
        fresh = _fresh_bytes(tensors_in(result), given)
        shared = _shared(calls)  # the entry's calls and the record's one tuple (prices are kept by its identity)
        entry = NODES.keep(key, result, given, metas, before, shared, fresh)
        return self._after_node(event, result, shared, given, entry)

    def _metas(self, given: list[torch.Tensor]) -> list[torch.Tensor]:
        """The node's tensor arguments as its ops see them: weights as their meta stand-ins (made here, if they
        are not yet, with the recorder off: not ops of the model)."""
        if all(t.is_meta for t in given):
            return given
        with torch._C._DisableTorchDispatch():
            return [t if t.is_meta else self.recorder.to_meta(t) for t in given]

    def _node_key(
        self,
        event: Event,
        run: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        given: list[torch.Tensor],
    ) -> Any:
        """The node memo's key for this node, or ``None`` where the node must run: a module formula, a split call, a
        run on values, or a layer whose state has no hashable stand-in. Arguments holding real values (a mask,
        token ids) are named in the key: a node is kept only if none of its ops read them (``node``)."""
        if event.formula or event.split or event.hooked or self.recorder.on_values:
            NODES.bypass(
                "module formula" if event.formula
                else "split call" if event.split
                else "layer with hooks" if event.hooked
                else "run on values"
            )  # fmt: skip
            return None
        weights = self.recorder.weights
        real = tuple([i for i, t in enumerate(given) if not t.is_meta and id(t) not in weights])
        if real and len(real) == len(given) and event.op != "call_module":
            # a torch call on real tensors alone (index arithmetic on an edge list, a mask): its ops run on the
            # values and read them, so it is never kept here (``_value_node``)
            NODES.bypass("every argument holds values")
            return _ON_VALUES
        if event.op == "call_module":
            found = self.module_keys.get(id(event.module), _UNSEEN)
            if found is _UNSEEN:
                found = self.module_keys[id(event.module)] = module_key(event.module)
            if found is None:
                NODES.bypass("layer not memoised (user's class or unkeyable state)")
                return None
            key = node_key(found, args, kwargs)
        else:
            key = node_key(run, args, kwargs)  # the function itself: the key keeps it, so no other takes its id
        if key is None:
            NODES.bypass("unhashable argument")
        return (key, real) if real and key is not None else key

    def _value_node(
        self, event: Event, run: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], given: list[Any]
    ) -> Any:
        """A torch call on real tensors alone: it runs on the values, its ATen calls from the value-node memo
        (``graph.value_nodes``) where this signature was recorded before and follows from metadata."""
        key = node_key(run, args, kwargs) if builtin(run) else None
        if key is None:
            VALUE_NODES.bypass("not a builtin, or an unhashable argument")
            result, calls = self._run_node(event, run, args, kwargs)
            return self._after_node(event, result, calls, given, None)
        kept = VALUE_NODES.get(key)
        if kept:
            calls, specs = kept
            with torch._C._DisableTorchDispatch():  # its ops straight to their kernels: they were recorded
                result = run(*args, **kwargs)
            if flat_specs(result) == specs:
                return self._after_node(event, result, calls, given, None)
            VALUE_NODES.refuse(key)  # its outputs differ: its calls depend on values after all
            with torch._C._DisableTorchDispatch():
                args, kwargs = _copied(args), _copied(kwargs)
            _, calls = self._run_node(event, run, args, kwargs)  # recorded anew, on copies: it ran already
            return self._after_node(event, result, calls, given, None)
        recorder = self.recorder
        on_values, moved = recorder.on_values_count, recorder.moved_count
        result, ran = self._run_node(event, run, args, kwargs)
        calls = _shared(ran)  # the kept calls and the record's one tuple
        if kept is None:  # its first meeting: every op ran on values, as asked, or it is refused
            as_asked = recorder.on_values_count - on_values == len(calls) and recorder.moved_count == moved
            VALUE_NODES.keep(key, calls, result, as_asked)
        return self._after_node(event, result, calls, given, None)

    def _run_node(
        self, event: Event, run: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Any, list[OpCall]]:
        calls: list[OpCall] = []
        self.recorder.calls = calls
        try:
            if event.formula:  # a module formula costs the whole layer: its ops are not recorded
                self.recorder.calls = []
                result = run(*args, **kwargs)
                calls.append(OpCall.of_layer(event.module, tuple(spec_of(a) for a in args), flat_specs(result)))
            else:
                result = run(*args, **kwargs)
        finally:
            self.recorder.calls = self.loose
        return result, calls

    def _after_node(
        self,
        event: Event,
        result: Any,
        calls: list[OpCall] | tuple[OpCall, ...],
        given: list[torch.Tensor],
        entry: NodeEntry | None,
    ) -> Any:
        """File a node that ran (or came from the node memo, ``entry``): views wait for the next call."""
        if not calls and event.op != "call_module":  # a torch call that ran no op (x.shape, x.dim()) is no node
            return result
        made = tensors_in(result)
        function = event.op != "call_module"
        pending = self.pending
        if pending and (not function or pending[0][0].path != event.path):
            self._flush_views()
            pending = self.pending
        if function and not event.split and all_free(calls):
            # views only: they join the next torch call here (their line taken now, should they stay a node)
            pending.append((event, list(calls), given, made, call_site(_NODE_DEPTH)))
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
        parts = big_op_parts(list(calls)) if event.split else [calls]
        self._keep(event, parts, given, made, call_site(_NODE_DEPTH), ordinals, views, entry)
        return result

    def _flush_views(self) -> None:
        """Views with no torch call after them in their container: nodes of their own."""
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
        entry: NodeEntry | None = None,
    ) -> None:
        """One record per part (one part but for a call split by its big ops, whose parts read one another);
        ``ordinals`` are those of the views it took in, met again as this node, and ``views`` what they made
        (read later as made by this node). ``entry``: the node memo's entry, whose specs are the node's."""
        makers, parameters = self.makers, self.parameters
        inputs: list[str] = []
        used: list[nn.Parameter] = []
        if event.op == "call_module":
            module = event.module
            used += [p for p in module._parameters.values() if p is not None]
            if "parametrizations" in module._modules:  # a parametrized layer: its weights' originals
                used += list(module._modules["parametrizations"].parameters())
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
            input_specs = _shared([TensorSpec.of(t) for t in given])
            output_specs = _shared([TensorSpec.of(t) for t in made])
            output_bytes = _fresh_bytes(made, given)
        records, names, single = self.records, self.names, len(parts) == 1
        for index, calls in enumerate(parts):
            last = index == len(parts) - 1
            name = names.make(
                event.stem if single else f"{event.path.replace('.', '_') or event.stem}_{part_name(calls)}"
            )
            if index == 0:  # a later run times a split call as a whole, on its first node
                self.ordinals[event.ordinal] = (name, event.stem)
                for ordinal, view_stem in ordinals:
                    self.ordinals[ordinal] = (name, view_stem)
            records.append(  # by position: the walk makes one a node
                RecordedNode(
                    name, event.op, event.target, event.path, type(event.module).__name__, tuple(inputs), input_specs,
                    output_specs if last else calls[-1].outputs, _shared(calls),
                    tuple(used) if index == 0 else (), location,
                    output_bytes if last else sum(spec.nbytes for spec in calls[-1].outputs),
                )
            )  # fmt: skip
            if not last:
                inputs, input_specs = [name], calls[-1].outputs
        for tensor in views:
            makers[id(tensor)] = (weakref.ref(tensor), name)
        for tensor in made:
            makers[id(tensor)] = (weakref.ref(tensor), name)

    def between_nodes(self) -> None:
        """Views left at a container's end become nodes. Ops that ran outside every node (a container calling
        ``torch.ops`` with torch functions off): nodes of the container, named after their first op; never dropped."""
        if not self.pending and not self.loose:  # the common case: nothing waits
            return
        path = self.containers[-1][0] if self.containers else None
        flush = bool(self.pending) and self.pending[0][0].path != path
        if flush or self.loose:
            with torch._C.DisableTorchFunction():  # our own bookkeeping: never an event of the walk
                if flush:
                    self._flush_views()
                if self.loose:
                    self._loose_node()

    def _loose_node(self) -> None:
        calls, self.loose = self.loose, []
        self.recorder.calls = self.loose
        path, container = self.containers[-1] if self.containers else ("", self.model)
        stem = calls[0].name
        name = self.names.make(stem)
        specs = tuple(spec for call in calls for spec in call.outputs)
        self.records.append(
            RecordedNode(
                name=name,
                op="call_function",
                target=stem,
                module_path=path,
                module_type=type(container).__name__,
                inputs=(),
                input_specs=(),
                output_specs=specs[-1:],
                calls=tuple(calls),
            )
        )
