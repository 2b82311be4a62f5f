"""Values computed once per object, found by the object's identity.

The walk hands out one ``OpCall`` per op signature and one ``OpCost`` per call, so what is derived
from them (a price, a conv's arguments, a predicted time) is worth keeping by identity. Each entry
keeps its object, so an id is never reused while the entry lives; the memo is bounded (past its
limit it starts afresh), and callers keep no object that holds a model.
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["IdentityMemo"]

K = TypeVar("K")
V = TypeVar("V")


class IdentityMemo(Generic[K, V]):
    """``object -> value`` by identity, bounded to ``limit`` entries."""

    __slots__ = ("_entries", "_limit")

    def __init__(self, limit: int = 20_000) -> None:
        self._entries: dict[int, tuple[K, V]] = {}
        self._limit = limit

    def get(self, key: K) -> V | None:
        """The value kept for this very object, else ``None``."""
        found = self._entries.get(id(key))
        return found[1] if found is not None and found[0] is key else None

    def put(self, key: K, value: V) -> V:
        """Keep ``value`` for ``key`` (and ``key`` with it); returns ``value``."""
        if len(self._entries) >= self._limit:
            self._entries.clear()
        self._entries[id(key)] = (key, value)
        return value

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
