"""Find and build the models in a user's Python file (for the command line).

A file offers models as module-level instances (``model = BertModel(config)``): where it has
any, those are its models. Otherwise its models are the ``nn.Module`` subclasses that build
without arguments and the functions that take none and return a module, less the helpers:
a class whose instances are layers of another model of the file (``Block`` inside ``Net``)
is part of that model, not a model. It may declare the
input shape as a module-level ``INPUT_SHAPE = (1, 3, 224, 224)`` (or a list of
shapes), or per class as an ``input_shape`` attribute. Names of the built-in zoo
(``shufflenet_v2_x1.0``, ...) are accepted in place of a file.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from torch import nn

from costmodel.errors import ModelLoadError
from costmodel.records import record

__all__ = ["DEFAULT_MODEL", "LoadedModel", "load_models"]

DEFAULT_MODEL = "shufflenet_v2_x1.0"


@record
class LoadedModel:
    """A built model, its name, the file it came from and its declared input shape."""

    name: str
    model: nn.Module  # or a torch.export.ExportedProgram (a .pt2 file)
    source: str
    input_shape: Any | None


def _required_params(fn: Callable[..., Any]) -> list[str]:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in signature.parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def _import(path: Path) -> Any:
    name = f"_costmodel_user_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        raise ModelLoadError(f"{path}:{error.lineno}:{error.offset or 1}: syntax error: {error.msg}") from error
    except BaseException as error:  # the user's module may raise anything, SystemExit included
        sys.modules.pop(name, None)
        line = _user_line(error, path)
        raise ModelLoadError(f"{path}{line}: importing the file failed: {type(error).__name__}: {error}") from error
    return module


def _user_line(error: BaseException, path: Path) -> str:
    """':LINE' of the deepest traceback frame in the user's file, or ''."""
    found = ""
    tb = error.__traceback__
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename).resolve() == path.resolve():
            found = f":{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def _build(name: str, factory: Callable[..., Any], path: Path, *, strict: bool = True) -> nn.Module | None:
    required = _required_params(factory)
    if required:
        raise ModelLoadError(
            f"{path}: model '{name}' needs arguments ({', '.join(required)}); give them defaults "
            "or add a function that takes none and returns the model"
        )
    try:
        built = factory()
    except Exception as error:
        raise ModelLoadError(f"{path}: building model '{name}' failed: {type(error).__name__}: {error}") from error
    if not isinstance(built, nn.Module):
        if not strict:  # a helper function found while scanning, not a model factory
            return None
        raise ModelLoadError(f"{path}: '{name}' returned {type(built).__name__}, not an nn.Module")
    return built


def _candidates(module: Any) -> dict[str, Callable[..., Any]]:
    """The file's public models, by name: instances (as functions returning them), classes and functions."""
    found: dict[str, Callable[..., Any]] = {}
    instances: dict[str, nn.Module] = {}
    for name, obj in vars(module).items():
        if name.startswith("_"):
            continue
        if isinstance(obj, nn.Module):
            instances[name] = obj
        elif getattr(obj, "__module__", None) != module.__name__:
            continue
        elif (inspect.isclass(obj) and issubclass(obj, nn.Module)) or inspect.isfunction(obj):
            found[name] = obj
    if instances:  # the file built its model: that is the one it means
        return {name: _instance(instance) for name, instance in instances.items()}
    return found


def _without_helpers(loaded: list[LoadedModel]) -> list[LoadedModel]:
    """The models that are no layer of another model of the file (a ``Block`` that ``Net`` is built of)."""
    inside = {type(m) for one in loaded for m in one.model.modules() if m is not one.model}
    kept = [one for one in loaded if type(one.model) not in inside]
    return kept or loaded


def _instance(model: nn.Module) -> Callable[[], nn.Module]:
    """A module-level instance as a factory that returns it."""

    def instance() -> nn.Module:
        return model

    instance.instance = True  # type: ignore[attr-defined]
    return instance


def _load_zoo(name: str) -> list[LoadedModel]:
    from costmodel.zoo import MODELS

    return [LoadedModel(name, MODELS[name](), "costmodel.zoo", None)]


def _load_program(path: Path) -> LoadedModel:
    """A program saved with ``torch.export.save``: costed from its graph, on the shapes it was exported with."""
    import logging

    import torch

    log = logging.getLogger("torch.export")
    level, log.level = log.level, logging.CRITICAL  # torch logs a traceback before it raises: the line is ours
    try:
        program = torch.export.load(path)
    except Exception as error:  # a corrupt or foreign file: torch says what
        raise ModelLoadError(f"{path}: not a torch.export program: {type(error).__name__}: {error}") from error
    finally:
        log.setLevel(level)
    return LoadedModel(path.stem, program, str(path), None)


def load_models(target: str, model: str | None = None) -> list[LoadedModel]:
    """Build the models of a file (or the zoo model named ``target``).

    Raises:
        ModelLoadError: Missing file, syntax or import error, no model, or a model
            that needs constructor arguments; the message names the file and model.
    """
    from costmodel.zoo import MODELS

    if target in MODELS and not Path(target).exists():
        return _load_zoo(target)
    path = Path(target)
    if path.suffix == ".pt2" and path.is_file():
        return [_load_program(path)]
    if not path.is_file():
        hint = f"; zoo models are: {', '.join(sorted(MODELS))}" if not path.suffix else ""
        raise ModelLoadError(f"{target}: no such file{hint}")
    module = _import(path)
    declared = getattr(module, "INPUT_SHAPE", None)
    candidates = _candidates(module)
    if model is not None:
        if model not in candidates:
            listed = ", ".join(sorted(candidates)) or "none"
            raise ModelLoadError(f"{path}: no model named '{model}' (found: {listed})")
        chosen = {model: candidates[model]}
    else:
        chosen = {
            name: obj
            for name, obj in candidates.items()
            if not _required_params(obj) and (inspect.isclass(obj) or _returns_module(obj))
        }
    loaded = []
    for name, factory in chosen.items():
        built = _build(name, factory, path, strict=model is not None or inspect.isclass(factory))
        if built is None:
            continue
        given = (getattr(factory, "input_shape", None), getattr(built, "input_shape", None), declared)
        shape = next((value for value in given if value is not None), None)  # may be a tensor: no truthiness
        loaded.append(LoadedModel(name, built, str(path), shape))
    if not loaded:
        needing = [name for name, obj in candidates.items() if inspect.isclass(obj) and _required_params(obj)]
        said = [f"{name} needs arguments ({', '.join(_required_params(candidates[name]))})" for name in needing]
        why = f": {'; '.join(said)}; give them defaults or add `model = {needing[0]}(...)`" if needing else ""
        raise ModelLoadError(
            f"{path}: no model found{why} (a file offers a module-level instance, an nn.Module subclass that builds "
            "without arguments, or a function without arguments that returns one; --model NAME picks one)"
        )
    return _class_names(loaded if model is not None else _without_helpers(loaded), chosen)


def _class_names(loaded: list[LoadedModel], factories: dict[str, Callable[..., Any]]) -> list[LoadedModel]:
    """Instances go by their class's name (``model = BertModel(...)`` is ``BertModel``) where that names one."""
    classes = Counter(type(one.model).__name__ for one in loaded)
    return [
        replace(one, name=type(one.model).__name__)
        if getattr(factories[one.name], "instance", False) and classes[type(one.model).__name__] == 1
        else one
        for one in loaded
    ]


def _returns_module(fn: Callable[..., Any]) -> bool:
    """A function is a model factory if annotated to return a module; unannotated ones are tried."""
    annotation = inspect.signature(fn).return_annotation
    if annotation is inspect.Signature.empty:
        return True
    if isinstance(annotation, str):
        return "Module" in annotation or annotation[:1].isupper()
    return inspect.isclass(annotation) and issubclass(annotation, nn.Module)
