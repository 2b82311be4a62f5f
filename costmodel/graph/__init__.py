"""Model -> costed graph: run the model once, eagerly, on meta tensors, recording every ATen op per node; price each.

``cost_graph`` is this layer's one entry point; ``costmodel.analysis`` builds the
report on top of it, and ``costmodel.device.measure`` times the same nodes (``walk``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import warnings
from collections.abc import Iterator
from typing import Any

from torch import nn

from costmodel.errors import UnsupportedInput, UnsupportedOpWarning
from costmodel.graph.price import annotate
from costmodel.graph.record import Recording, record
from costmodel.graph.source import class_site, definition_site
from costmodel.graph.walk import Structure
from costmodel.types import CostedGraph, ModelInputs, SourceLocation

__all__ = [
    "Recording",
    "cost_exported",
    "cost_graph",
    "cost_symbolic",
    "gc_paused",
    "graph_at",
    "graph_of",
    "is_exported_program",
    "warn_unsupported",
]


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

        priced = annotate(recording.records, structure.parameters, definition)
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
    warn_unsupported(graph)
    return graph, recording


def is_exported_program(value: Any) -> bool:
    """Whether ``value`` is a ``torch.export.ExportedProgram`` (without importing ``torch.export`` or the reader
    of exported programs)."""
    kind = type(value)
    return kind.__name__ == "ExportedProgram" and kind.__module__.startswith("torch.export")


def cost_exported(program: Any, name: str) -> CostedGraph:
    """Cost a ``torch.export.ExportedProgram`` from its graph alone: nothing runs, no input is needed
    (``costmodel.graph.exported``).

    Raises:
        UnsupportedInput: The program has no operations.
    """
    from costmodel.graph.exported import read_exported  # torch.export only for exported programs

    with gc_paused():
        return graph_of(read_exported(program), name)


def cost_symbolic(model: nn.Module, input_shape: Any, name: str) -> CostedGraph:
    """Cost ``model`` with its named input sizes as symbols: every cost a sympy formula of them
    (``costmodel.graph.symbolic``).

    Raises:
        TraceError: torch.export could not trace the model.
        UnsupportedInput: The model fixes a named size, or ties two names together.
    """
    from costmodel.graph.symbolic import SymbolicSource, read_symbolic  # sympy and torch.export: only here

    with gc_paused():
        read, names, notes = read_symbolic(model, input_shape, name)
        graph = graph_of(read, name, notes)
    return dataclasses.replace(graph, symbols=names, symbolic_source=SymbolicSource(read, names))


def graph_at(graph: CostedGraph, sizes: dict[str, int]) -> CostedGraph:
    """A symbolic graph counted again at numeric sizes (``Report.at``): every op priced at those sizes."""
    from costmodel.graph.symbolic import size_symbol, substitute

    missing = [s for s in graph.symbols if s not in sizes]
    unknown = [s for s in sizes if s not in graph.symbols]
    if missing or unknown or graph.symbolic_source is None:
        raise UnsupportedInput(
            f"at() takes every size of {graph.model} by name ({', '.join(graph.symbols) or 'none'}); "
            + (f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(unknown)}")
        )
    values = {size_symbol(k): int(v) for k, v in sizes.items()}
    read = graph.symbolic_source.read
    numeric = dataclasses.replace(
        read,
        records=substitute(read.records, values),
        input_specs=substitute(read.input_specs, values),
    )
    return graph_of(numeric, graph.model)


def graph_of(read: Any, name: str, notes: tuple[str, ...] = ()) -> CostedGraph:
    """The costed graph of a program's nodes (``costmodel.graph.exported.ExportedGraph``)."""
    priced = annotate(read.records, read.parameters, lambda path: None)
    if not priced.nodes:
        raise UnsupportedInput(f"exported program {name} has no operations to cost")
    graph = CostedGraph(
        model=name,
        input_shapes=tuple(spec.shape for spec in read.input_specs),
        nodes=priced.nodes,
        unsupported=priced.unsupported,
        unused_parameters=priced.unused_parameters,
        notes=(*notes, *priced.notes),
        module_types=read.module_types,
        module_sites=read.module_sites,
        input_names=read.input_names,
        input_bytes=sum(spec.nbytes for spec in read.input_specs),
        output_names=read.output_names,
    )
    warn_unsupported(graph)
    return graph


def warn_unsupported(graph: CostedGraph) -> None:
    """Say, as an ``UnsupportedOpWarning``, which ops of ``graph`` have no formula and whether FLOPs is a lower
    bound because of them (nothing when every op has one)."""
    if not graph.unsupported:
        return
    from costmodel.views.completeness import completeness  # only for a graph with unsupported ops

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
        f"{graph.model}: no cost formula for {listed}; their FLOPs are not counted{bound} "
        "(see Report.unsupported, or register one with costmodel.register_cost)",
        UnsupportedOpWarning,
        stacklevel=4,
    )
