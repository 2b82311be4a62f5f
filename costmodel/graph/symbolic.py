"""Costs as formulas of the input's sizes: ``report(model, ("B", 3, "H", "W"))``.

A size given as a name is symbolic. The model is exported once (``torch.export`` with those sizes dynamic,
its graph traced on example sizes: a distinct one per name), every node's shapes come out as sympy expressions
of the names (``floor((H - 1)/2) + 1`` after a stride-2 conv), and the same cost formulas that count numbers
count them. The export's own assumptions (``H >= 33``: a size where the network's last map is still larger than
one) become notes. Where the model fixes a named size (a branch on it, a reshape to a constant) or ties two
names together, it is said, naming the size and the value.

``at(graph, B=1, H=224, W=224)`` substitutes sizes into every recorded op and prices them again: the numeric
costed graph, exactly what a numeric report at those sizes counts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sympy
import torch
from torch import nn

from costmodel.errors import TraceError, UnsupportedInput
from costmodel.graph.exported import ExportedGraph, quiet_export, read_exported
from costmodel.graph.inputs import example_tensors, input_names, input_shapes, normalize_inputs, symbol_names
from costmodel.graph.recording_walk import RecordedNode
from costmodel.graph.walk import inference
from costmodel.records import record
from costmodel.types import FrozenMap, OpCall, TensorSpec

__all__ = ["SymbolicSource", "read_symbolic", "size_symbol", "substitute"]

#: The example size of the k-th name is ``first + 2k`` for the first of these that traces: distinct (export
#: would take equal example sizes for one size), odd (a stride-2 floor is not exact), large enough that a 32x
#: downsampled map is still wider than one element, smaller where a model's tables (positions) are shorter.
_FIRST_EXAMPLES = (65, 33, 17)


@record
class SymbolicSource:
    """What a symbolic report was counted from, kept to count it again at given sizes (``Report.at``);
    ``recount`` (set by the pipeline) makes the numeric report of given sizes."""

    read: ExportedGraph
    symbols: tuple[str, ...]
    recount: Callable[[dict[str, int]], Any] | None = None


def size_symbol(name: str) -> sympy.Symbol:
    """The sympy symbol a named size goes by in the formulas: a positive integer."""
    return sympy.Symbol(name, integer=True, positive=True)


def _with_sizes(value: Any, sizes: Mapping[str, int]) -> Any:
    """The input description with each named size replaced by its example."""
    if isinstance(value, TensorSpec):
        return TensorSpec(tuple(sizes.get(d, d) if isinstance(d, str) else d for d in value.shape), value.dtype)
    if isinstance(value, Mapping):
        return {k: _with_sizes(v, sizes) for k, v in value.items()}
    if isinstance(value, list | tuple) and value and all(isinstance(d, int | str) for d in value):
        return tuple(sizes.get(d, d) if isinstance(d, str) else d for d in value)
    if isinstance(value, list | tuple):
        return type(value)(_with_sizes(v, sizes) for v in value)
    return value


def _dims(value: Any) -> list[dict[int, Any]]:
    """Per tensor input, in order: its named dimensions, dynamic for torch.export."""
    from torch.export import Dim

    return [{i: Dim.AUTO for i, d in enumerate(shape) if isinstance(d, str)} for shape in input_shapes(value)]


def read_symbolic(
    model: nn.Module, input_shape: Any, name: str
) -> tuple[ExportedGraph, tuple[str, ...], tuple[str, ...]]:
    """Export ``model`` with its named sizes dynamic and read its graph with sympy sizes: the graph, the names,
    and notes on the sizes the formulas hold for.

    Raises:
        TraceError: torch.export could not trace the model.
        UnsupportedInput: The model fixes a named size, or ties two names together.
    """
    names = symbol_names(input_shape)
    dims = _dims(input_shape)
    failure: Exception | None = None
    for first in _FIRST_EXAMPLES:  # large sizes first; a model whose tables are shorter gets smaller ones
        examples = {n: first + 2 * i for i, n in enumerate(names)}
        inputs = normalize_inputs(_with_sizes(input_shape, examples), model)
        tensors = example_tensors(inputs, torch.device("cpu"), model=model)
        positional, keyword = inputs.split(tensors)
        dynamic: dict[str, Any] = dict(zip(input_names(model, inputs), dims, strict=False))
        dynamic.update(dict.fromkeys(inputs.constants))
        try:
            with inference(model), quiet_export():
                program = torch.export.export(
                    model, tuple(positional), {**keyword, **inputs.constants}, dynamic_shapes=dynamic, strict=False
                )
            break
        except Exception as error:  # torch.export raises many kinds; the first line says what
            failure = error
    else:
        first_line = (str(failure).strip().splitlines() or [type(failure).__name__])[0]
        fixed = any(word in first_line for word in ("must match the size", "expand", "specialized", "Constraints"))
        raise (UnsupportedInput if fixed else TraceError)(
            f"model {name} "
            + (f"fixes a named size ({', '.join(names)}) to a constant, so it has no formula in it: "
               if fixed else f"could not be traced by torch.export with sizes {', '.join(names)}: ")
            + first_line
        ) from failure  # fmt: skip
    by_example = {v: k for k, v in examples.items()}
    rename: dict[sympy.Symbol, sympy.Symbol] = {}
    found: dict[str, list[Any]] = {n: [] for n in names}
    user = [n for n in program.graph.nodes if n.op == "placeholder" and n.name in program.graph_signature.user_inputs]
    for placeholder, named in zip(user, dims, strict=False):
        shape = placeholder.meta["val"].shape
        for index in named:
            size = shape[index]
            label = by_example.get(size.node.hint if isinstance(size, torch.SymInt) else int(size))
            if label is None:
                continue
            if isinstance(size, torch.SymInt) and isinstance(size.node.expr, sympy.Symbol):
                rename[size.node.expr] = size_symbol(label)
                found[label].append(size.node.expr)
            else:
                found[label].append(int(size) if not isinstance(size, torch.SymInt) else size.node.expr)
    for label, seen in found.items():
        fixed = [s for s in seen if not isinstance(s, sympy.Symbol)]
        if fixed:
            raise UnsupportedInput(
                f"model {name} fixes the size {label} to {fixed[0]} (a branch on it or a reshape to a constant): "
                f"it has no formula in {label}; give {label} as a number"
            )
    read = read_exported(program, rename)
    notes = tuple(dict.fromkeys(_ranges(program.range_constraints, rename)))
    return read, names, notes


def _ranges(constraints: Mapping[Any, Any], rename: Mapping[sympy.Symbol, sympy.Symbol]) -> Iterable[str]:
    """The export's assumptions on the named sizes, as notes (``formulas hold for H >= 33``)."""
    for symbol, bounds in constraints.items():
        if symbol not in rename:
            continue
        label = rename[symbol].name
        low, high = _finite(bounds.lower), _finite(bounds.upper)
        if high is None:
            yield f"the formulas hold for {label} >= {low} (the sizes torch.export traced them for)"
        else:
            yield f"the formulas hold for {low} <= {label} <= {high} (the sizes torch.export traced them for)"


def _finite(bound: Any) -> int | None:
    """A range bound as an int; ``None`` for an infinite one (torch's ``int_oo``)."""
    try:
        return int(bound)
    except (TypeError, ValueError, OverflowError, AttributeError):
        return None


def _number(value: Any, sizes: Mapping[sympy.Symbol, int]) -> Any:
    if isinstance(value, sympy.Basic):
        found = value.xreplace(sizes) if sizes else value
        if not isinstance(found, sympy.Basic):  # torch's floor division evaluates to a plain int
            return found
        found = sympy.simplify(found) if not found.is_number else found
        if not found.is_number:
            raise UnsupportedInput(f"sizes missing for {sorted(str(s) for s in found.free_symbols)}")
        return int(found) if found.is_integer or float(found).is_integer() else float(found)
    return value


def substitute(value: Any, sizes: Mapping[sympy.Symbol, int]) -> Any:
    """``value`` (specs, calls, records, nested) with every symbolic size replaced by its number."""
    if isinstance(value, sympy.Basic):
        return _number(value, sizes)
    if isinstance(value, TensorSpec):
        return TensorSpec(tuple(_number(d, sizes) for d in value.shape), value.dtype)
    if isinstance(value, OpCall):
        return OpCall(
            value.target,
            substitute(value.args, sizes),
            substitute(value.outputs, sizes),
            FrozenMap({k: substitute(v, sizes) for k, v in value.kwargs.items()}),
            value.layer,
        )
    if isinstance(value, RecordedNode):
        return dataclasses.replace(
            value,
            input_specs=substitute(value.input_specs, sizes),
            output_specs=substitute(value.output_specs, sizes),
            calls=substitute(value.calls, sizes),
            output_bytes=_number(value.output_bytes, sizes),
        )
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(substitute(v, sizes) for v in value)
    if isinstance(value, list):
        return [substitute(v, sizes) for v in value]
    return value
