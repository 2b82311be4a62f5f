"""A costed graph as a ``torch.fx.GraphModule``: one fx node per report node, the report's data flow as the fx
edges, the costs in each node's ``meta``.

Every fx node carries ``meta["cost"]`` (its ``NodeCost``) and, where the report has them, ``meta["predicted_ms"]``
and ``meta["time_ms"]``; ``meta["output_shapes"]`` holds its outputs' shapes. A layer's node is a
``call_module`` of its path, any other a ``call_function``: of its ATen op where it ran one, else of
``node_ops``, a stand-in that names the ops in its cost. The graph is for reading (fx passes, drawing with
``torch.fx.passes.graph_drawer.FxGraphDrawer``), not for running: layers given no model are empty stand-ins.
"""

from __future__ import annotations

from typing import Any

from torch import fx, nn

from costmodel.types import CostedGraph, NodeCost

__all__ = ["node_ops", "to_fx"]


def node_ops(*args: Any, **kwargs: Any) -> Any:
    """Stands for a report node's several ATen calls (``meta["cost"].ops``); not runnable."""
    raise RuntimeError("a costmodel node of several ops is for reading: see its meta['cost'].ops")


def _target(node: NodeCost) -> Any:
    if len(node.ops) == 1 and callable(node.ops[0].call.target):
        return node.ops[0].call.target
    return node_ops


def _layer(model: nn.Module | None, path: str) -> nn.Module:
    """The model's layer at ``path``, else an empty stand-in (the model itself is never changed)."""
    if model is not None:
        try:
            return model.get_submodule(path)
        except AttributeError:
            pass
    return nn.Module()


def to_fx(graph: CostedGraph, model: nn.Module | None = None) -> fx.GraphModule:
    """The costed graph as an fx ``GraphModule`` (see the module docstring); ``model`` roots its layers."""
    layers: dict[str, Any] = {}
    out = fx.Graph()
    env: dict[str, fx.Node] = {}
    for name, shape in zip(graph.input_names, graph.input_shapes, strict=False):
        env[name] = out.placeholder(name)
        env[name].meta["output_shapes"] = (shape,)
    for node in graph.nodes:
        args = tuple(env[name] for name in node.inputs if name in env)
        if node.op == "call_module" and node.module_path:
            layers.setdefault(node.module_path, _layer(model, node.module_path))
            made = out.create_node("call_module", node.module_path, args, name=node.name)
        else:
            made = out.create_node("call_function", _target(node), args, name=node.name)
        made.meta["cost"] = node
        made.meta["output_shapes"] = node.output_shapes
        for column, value in node.extras.items():
            made.meta[column] = value
        env[node.name] = made
    returned = [env[name] for name in graph.output_names if name in env]
    out.output(returned[0] if len(returned) == 1 else tuple(returned))
    return fx.GraphModule(layers, out, class_name=_identifier(graph.model))


def _identifier(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    return cleaned if cleaned[:1].isalpha() else f"Model_{cleaned}"
