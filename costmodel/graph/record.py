"""Run a model once on meta tensors and record, per node, every ATen op it dispatches.

Nothing is computed: inputs and weights become meta tensors that carry only shape
and dtype (meta-device models work the same way), so a model too large for memory
can still be analysed. The nodes are those of ``costmodel.graph.walk``: each layer
call, and each torch call a container makes. The model runs in inference mode (its
``training`` flags are restored afterwards) and hooks are not called (as in fx).

Where a branch depends on tensor values (``if x.sum() > 0``, a padding mask checked
with ``.all()``), meta tensors cannot run it: the model then runs once on example
values with its real weights, every op still recorded. A failure raises a one-line
error naming the layer or op it happened in and the shapes it was given.

The pieces: the dispatch mode (``graph.dispatch``), the recording walk
(``graph.recording_walk``), error translation (``graph.failures``) and the backend switches
(``graph.switches``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from costmodel.cache import WeakStore
from costmodel.errors import ShapeError, TraceError, UnsupportedInput, ValueDependent
from costmodel.graph.dispatch import Recorder
from costmodel.graph.inputs import example_tensors, input_names, walk_inputs
from costmodel.graph.recording_walk import RecordedNode, RecordingWalk
from costmodel.graph.switches import no_fast_path, no_onednn, recurrent_weights_on_meta
from costmodel.graph.walk import Structure, inference, tensors_in
from costmodel.records import record
from costmodel.types import FrozenMap, ModelInputs

__all__ = ["RecordedNode", "Recording", "record"]


@record
class Recording:
    """The nodes of one run, where it had to run on example values (``None``: shapes were enough), the names the
    model's inputs go by, the nodes that made its outputs, and for each event ordinal the node it belongs to and
    the event's own stem (where a later run meets each node, and a check that it meets the same call there)."""

    records: list[RecordedNode]
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
    if key is None:
        _NEEDED_VALUES.bypass("unhashable constant")
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
        found = _NEEDED_VALUES.get(model)
        (found if found is not None else _NEEDED_VALUES.put(model, {}))[key] = where
    return recording


#: Model -> {inputs' specs and keywords -> the part that needed values}: a model called the same way again
#: goes straight to its run on values (the meta run would stop at the same branch). Weakly keyed: a model
#: is not kept alive by it.
_NEEDED_VALUES: WeakStore[nn.Module, dict[Any, str]] = WeakStore(
    "graph.needed_values", "model -> {its inputs -> the part that needed values}"
)


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
    recorder = Recorder(on_values, weights)
    if on_values:
        tensors = example_tensors(inputs, device or torch.device("cpu"), model=model)
    else:
        tensors = walk_inputs(inputs, model)
    walk = RecordingWalk(model, structure, recorder, parameters, dict(zip(names, tensors, strict=True)))
    positional, keyword = inputs.split(tensors)
    every = [module for _, module in structure.modules]
    switches = no_onednn() if on_values else recurrent_weights_on_meta(every)
    try:
        with inference(model, every), no_fast_path(), switches, recorder:
            result = walk.run(positional, keyword)
    except (UnsupportedInput, ShapeError, TraceError, ValueDependent):
        raise
    except Exception as error:
        from costmodel.graph.failures import describe_shapes, translate  # read only when a model fails

        failed = walk.failed
        if failed is None:
            raise translate(f"model {type(model).__name__}", None, describe_shapes(tensors), error) from error
        described, module, given = failed
        raise translate(described, module, describe_shapes(given), error) from error
    made = {id(t): name for t in tensors_in(result) if (found := walk.makers.get(id(t))) and (name := found[1])}
    outputs = tuple(dict.fromkeys(made.values()))
    return Recording(walk.records, names, outputs, FrozenMap(walk.ordinals), where)
