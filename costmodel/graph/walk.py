"""One eager run of a model, met as nodes: each layer call, and each torch call a container makes.

The model runs as Python runs it, so any control flow works, with ``nn.Module.__call__``
replaced for the run (torch.fx replaces it the same way while it traces) and a
``TorchFunctionMode`` active:

* a call of a module with no child modules (a layer: ``Conv2d``, ``LSTM``, a user's
  ``ChannelShuffle``, GPT-2's ``Conv1D``), or of a class with a registered cost formula, is
  one node (``call_module``): what it runs inside belongs to it. The model itself is walked
  into unless it is one of torch's layers (a report of one node would say nothing);
* a module with children (a container: ``Sequential``, a ShuffleNet unit, a transformer
  layer) is walked into: each torch function or tensor method it calls (``torch.cat``,
  ``x.view``, ``F.relu6``, ``x + y``) is one node (``call_function`` / ``call_method``);
* a Python function that is a whole layer in disguise (``F.multi_head_attention_forward``)
  is one call, but its ATen calls are split into nodes by their big ops, so attention shows
  its projections and its core.

Forward pre-hooks and forward hooks run as ``nn.Module.__call__`` runs them (the global ones
too; backward hooks never: this is inference), so a library that collects outputs with hooks
(Hugging Face's ``capture_outputs``) gets them. They see the walk's tensors: meta tensors, or
example values where values decide. A hook that reads values makes the model run on example
values, as a branch on values does; a layer with hooks is never served from the node memo
(its hooks must run). Every event (a module call, a container's torch call) has an ordinal, so a later
run of the same model on the same inputs (``measure``'s node-by-node pass) meets the same
nodes in the same order. Subclasses say what a node does: ``record`` records its ATen calls,
``measure`` times it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

from costmodel.cache import KeyedStore
from costmodel.graph.hooks import Hooked, call_forward, has_hooks
from costmodel.ops import lookup
from costmodel.records import record

__all__ = ["PLAIN_TYPES", "Event", "Structure", "Walk", "inference", "is_layer", "one_line", "tensors_in"]

#: Python functions that are layers in disguise: their ATen calls split into nodes by their big ops (attention's
#: projections and core). Their own first line hands the call back to the mode, so they cannot be walked into.
_SPLIT_BY_BIG_OPS = frozenset({F.multi_head_attention_forward})

#: torch's containers: walked into even when empty.
_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)

#: Tensor methods that are Python operators (``x + y`` arrives as ``Tensor.add``): named as the operator,
#: a ``call_function``, whether written ``x + y`` or ``x.add(y)``.
_OPERATORS = frozenset(
    {
        "add", "sub", "mul", "div", "matmul", "pow", "neg", "abs", "getitem", "setitem", "truediv", "floordiv",
        "mod", "and", "or", "xor", "invert", "lshift", "rshift", "lt", "le", "gt", "ge", "eq", "ne",
        "iadd", "isub", "imul", "itruediv", "ifloordiv", "imatmul", "ipow", "iand", "ior", "ixor",
    }
)  # fmt: skip


@record
class Event:
    """One node as the walk meets it, before it runs.

    ``op`` is ``call_module`` (a layer's call), ``call_function`` or ``call_method`` (a
    container's torch call); ``target`` is what the node shows (the layer's class, ``cat``,
    ``.view``); ``stem`` is the node's name before it is made unique; ``path`` is the
    layer's path, or the path of the container that makes the torch call.
    """

    ordinal: int
    op: str
    target: str
    stem: str
    path: str
    module: nn.Module
    formula: bool = False
    #: The node's ATen calls are to be split into nodes by their big ops (see ``_SPLIT_BY_BIG_OPS``).
    split: bool = False
    #: The node is a module call with forward hooks or pre-hooks (its own or global): they run with it.
    hooked: bool = False


def tensors_in(value: Any) -> list[torch.Tensor]:
    """Every tensor in a (nested) value: lists, tuples and dict values, in order."""
    kind = type(value)
    if kind is torch.Tensor or kind is nn.Parameter:
        return [value]
    found: list[torch.Tensor] = []
    _collect(value, found)
    return found


#: Types that hold no tensor: passed over without an ``isinstance`` (this runs on every call of a walk).
PLAIN_TYPES = frozenset({int, float, bool, str, type(None), torch.dtype, torch.device, torch.Size, slice})


def _collect(value: Any, found: list[torch.Tensor]) -> None:
    kind = type(value)  # exact types first: the common cases cost no isinstance
    if kind is tuple or kind is list:
        items = value
    elif kind is dict:
        items = value.values()
    elif isinstance(value, torch.Tensor):
        found.append(value)
        return
    elif isinstance(value, list | tuple):
        items = value
    elif isinstance(value, dict):
        items = value.values()
    else:
        return
    for item in items:
        kind = type(item)
        if kind is torch.Tensor or kind is nn.Parameter:
            found.append(item)
        elif kind not in PLAIN_TYPES:
            _collect(item, found)


_PARAMETRIZATIONS = nn.ModuleDict  # what torch.nn.utils.parametrize keeps a layer's parametrizations in


def is_layer(module: nn.Module, root: bool = False) -> bool:
    """Whether a module's call is one node: its class has a cost formula, or it has no child modules (the
    model itself only if it is one of torch's layers: a user's childless model is walked into). The
    parametrizations of a parametrized layer (weight norm, spectral norm) are not children: they run
    inside its node, where it reads its weight."""
    if lookup(type(module)) is not None:
        return True
    children = module._modules
    childless = not children or all(
        child is None or (name == "parametrizations" and isinstance(child, _PARAMETRIZATIONS))
        for name, child in children.items()
    )
    if not root:
        return childless
    return childless and type(module).__module__.startswith("torch.") and not isinstance(module, _CONTAINERS)


@record
class Structure:
    """A model's modules and parameters, read in one walk of its hierarchy for one analysis.

    A module or parameter shared under two names goes by its first, as ``named_modules`` and
    ``named_parameters`` name them.
    """

    modules: tuple[tuple[str, nn.Module], ...]
    parameters: tuple[tuple[str, nn.Parameter], ...]
    #: ``id(module)`` -> its path (``""``: the model).
    paths: dict[int, str]
    buffers: tuple[tuple[str, torch.Tensor], ...] = ()

    @classmethod
    def of(cls, model: nn.Module) -> Structure:
        """The structure of ``model`` as it is now."""
        modules: list[tuple[str, nn.Module]] = []
        parameters: list[tuple[str, nn.Parameter]] = []
        buffers: list[tuple[str, torch.Tensor]] = []
        paths: dict[int, str] = {}
        seen: set[int] = set()
        for path, module in model.named_modules():
            paths[id(module)] = path
            modules.append((path, module))
            for found, kept in ((module._parameters, parameters), (module._buffers, buffers)):
                for name, tensor in found.items():
                    if tensor is not None and id(tensor) not in seen:
                        seen.add(id(tensor))
                        kept.append((f"{path}.{name}" if path else name, tensor))
        return cls(tuple(modules), tuple(parameters), paths, tuple(buffers))


@contextlib.contextmanager
def inference(model: nn.Module, modules: Iterable[nn.Module] | None = None) -> Iterator[None]:
    """Every submodule in eval mode and autograd off; each module's own flag restored afterwards.

    A model already in eval mode throughout is left alone (``eval()`` would set every flag it already has).
    ``modules`` are the model's modules where the caller has them already.
    """
    training = [m for m in (model.modules() if modules is None else modules) if m.training]
    if training:
        try:
            model.eval()
        except (NotImplementedError, RuntimeError):  # an exported program's module refuses eval(): the flags
            for m in training:
                m.training = False
    try:
        with torch.no_grad():
            yield
    finally:
        for m in training:
            m.training = True


_NAMES: KeyedStore[Any, tuple[str, str, str]] = KeyedStore(
    "graph.function_names", "torch function -> its (op, target, stem) names", 4096
)


def _function_name(func: Any) -> tuple[str, str, str]:
    """(op, target, stem) of a torch call: ``(call_method, .view, view)``, ``(call_function, cat, cat)``."""
    found = _NAMES.get(func)
    if found is not None:
        return found
    name = getattr(func, "__name__", None) or type(func).__name__
    if name == "__get__":  # a property: x.T, x.mT
        name = getattr(getattr(func, "__self__", None), "__name__", name)
    owner = getattr(func, "__qualname__", "").partition(".")[0]
    plain = name[2:-2] if name.startswith("__") and name.endswith("__") else name  # add_ stays add_
    operator_name = plain[1:] if plain.startswith("r") and plain[1:] in _OPERATORS else plain
    if owner in ("TensorBase", "Tensor") and operator_name in _OPERATORS:
        found = ("call_function", operator_name, operator_name)
    elif owner in ("TensorBase", "Tensor"):
        found = ("call_method", f".{plain}", plain)
    else:
        found = ("call_function", plain, plain)
    return _NAMES.put(func, found)


#: Tensor metadata that is read, never computed: reading it dispatches no op, so it is no event of the walk.
_METADATA = frozenset(
    getattr(torch._C.TensorBase, name)
    for name in ("shape", "dtype", "device", "ndim", "is_cuda", "is_meta", "requires_grad", "layout", "is_sparse")
)
_METHODS = frozenset(
    getattr(torch._C.TensorBase, name) for name in ("size", "dim", "numel", "stride", "is_floating_point", "__len__")
)


class _Mode(TorchFunctionMode):
    """Hands each torch call a container makes to the walk (metadata reads excepted: they run no op)."""

    def __init__(self, walk: Walk) -> None:
        super().__init__()
        self.walk = walk

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in _METHODS or getattr(func, "__self__", None) in _METADATA:
            return func(*args, **(kwargs or {}))
        return self.walk._function(func, args, kwargs or {})


#: The walk under way on this thread (none: the original ``__call__`` serves the call).
_ACTIVE = threading.local()
_ORIGINAL_CALL = nn.Module.__call__
#: Module class -> walks under way that replaced its ``__call__``: replaced while any is. Only the model's own
#: classes are touched (setting ``nn.Module.__call__`` itself would reset the attribute caches of every
#: module class loaded, hundreds with a model library, at a cost of a millisecond a walk).
_PATCHED: dict[type, int] = {}
_LOCK = threading.Lock()


def _patch(classes: Iterable[type]) -> list[type]:
    """Replace ``__call__`` on these module classes (not on one that defines its own); the classes replaced."""
    replaced = []
    with _LOCK:
        for cls in classes:
            count = _PATCHED.get(cls, 0)
            if not count:
                if "__call__" in cls.__dict__:  # a class's own __call__ is left alone
                    continue
                cls.__call__ = _call  # type: ignore[method-assign]
            _PATCHED[cls] = count + 1
            replaced.append(cls)
    return replaced


def _unpatch(classes: Iterable[type]) -> None:
    with _LOCK:
        for cls in classes:
            count = _PATCHED[cls] - 1
            if count:
                _PATCHED[cls] = count
            else:
                del _PATCHED[cls]
                del cls.__call__


def _call(module: nn.Module, *args: Any, **kwargs: Any) -> Any:
    """``nn.Module.__call__`` during a walk: the walk's module call on its thread, the original elsewhere."""
    walk: Walk | None = getattr(_ACTIVE, "walk", None)
    if walk is None:
        return _ORIGINAL_CALL(module, *args, **kwargs)
    return walk._module(module, args, kwargs)


class Walk:
    """Runs a model once with its nodes handed to ``node`` (see the module docstring).

    ``structure`` holds the model's modules and their paths. Subclasses implement ``node``; ``failed``
    describes where an exception was raised. A module the model does not hold (made in ``forward``) runs as
    plain Python inside the node or container that calls it.
    """

    def __init__(self, model: nn.Module, structure: Structure) -> None:
        self.model = model
        self.structure = structure
        self.paths = structure.paths
        self.ordinal = 0
        #: (path, module) of each container call under way, innermost last.
        self.containers: list[tuple[str, nn.Module]] = []
        self.in_node = False
        #: (what, module, arguments) of the innermost node or container an exception left, until a call returns.
        self.failed: tuple[str, nn.Module | None, Any] | None = None

    # -- what a subclass says ------------------------------------------------------------------------
    def node(self, event: Event, run: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run one node: ``run(*args, **kwargs)``. Torch function handling is off while it runs."""
        return run(*args, **kwargs)

    def between_nodes(self) -> None:
        """Called before each node, after each container call (at the caller's level), and at the end of the run
        (with no container under way)."""

    # -- the run -------------------------------------------------------------------------------------
    def run(self, args: Iterable[Any], kwargs: dict[str, Any]) -> Any:
        """Call the model on ``args`` and ``kwargs`` as its users call it, walking its nodes."""
        if getattr(_ACTIVE, "walk", None) is not None:
            raise RuntimeError("a costmodel walk is already under way on this thread")
        replaced = _patch(dict.fromkeys(type(module) for _, module in self.structure.modules))
        _ACTIVE.walk = self
        try:
            with _Mode(self):
                result = self.model(*args, **kwargs)
        finally:
            _ACTIVE.walk = None
            _unpatch(replaced)
        self.containers.clear()
        self.between_nodes()
        return result

    def _module(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.in_node:  # a module called inside a node: part of that node, hooks and all
            return call_forward(module, args, kwargs)
        path = self.paths.get(id(module))
        self.ordinal += 1
        hooked = has_hooks(module)
        run = Hooked(module) if hooked else module.forward
        if path is None:  # made on the fly in forward: a node of the container that calls it
            outer = self.containers[-1][0] if self.containers else ""
            name = type(module).__name__
            event = Event(self.ordinal, "call_function", name, name.lower(), outer, module, hooked=hooked)
            return self._node(event, run, args, kwargs)
        if is_layer(module, root=module is self.model):
            event = Event(
                self.ordinal,
                "call_module",
                type(module).__name__,
                path.replace(".", "_") or "model",
                path,
                module,
                formula=lookup(type(module)) is not None,
                hooked=hooked,
            )
            return self._node(event, run, args, kwargs)
        self.containers.append((path, module))
        try:
            result = run(*args, **kwargs)
        except Exception:
            if self.failed is None:
                self.failed = (_container_description(path, module), module, (args, kwargs))
            raise
        finally:
            self.containers.pop()
            self.between_nodes()
        self.failed = None
        return result

    def _function(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.in_node:  # our own bookkeeping, or a torch call made by a node: not a node
            return func(*args, **kwargs)
        self.ordinal += 1
        path, container = self.containers[-1] if self.containers else ("", self.model)
        op, target, stem = _function_name(func)
        event = Event(self.ordinal, op, target, stem, path, container, False, func in _SPLIT_BY_BIG_OPS)
        return self._node(event, func, args, kwargs)

    def _node(self, event: Event, run: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self.between_nodes()
        self.in_node = True
        try:
            with torch._C.DisableTorchFunction():
                result = self.node(event, run, args, kwargs)
        except Exception:
            if self.failed is None:
                self.failed = (_node_description(event), event.module if event.op == "call_module" else None,
                               (args, kwargs))  # fmt: skip
            raise
        finally:
            self.in_node = False
        self.failed = None
        return result


def one_line(module: nn.Module) -> str:
    """A layer's repr (``Conv2d(3, 24, ...)``); a container's class name only."""
    return repr(module) if not module._modules else f"{type(module).__name__}(...)"


def _node_description(event: Event) -> str:
    if event.op == "call_module":
        return f"layer '{event.path or '<model>'}' ({one_line(event.module)})"
    where = f" in '{event.path}'" if event.path else ""
    return f"op '{event.stem}' ({event.op} {event.target}){where}"


def _container_description(path: str, module: nn.Module) -> str:
    return f"layer '{path or '<model>'}' ({one_line(module)})"
