"""Source locations: the user's line that created a graph node, and the line that built a layer.

Call sites come from a cheap stack walk while a node runs (torch.fx's own
``record_stack_traces`` costs ~80x more). Definition sites are found by reading
the ``__init__`` of the nearest user-defined parent for ``self.<name> = ...``, so
a finding on ``stages.0.branch2.0.0`` points at ``self.branch2 = ...``.
"""

from __future__ import annotations

import inspect
import linecache
import os
import re
import sys
import types

import torch
from torch import nn

from costmodel.cache import KeyedStore, memoize
from costmodel.types import SourceLocation

__all__ = ["call_site", "class_site", "definition_site", "trace_site"]

_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_OWN_DIR = os.path.dirname(os.path.dirname(__file__)) + os.sep  # the costmodel package
_ZOO_DIR = _OWN_DIR + "zoo" + os.sep


def _is_library_file(filename: str) -> bool:
    """Files of torch and of costmodel itself (but not its zoo, which is user-like code)."""
    return filename.startswith(_TORCH_DIR) or (filename.startswith(_OWN_DIR) and not filename.startswith(_ZOO_DIR))


@memoize("source.positions", "code object -> its instruction positions", 8192)
def _positions(code: types.CodeType) -> tuple[tuple[int | None, ...], ...]:
    """A code object's instruction positions, read once (``co_positions`` is an iterator from the start)."""
    return tuple(code.co_positions())


#: code -> whether it is torch's or costmodel's own (read per frame: ``call_site`` reads its entries directly).
_LIBRARY_CODE: KeyedStore[types.CodeType, bool] = KeyedStore(
    "source.library_code", "code object -> whether it is torch's or costmodel's own"
)
#: (code, instruction offset) -> its location: a line run again (a layer of a repeated block) is looked up once.
_SITES: KeyedStore[tuple[types.CodeType, int], SourceLocation] = KeyedStore(
    "source.call_sites", "(code, instruction) -> the user's line", 65536
)


def call_site(skip: int = 1) -> SourceLocation | None:
    """The innermost stack frame outside torch and costmodel: the user's line being run.

    ``skip`` frames above the caller are passed over unread (they are known to be library frames).
    """
    frame = sys._getframe(skip + 1)
    library = _LIBRARY_CODE.entries
    read = 0
    while frame is not None:
        code = frame.f_code
        found = library.get(code)
        read += 1
        if found is None:
            _LIBRARY_CODE.misses += 1
            read -= 1
            found = _LIBRARY_CODE.put(code, _is_library_file(code.co_filename))
        if not found:
            break
        frame = frame.f_back
    _LIBRARY_CODE.hits += read
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
        found = _SITES.put(key, SourceLocation(code.co_filename, line, column))
    return found


#: A frame of a stack trace (compiled on first use: only graphs read from torch.fx have traces).
_TRACE_FRAME = r'File "([^"]+)", line (\d+)'


def trace_site(stack_trace: str | None) -> SourceLocation | None:
    """The innermost frame outside torch and costmodel in an fx node's ``stack_trace`` (innermost last)."""
    for filename, line in reversed(re.findall(_TRACE_FRAME, stack_trace or "")):
        if not _is_library_file(filename):
            return SourceLocation(filename, int(line))
    return None


def _declares(line: str, name: str, nested: bool) -> bool:
    """Whether the line is ``class <name>`` (followed by ``(`` or ``:``), at the top level unless ``nested``."""
    text = line.lstrip() if nested else line
    if not text.startswith("class "):
        return False
    rest = text[6:].lstrip()
    return rest.startswith(name) and rest[len(name) : len(name) + 1] in ("(", ":")


def _class_line(cls: type) -> tuple[str, int] | None:
    """File and line of ``class Name``: the nearest such line above one of its methods (found through the
    method's code object, unwrapped from decorators, so no sys.modules entry is needed), else the only such line
    at the top level of its module's file."""
    name = cls.__name__
    for member in vars(cls).values():
        while hasattr(member, "__wrapped__"):  # functools.wraps: the decorated method's own code
            member = member.__wrapped__
        code = getattr(member, "__code__", None)
        if code is None:
            continue
        lines = linecache.getlines(code.co_filename)
        for number in range(min(code.co_firstlineno, len(lines)), 0, -1):
            if _declares(lines[number - 1], name, nested=True):
                return code.co_filename, number
    filename = getattr(sys.modules.get(cls.__module__), "__file__", None)
    if filename is None or cls.__qualname__ != name:  # a nested class: found by inspect
        return None
    found = [number for number, line in enumerate(linecache.getlines(filename), 1) if _declares(line, name, False)]
    return (filename, found[0]) if len(found) == 1 else None


@memoize("source.class_site", "class -> the line that defines it", 512)
def class_site(cls: type) -> SourceLocation | None:
    """Where a class is defined (``None`` for torch's own classes and unreadable sources)."""
    if cls.__module__.startswith("torch.") or cls.__module__ == "torch":
        return None
    found = _class_line(cls)  # a scan of the lines above a method: inspect parses the whole file (~10 ms)
    if found is not None:
        filename, line = found
    else:  # a class with no method of its own
        try:
            filename = inspect.getsourcefile(cls)
            _, line = inspect.getsourcelines(cls)
        except (OSError, TypeError):  # e.g. a module loaded from a path and not in sys.modules
            return None
    if filename is None or _is_library_file(filename):
        return None
    return SourceLocation(filename, line, 1)


#: ``self.<name> = ...`` (or ``self.<name>: T = ...``), not ``==``.
_SELF_ASSIGNMENT = re.compile(r"\bself\.(\w+)\s*(?::[^=]+)?=(?!=)")


@memoize("source.init_assignments", "class -> its __init__ assignment lines", 512)
def _init_assignments(cls: type) -> dict[str, SourceLocation]:
    """Each attribute's first ``self.<name> = ...`` line in the class's own ``__init__`` (none for torch's files or
    an unreadable source). The lines are those of the method's code (its first to its last), read from the file
    once: inspect would tokenize the whole body to find where it ends."""
    init = cls.__dict__.get("__init__")
    code = getattr(init, "__code__", None)
    if code is None or _is_library_file(code.co_filename):
        return {}
    lines = linecache.getlines(code.co_filename)
    last = max((line for _, _, line in code.co_lines() if line is not None), default=code.co_firstlineno)
    found: dict[str, SourceLocation] = {}
    for number in range(code.co_firstlineno, min(last, len(lines)) + 1):
        for match in _SELF_ASSIGNMENT.finditer(lines[number - 1]):
            found.setdefault(match.group(1), SourceLocation(code.co_filename, number, match.start() + 1))
    return found


@memoize("source.assignment", "(class, attribute) -> the line that sets it", 4096)
def _assignment(cls: type, attr: str) -> SourceLocation | None:
    for klass in cls.__mro__:
        found = _init_assignments(klass).get(attr)
        if found is not None:
            return found
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
