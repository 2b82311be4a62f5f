"""``@record`` behaves as ``@dataclass(frozen=True, slots=True)`` does, checked against the standard decorator on the
same class bodies."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from dataclasses import field
from typing import Any, ClassVar

import pytest

from costmodel.records import record
from costmodel.types import Cost, CostedGraph, NodeCost, OpKind, TensorSpec

STANDARD = dataclasses.dataclass(frozen=True, slots=True)


def _pair(decorate: Any) -> tuple[type, type]:
    """A record and one derived from it, built by ``decorate`` (the same bodies for both decorators)."""

    class Base:
        kind: ClassVar[str] = "base"
        a: int
        b: str
        c: float = 1.0
        d: tuple[int, ...] = ()
        e: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "d", tuple(self.d))

        def doubled(self) -> int:
            return 2 * self.a

    base = decorate(Base)

    class Derived(base):  # type: ignore[valid-type,misc]
        f: int = 3
        g: int = field(init=False, default=7)
        h: list[int] = field(init=False, default_factory=list, compare=False)

    return base, decorate(Derived)


CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("base", (1, "s"), {}),
    ("base", (1, "s", 2.0), {"d": [4, 5]}),
    ("base", (), {"b": "t", "a": 2, "e": {"x": 1}}),
    ("derived", (1, "s", 2.0, (3,), {}, 9), {}),
    ("derived", (1,), {"b": "s", "f": 4}),
]


PAIRS = {record: _pair(record), STANDARD: _pair(STANDARD)}


def _made(decorate: Any, which: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    base, derived = PAIRS[decorate]
    return (base if which == "base" else derived)(*args, **copy.deepcopy(kwargs))


def _view(item: Any) -> tuple[Any, ...]:
    """What a user sees of a record, its class's name aside."""
    return (
        repr(item).split("(", 1)[1],
        dataclasses.asdict(item),
        [(f.name, f.init, f.repr, f.compare) for f in dataclasses.fields(item)],
        type(item).__match_args__,
        str(inspect.signature(type(item))),
        hash(item),
        item.doubled(),
        type(item).kind,
    )


@pytest.mark.parametrize(("which", "args", "kwargs"), CALLS)
def test_a_record_is_what_the_standard_decorator_makes(
    which: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    ours, theirs = _made(record, which, args, kwargs), _made(STANDARD, which, args, kwargs)
    assert _view(ours) == _view(theirs)
    assert dataclasses.is_dataclass(ours)
    assert ours == _made(record, which, args, kwargs)
    assert ours != theirs  # equal within a class, never across
    assert ours.__replace__(a=5) == dataclasses.replace(ours, a=5)  # copy.replace on Python 3.13
    changed = dataclasses.replace(ours, a=5)
    assert (changed.a, changed.b) == (5, ours.b)
    assert _view(changed) == _view(dataclasses.replace(theirs, a=5))


def test_a_record_refuses_assignment_and_has_slots_only() -> None:
    base, derived = _pair(record)
    item = derived(1, "s")
    for act in (lambda: setattr(item, "a", 2), lambda: delattr(item, "b"), lambda: setattr(item, "new", 1)):
        with pytest.raises((dataclasses.FrozenInstanceError, AttributeError)):
            act()
    assert not hasattr(item, "__dict__")
    assert base.__slots__ == ("a", "b", "c", "d", "e")
    assert derived.__slots__ == ("f", "g", "h")
    assert (item.g, item.h) == (7, [])  # init=False fields take their default and their factory's value


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "missing required argument: 'a'"),
        ((1, "s"), {"a": 2}, "got multiple values for argument 'a'"),
        ((1, "s"), {"z": 2}, "got an unexpected keyword argument 'z'"),
        ((1, "s", 1.0, (), {}, 6), {}, "takes 5 positional arguments but 6 were given"),
    ],
)
def test_wrong_arguments_are_named(args: tuple[Any, ...], kwargs: dict[str, Any], message: str) -> None:
    base, _ = _pair(record)
    with pytest.raises(TypeError, match=message):
        base(*args, **kwargs)


def test_a_field_without_a_default_after_one_with_is_refused() -> None:
    class Wrong:
        a: int = 1
        b: int

    with pytest.raises(TypeError, match="'b' without a default follows one with a default"):
        record(Wrong)


def test_the_package_records_pickle_and_copy() -> None:
    spec = TensorSpec((1, 3, 8, 8))
    node = NodeCost.made(
        name="conv", op="call_module", target="Conv2d", module_path="conv", module_type="Conv2d",
        kind=OpKind.CONV, input_shapes=(spec.shape,), output_shapes=(spec.shape,), cost=Cost(1, 2, 3, 4),
        params=5, ops=(), location=None, inputs=("x",), definition=None, output_bytes=768, frozen_params=0,
    )  # fmt: skip
    graph = CostedGraph("m", (spec.shape,), (node,))
    for item in (spec, node, graph):
        assert pickle.loads(pickle.dumps(item)) == item
        assert copy.deepcopy(item) == item
    assert graph.cost == node.cost  # the init=False field is filled by __post_init__ and comes back pickled
    assert pickle.loads(pickle.dumps(graph)).cost == node.cost
