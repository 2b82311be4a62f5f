"""What the rules derive from one graph or one node, kept while one ``check`` runs and forgotten after it; and
what they derive from a node's ops alone, kept across checks.

Several rules read the same views (a graph's blocks, a node's depthwise test, its element-wise
parts); each is computed once per check. Entries are keyed by identity and keep their key,
so an id is never reused while kept, and ``forget`` drops them all when ``check`` is done, so
no graph or node outlives its check here.

What depends only on a node's ops (``per_ops``) is keyed by its ops tuple, which the walk hands out
once per row signature: a model's repeated layers, and the same model reported again, share it. A
tuple holding a module formula's call (which holds its module) is never kept, so no model outlives
its check there either.
"""

from __future__ import annotations

from typing import TypeVar

from costmodel.identity_memo import IdentityMemo
from costmodel.types import OpCost

__all__ = ["OpsMemo", "forget", "forget_ops", "per_check", "per_ops"]

K = TypeVar("K")
V = TypeVar("V")

_MEMOS: list[IdentityMemo] = []  # type: ignore[type-arg]


def per_check(limit: int = 20_000) -> IdentityMemo[K, V]:
    """A memo that ``forget`` empties (made once, at import, by the module that uses it)."""
    memo: IdentityMemo[K, V] = IdentityMemo(limit)
    _MEMOS.append(memo)
    return memo


def forget() -> None:
    """Empty every per-check memo (``check`` calls it when its rules are done)."""
    for memo in _MEMOS:
        memo.clear()


class OpsMemo:
    """``ops tuple -> value`` by identity, across checks (see the module docstring)."""

    __slots__ = ("_memo",)

    def __init__(self, limit: int) -> None:
        self._memo: IdentityMemo[tuple[OpCost, ...], object] = IdentityMemo(limit)

    def get(self, ops: tuple[OpCost, ...]) -> object:
        """The value kept for this very tuple, else ``None``."""
        return self._memo.get(ops)

    def put(self, ops: tuple[OpCost, ...], value: V) -> V:
        """Keep ``value`` for ``ops`` unless one of them holds a module; returns ``value``."""
        if all(op.call.module is None for op in ops):
            self._memo.put(ops, value)
        return value

    def clear(self) -> None:
        """Forget every entry."""
        self._memo.clear()


_OPS_MEMOS: list[OpsMemo] = []


def per_ops(limit: int = 20_000) -> OpsMemo:
    """A memo kept across checks, keyed by a node's ops (made once, at import, by the module that uses it)."""
    memo = OpsMemo(limit)
    _OPS_MEMOS.append(memo)
    return memo


def forget_ops() -> None:
    """Empty every ``per_ops`` memo (for timing a cold report)."""
    for memo in _OPS_MEMOS:
        memo.clear()
