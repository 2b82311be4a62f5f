"""Model -> costed graph: run the model once, eagerly, on meta tensors, recording every ATen op per node; price each.

``cost_graph`` is this layer's one entry point; ``costmodel.analysis`` builds the
report on top of it, and ``costmodel.device.measure`` times the same nodes (``walk``).
"""

from __future__ import annotations

import contextlib
import gc
import warnings
from collections.abc import Iterator

from torch import nn

from costmodel.errors import UnsupportedInput, UnsupportedOpWarning
from costmodel.graph.price import annotate
from costmodel.graph.record import Recording, record
from costmodel.graph.source import class_site, definition_site
from costmodel.graph.walk import Structure
from costmodel.types import CostedGraph, ModelInputs, SourceLocation
from costmodel.views import completeness

__all__ = ["Recording", "cost_graph", "gc_paused"]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Cyclic garbage collection off for the block (the walk makes many short-lived records; collecting
    them mid-walk only slows it), back on after if it was on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def cost_graph(model: nn.Module, inputs: ModelInputs, name: str) -> tuple[CostedGraph, Recording]:
    """Run ``model`` on meta tensors of ``inputs`` (on example values where values decide) and cost every node.

    Returns:
        The costed graph and the recording it was made from (each node's event ordinal: where a later run
        of the model meets it).

    Raises:
        UnsupportedInput: The model has no operations, or the inputs do not fit ``forward``.
        ShapeError: The input does not fit a layer (the message names it).
        TraceError: ``forward`` raised something other than a shape error.
        ValueDependent: Values decide a branch, and the weights are on the meta device.
    """
    with gc_paused():  # the walk makes many short-lived records; collection only slows it
        structure = Structure.of(model)
        recording = record(model, inputs, structure)
        definitions: dict[str, SourceLocation | None] = {}  # path -> the line that built it, read once

        def definition(path: str) -> SourceLocation | None:
            if path not in definitions:
                definitions[path] = definition_site(model, path)
            return definitions[path]

        priced = annotate(recording.records, structure, definition)
    if not priced.nodes:
        raise UnsupportedInput(f"model {name} has no operations to cost (empty model)")
    classes = {path: type(m) for path, m in structure.modules}
    graph = CostedGraph(
        model=name,
        input_shapes=inputs.shapes,
        nodes=priced.nodes,
        unsupported=priced.unsupported,
        unused_parameters=priced.unused_parameters,
        notes=priced.notes,
        module_types={path: cls.__name__ for path, cls in classes.items()},
        module_sites={path: site for path, cls in classes.items() if (site := class_site(cls))},
        module_definitions={
            path: site for path, cls in classes.items() if path and class_site(cls) and (site := definition(path))
        },
        input_names=recording.input_names,
        input_bytes=sum(spec.nbytes for spec in inputs.specs),
        on_values=recording.on_values,
        output_names=recording.output_names,
    )
    if graph.unsupported:
        listed = ", ".join(f"{op} ({count}x)" for op, count in sorted(graph.unsupported.items()))
        missing = completeness(graph)
        bound = (
            f"; FLOPs is a lower bound: {', '.join(missing.matrix_like)} look like matrix work"
            if missing.matrix_like
            else f"; FLOPs is a lower bound: they move {missing.mac_share:.0%} of the memory access"
            if missing.lower_bound
            else ""
        )
        warnings.warn(
            f"{name}: no cost formula for {listed}; their FLOPs are not counted{bound} "
            "(see Report.unsupported, or register one with costmodel.register_cost)",
            UnsupportedOpWarning,
            stacklevel=3,
        )
    return graph, recording
