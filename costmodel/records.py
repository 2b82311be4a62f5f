"""Frozen, slotted, typed records built without generated code: ``@record``.

A class decorated ``@record`` is what ``@dataclass(frozen=True, slots=True)`` makes of it, field for field: an
``__init__`` taking the fields in order (defaults, ``field(default_factory=..., init=False, repr=False,
compare=False)``), ``__post_init__``, equality and a hash over the compared fields, a ``repr``, assignment refused
(``dataclasses.FrozenInstanceError``), pickling, ``__match_args__``, ``__replace__``, ``inspect.signature``; and it
is a dataclass to the ``dataclasses`` module (``fields``, ``replace``, ``asdict``, ``is_dataclass``). Methods written
in the class body are kept.

Why not the standard decorator: on Python 3.11 it compiles six generated methods per class, 0.6 ms a class, which
was half of the import a first report pays (23 records on that path). ``@record`` builds each method from shared
functions in microseconds; instances are made as fast (the fields are set through their slots).
"""

from __future__ import annotations

import dataclasses
import inspect
import operator
import typing
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["record"]

C = TypeVar("C", bound=type)

_MISSING = dataclasses.MISSING
_FIELD_KIND = getattr(dataclasses, "_FIELD", None)  # what marks a Field as a field (not a ClassVar) in `dataclasses`
_CLASS_VARIABLE = ("ClassVar", "typing.ClassVar", "t.ClassVar")
#: Methods made even where the class body writes its own (a frozen dataclass refuses such a body).
_ALWAYS_MADE = ("__setattr__", "__delattr__", "__getstate__", "__setstate__")


def _has_default(spec: dataclasses.Field[Any]) -> bool:
    return spec.default is not _MISSING or spec.default_factory is not _MISSING


def _is_class_variable(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(_CLASS_VARIABLE) and annotation.partition("[")[0] in _CLASS_VARIABLE
    return annotation is typing.ClassVar or typing.get_origin(annotation) is typing.ClassVar


def _own_fields(cls: type) -> list[dataclasses.Field[Any]]:
    """The fields the class body declares, in order, as ``dataclasses.Field`` records."""
    found = []
    for name, annotation in inspect.get_annotations(cls).items():
        if _is_class_variable(annotation):
            continue
        value = cls.__dict__.get(name, _MISSING)
        spec = value if isinstance(value, dataclasses.Field) else dataclasses.field(default=value)
        spec.name, spec.type = name, annotation
        if _FIELD_KIND is not None:
            spec._field_type = _FIELD_KIND  # type: ignore[attr-defined]
        found.append(spec)
    return found


def _slotted(cls: type, field_names: list[str], own: list[str]) -> type:
    """The class made again with a slot for each of its own fields (as ``dataclass(slots=True)`` does)."""
    namespace = dict(cls.__dict__)
    inherited = {slot for base in cls.__mro__[1:] for slot in base.__dict__.get("__slots__", ())}
    namespace["__slots__"] = tuple(name for name in own if name not in inherited)
    for name in (*field_names, "__dict__", "__weakref__"):
        namespace.pop(name, None)
    made = type(cls)(cls.__name__, cls.__bases__, namespace)
    made.__qualname__ = cls.__qualname__
    return made


def _values_of(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving a record's values of these fields as a tuple (``attrgetter`` gives a bare value for one)."""
    if len(names) == 1:
        (name,) = names
        return lambda item: (getattr(item, name),)
    if not names:
        return lambda item: ()
    return operator.attrgetter(*names)


def _make_init(cls: type, fields: list[dataclasses.Field[Any]]) -> Callable[..., None]:
    """``__init__``: the init fields by position or keyword, defaults and factories, then ``__post_init__``."""
    taken = [f for f in fields if f.init]
    names = tuple(f.name for f in taken)
    setters = tuple(_slot_setter(cls, f.name) for f in taken)
    count = len(taken)
    later = tuple(
        (_slot_setter(cls, f.name), f.default, f.default_factory) for f in fields if not f.init
    )  # fields not taken: their default, or their factory's value
    post_init = getattr(cls, "__post_init__", None)
    label = f"{cls.__qualname__}.__init__()"

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        if len(args) > count:
            raise TypeError(f"{label} takes {count} positional arguments but {len(args)} were given")
        values = list(args)
        for f in taken[len(args) :]:
            if f.name in kwargs:
                values.append(kwargs.pop(f.name))
            elif f.default is not _MISSING:
                values.append(f.default)
            elif f.default_factory is not _MISSING:
                values.append(f.default_factory())
            else:
                raise TypeError(f"{label} missing required argument: {f.name!r}")
        if kwargs:
            name = next(iter(kwargs))
            problem = "got multiple values for argument" if name in names else "got an unexpected keyword argument"
            raise TypeError(f"{label} {problem} {name!r}")
        return tuple(values)

    # Positional calls that leave the trailing fields to their defaults take them without binding.
    required = next((i for i, f in enumerate(taken) if _has_default(f)), count)
    if late := [f.name for f in taken[required:] if not _has_default(f)]:
        raise TypeError(f"{cls.__qualname__}: field {late[0]!r} without a default follows one with a default")
    tail = tuple(f.default for f in taken)
    factories = tuple((i, f.default_factory) for i, f in enumerate(taken) if f.default_factory is not _MISSING)

    def defaulted(args: tuple[Any, ...]) -> tuple[Any, ...]:
        given = len(args)
        if not factories or factories[-1][0] < given:
            return args + tail[given:]
        values = [*args, *tail[given:]]
        for i, make in factories:
            if i >= given:
                values[i] = make()
        return tuple(values)

    def init_(self: Any, *args: Any, **kwargs: Any) -> None:
        if kwargs or len(args) != count:
            args = defaulted(args) if not kwargs and required <= len(args) < count else bind(args, kwargs)
        for set_slot, value in zip(setters, args, strict=True):
            set_slot(self, value)
        for set_slot, default, factory in later:
            set_slot(self, factory() if default is _MISSING else default)
        if post_init is not None:
            post_init(self)

    init_.__name__, init_.__qualname__ = "__init__", f"{cls.__qualname__}.__init__"
    return init_


class _Signature:
    """``inspect.signature`` of a record's class, made when first asked for (``help``, an IDE), not at import:
    its fields in order, a factory's default shown as ``dataclasses`` shows it."""

    def __init__(self, fields: list[dataclasses.Field[Any]]) -> None:
        self.fields = fields

    def __get__(self, instance: Any, owner: type) -> inspect.Signature:
        factory = getattr(dataclasses, "_HAS_DEFAULT_FACTORY", _MISSING)
        parameters = [
            inspect.Parameter(
                f.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=f.default
                if f.default is not _MISSING
                else factory
                if _has_default(f)
                else inspect.Parameter.empty,
                annotation=f.type,
            )
            for f in self.fields
            if f.init
        ]
        return inspect.Signature(parameters, return_annotation=None)


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The slot's own descriptor's ``__set__``: it writes past the record's refusing ``__setattr__``."""
    for klass in cls.__mro__:
        if name in klass.__dict__.get("__slots__", ()):
            return klass.__dict__[name].__set__  # type: ignore[no-any-return]
    raise TypeError(f"{cls.__qualname__}: field {name!r} has no slot")


def _make_methods(cls: type, fields: list[dataclasses.Field[Any]]) -> dict[str, Any]:
    """``__repr__``, ``__eq__``, ``__hash__``, the refusing setters and pickling, from the field lists."""
    shown = tuple(f.name for f in fields if f.repr)
    compared = _values_of(tuple(f.name for f in fields if f.compare))
    every = _values_of(tuple(f.name for f in fields))
    setters = tuple(_slot_setter(cls, f.name) for f in fields)
    qualname = cls.__qualname__

    def repr_(self: Any) -> str:
        return f"{type(self).__qualname__}(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in shown) + ")"

    def eq_(self: Any, other: object) -> bool:
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)  # type: ignore[no-any-return]
        return NotImplemented

    def hash_(self: Any) -> int:
        return hash(compared(self))

    def setattr_(self: Any, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def delattr_(self: Any, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def getstate_(self: Any) -> tuple[Any, ...]:
        return every(self)

    def setstate_(self: Any, state: tuple[Any, ...]) -> None:
        for set_slot, value in zip(setters, state, strict=True):
            set_slot(self, value)

    def replace_(self: Any, **changes: Any) -> Any:
        return dataclasses.replace(self, **changes)

    methods = {
        "__repr__": repr_,
        "__eq__": eq_,
        "__hash__": hash_,
        "__setattr__": setattr_,
        "__delattr__": delattr_,
        "__getstate__": getstate_,
        "__setstate__": setstate_,
        "__replace__": replace_,  # copy.replace, Python 3.13
    }
    for name, method in methods.items():
        method.__name__, method.__qualname__ = name, f"{qualname}.{name}"
    return methods


@typing.dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls: C) -> C:
    """The class as a frozen, slotted dataclass, made without compiling code (see the module docstring)."""
    inherited: dict[str, dataclasses.Field[Any]] = {}
    for base in reversed(cls.__mro__[1:]):
        inherited.update(getattr(base, "__dataclass_fields__", {}))
    own = _own_fields(cls)
    fields = {**inherited, **{f.name: f for f in own}}
    ordered = list(fields.values())
    made = _slotted(cls, list(fields), [f.name for f in own])
    init = _make_init(made, ordered)
    written = cls.__dict__
    for name, method in {"__init__": init, **_make_methods(made, ordered)}.items():
        if written.get(name) is None or name in _ALWAYS_MADE:
            setattr(made, name, method)
    made.__signature__ = _Signature(ordered)  # type: ignore[attr-defined]
    made.__dataclass_fields__ = fields  # type: ignore[attr-defined]
    made.__match_args__ = tuple(f.name for f in ordered if f.init)  # type: ignore[attr-defined]
    return made  # type: ignore[return-value]
