"""Source locations: the user's line that created a graph node, and the line that built a layer.

Call sites come from a cheap stack walk while a row runs (torch.fx's own
``record_stack_traces`` costs ~80x more). Definition sites are found by reading
the ``__init__`` of the nearest user-defined parent for ``self.<name> = ...``, so
a finding on ``stages.0.branch2.0.0`` points at ``self.branch2 = ...``.
"""

from __future__ import annotations

import functools
import inspect
import linecache
import os
import re
import sys
import types

import torch
from torch import nn

from costmodel.types import SourceLocation

__all__ = ["call_site", "class_site", "definition_site"]

_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_OWN_DIR = os.path.dirname(os.path.dirname(__file__)) + os.sep  # the costmodel package
_ZOO_DIR = _OWN_DIR + "zoo" + os.sep


def _is_library_file(filename: str) -> bool:
    """Files of torch and of costmodel itself (but not its zoo, which is user-like code)."""
    return filename.startswith(_TORCH_DIR) or (filename.startswith(_OWN_DIR) and not filename.startswith(_ZOO_DIR))


@functools.lru_cache(maxsize=8192)
def _positions(code: types.CodeType) -> tuple[tuple[int | None, ...], ...]:
    """A code object's instruction positions, read once (``co_positions`` is an iterator from the start)."""
    return tuple(code.co_positions())


#: code -> whether it is torch's or costmodel's own (a plain dict: cheaper than an lru_cache call per frame).
_LIBRARY_CODE: dict[types.CodeType, bool] = {}
#: (code, instruction offset) -> its location: a line run again (a layer of a repeated block) is looked up once.
_SITES: dict[tuple[types.CodeType, int], SourceLocation] = {}


def call_site(skip: int = 1) -> SourceLocation | None:
    """The innermost stack frame outside torch and costmodel: the user's line being run.

    ``skip`` frames above the caller are passed over unread (they are known to be library frames).
    """
    frame = sys._getframe(skip + 1)
    library = _LIBRARY_CODE
    while frame is not None:
        code = frame.f_code
        found = library.get(code)
        if found is None:
            found = library[code] = _is_library_file(code.co_filename)
        if not found:
            break
        frame = frame.f_back
    if frame is None:
        return None
    code = frame.f_code
    key = (code, frame.f_lasti)
    found = _SITES.get(key)
    if found is None:
        positions = _positions(code)
        index = frame.f_lasti // 2
        position = positions[index] if index < len(positions) else None
        line = frame.f_lineno
        column = (position[2] or 0) + 1 if position and position[0] == line else 1
        found = SourceLocation(code.co_filename, line, column)
        if len(_SITES) < 65536:
            _SITES[key] = found
    return found


def _class_line(cls: type) -> tuple[str, int] | None:
    """File and line of ``class Name`` found through a method's code object (no sys.modules needed)."""
    for member in vars(cls).values():
        code = getattr(member, "__code__", None)
        if code is None:
            continue
        lines = linecache.getlines(code.co_filename)
        pattern = re.compile(rf"^\s*class\s+{re.escape(cls.__name__)}\b")
        for number in range(min(code.co_firstlineno, len(lines)), 0, -1):
            if pattern.match(lines[number - 1]):
                return code.co_filename, number
    return None


@functools.lru_cache(maxsize=512)
def class_site(cls: type) -> SourceLocation | None:
    """Where a class is defined (``None`` for torch's own classes and unreadable sources)."""
    if cls.__module__.startswith("torch.") or cls.__module__ == "torch":
        return None
    try:
        filename = inspect.getsourcefile(cls)
        _, line = inspect.getsourcelines(cls)
    except (OSError, TypeError):  # e.g. a module loaded from a path and not in sys.modules
        found = _class_line(cls)
        if found is None:
            return None
        filename, line = found
    if filename is None or _is_library_file(filename):
        return None
    return SourceLocation(filename, line, 1)


@functools.lru_cache(maxsize=512)
def _init_source(cls: type) -> tuple[str, int, list[str]] | None:
    init = cls.__dict__.get("__init__")
    code = getattr(init, "__code__", None)
    if code is None:
        return None
    filename = code.co_filename
    try:
        lines, start = inspect.getsourcelines(init)
    except (OSError, TypeError):
        return None
    if filename is None or _is_library_file(filename):
        return None
    return filename, start, lines


@functools.lru_cache(maxsize=4096)
def _assignment(cls: type, attr: str) -> SourceLocation | None:
    for klass in cls.__mro__:
        source = _init_source(klass)
        if source is None:
            continue
        filename, start, lines = source
        pattern = re.compile(rf"\bself\.{re.escape(attr)}\s*(?::[^=]+)?=(?!=)")
        for offset, text in enumerate(lines):
            match = pattern.search(text)
            if match:
                return SourceLocation(filename, start + offset, match.start() + 1)
    return None


def definition_site(root: nn.Module, path: str) -> SourceLocation | None:
    """The ``self.<name> = ...`` line in the nearest user-defined ancestor that built ``path``."""
    parts = path.split(".") if path else []
    modules = [root]
    for part in parts:
        child = modules[-1]._modules.get(part)
        if child is None:
            return None
        modules.append(child)
    for depth in range(len(parts), 0, -1):
        parent, attr = modules[depth - 1], parts[depth - 1]
        if type(parent).__module__.startswith("torch.") or attr.isdigit():
            continue
        found = _assignment(type(parent), attr)
        if found is not None:
            return found
    return None
