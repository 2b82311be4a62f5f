"""Running a traced graph node by node, and running a user's model without changing it.

``interpret`` is the one graph walk: the meta-tensor recording and the per-node
timing are both a ``step`` handed to it. ``inference`` puts a model in eval mode
with autograd off and restores every module's own flag afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import torch
from torch import fx, nn

from costmodel.errors import UnsupportedInput
from costmodel.graph.trace import TracedModel

__all__ = ["bind_inputs", "fetch", "inference", "interpret", "run_node"]


@contextlib.contextmanager
def inference(model: nn.Module, modules: Iterable[nn.Module] | None = None) -> Iterator[None]:
    """Every submodule in eval mode and autograd off; each module's own flag restored afterwards.

    A model already in eval mode throughout is left alone (``eval()`` would set every flag it already has).
    ``modules`` are the model's modules where the caller has them already.
    """
    training = [m for m in (model.modules() if modules is None else modules) if m.training]
    if training:
        model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for m in training:
            m.training = True


def fetch(root: nn.Module, path: str) -> Any:
    """The attribute at dotted ``path`` below ``root`` (``root`` itself for ``ROOT``)."""
    obj: Any = root
    for part in path.split(".") if path else ():
        obj = getattr(obj, part)
    return obj


def bind_inputs(traced: TracedModel, inputs: Sequence[Any], names: Sequence[str | None] = ()) -> dict[fx.Node, Any]:
    """Values for the graph's placeholders: positional inputs in order, keyword inputs by name, then defaults.

    ``names`` holds each input's keyword (``None``: positional); empty means all positional.

    Raises:
        UnsupportedInput: More inputs than ``forward`` takes, an unknown keyword, or a required one missing.
    """
    placeholders = [n for n in traced.graph.nodes if n.op == "placeholder"]
    parameters = list(traced.parameters) or [str(n.target) for n in placeholders]
    model = type(traced.root).__name__
    names = list(names) or [None] * len(inputs)
    env: dict[fx.Node, Any] = {}
    position = 0
    for value, name in zip(inputs, names, strict=True):
        if name is None:
            if position >= len(placeholders):
                count = sum(n is None for n in names)
                raise UnsupportedInput(f"{model}.forward takes {len(placeholders)} input(s), got {count}")
            env[placeholders[position]] = value
            position += 1
        elif name in parameters:
            env[placeholders[parameters.index(name)]] = value
        else:
            raise UnsupportedInput(f"{model}.forward has no parameter '{name}' (it takes {', '.join(parameters)})")
    for node, parameter in zip(placeholders, parameters, strict=False):
        if node in env:
            continue
        if node.args:
            env[node] = node.args[0]
        else:
            raise UnsupportedInput(
                f"{model}.forward needs input '{parameter}', but only {len(inputs)} input(s) were given"
            )
    return env


def interpret(
    traced: TracedModel,
    inputs: Sequence[Any],
    step: Callable[[fx.Node, tuple[Any, ...], dict[str, Any]], Any],
    names: Sequence[str | None] = (),
) -> None:
    """Walk the graph in order: ``step(node, args, kwargs)`` computes each node's value from its inputs'.

    Placeholders take ``inputs`` (see ``bind_inputs``); the output node is not visited.
    """
    env = bind_inputs(traced, inputs, names)
    for node in traced.graph.nodes:
        if node.op in ("placeholder", "output"):
            continue
        env[node] = step(
            node, fx.node.map_arg(node.args, env.__getitem__), fx.node.map_arg(node.kwargs, env.__getitem__)
        )


def run_node(root: nn.Module, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run one graph node's operation; a layer's ``forward`` is called directly (no hooks, as in fx)."""
    if node.op == "call_function":
        return node.target(*args, **kwargs)
    if node.op == "call_method":
        self_obj, *rest = args
        return getattr(self_obj, node.target)(*rest, **kwargs)
    if node.op == "call_module":
        return fetch(root, node.target).forward(*args, **kwargs)
    if node.op == "get_attr":
        return fetch(root, node.target)
    raise ValueError(f"run_node cannot run a {node.op} node ({node.format_node()})")
