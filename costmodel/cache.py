"""The one cache layer: named, bounded stores that count their hits, misses and bypasses.

Every value the library keeps between calls lives in a store made here, so one place says
what is kept, how much, and how often it helps (like FakeTensorMode's dispatch cache and its
``DispatchCacheInfo``):

* ``KeyedStore``: ``key -> value`` by equality (hashable keys).
* ``IdentityStore``: ``object -> value`` by identity; each entry keeps its object, so an id is
  never reused while the entry lives.
* ``WeakStore``: ``object -> value`` by identity, the object held weakly (a model).
* ``memoize``: a function's results by argument (``functools.lru_cache``, counted by itself).

A store past its ``limit`` starts afresh (a bound on memory, not a policy: what a report
needs fits many times over). A caller that chooses not to look a value up, or not to keep
one, says why with ``bypass(reason)``; the reasons are counted. ``cache_info()`` lists every
store, ``clear_caches()`` empties all of them: the next report then runs as in a fresh
process. Stores of one ``scope`` are emptied together with ``clear_scope``: ``"formulas"``, what
depends on the cost formulas (emptied when one is registered); ``"rules run"``, what the rules
keep while they run on one graph.

Records only: nothing here imports the rest of costmodel.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from costmodel.records import record

__all__ = [
    "CacheInfo",
    "IdentityStore",
    "KeyedStore",
    "Store",
    "WeakStore",
    "cache_info",
    "clear_caches",
    "clear_scope",
    "memoize",
]

K = TypeVar("K")
V = TypeVar("V")
F = TypeVar("F", bound=Callable[..., Any])

#: Entries a store keeps unless told otherwise.
DEFAULT_LIMIT = 20_000


@record
class CacheInfo:
    """One store's figures: entries now, its bound, lookups that found a value (hits) or not (misses), and the
    calls that went around it (``bypasses``: reason -> count)."""

    name: str
    description: str
    size: int
    limit: int | None
    hits: int
    misses: int
    bypasses: tuple[tuple[str, int], ...] = ()

    @property
    def hit_rate(self) -> float | None:
        """Hits over lookups (``None`` before any lookup)."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else None

    def __str__(self) -> str:
        rate = "-" if self.hit_rate is None else f"{self.hit_rate:.0%}"
        bound = "" if self.limit is None else f"/{self.limit}"
        skipped = ", ".join(f"{reason} {count}" for reason, count in self.bypasses)
        return (
            f"{self.name:28} {self.size:>6}{bound:<7} hits {self.hits:>8}  misses {self.misses:>7}  rate {rate:>4}"
            + (f"  bypassed: {skipped}" if skipped else "")
        )


#: Every store of the process, by name.
_STORES: dict[str, Store] = {}


class Store:
    """What every store shares: a name, a bound, counters, its entries, and a place in the registry."""

    __slots__ = ("_bypasses", "_entries", "description", "hits", "limit", "misses", "name", "scope")

    def __init__(self, name: str, description: str, limit: int | None = DEFAULT_LIMIT, scope: str = "") -> None:
        if name in _STORES:
            raise ValueError(f"a cache store named {name!r} exists already")
        self.name = name
        self.description = description
        self.limit = limit
        self.scope = scope
        self.hits = 0
        self.misses = 0
        self._bypasses: dict[str, int] = {}
        self._entries: Any = self._new_entries()
        _STORES[name] = self

    def _new_entries(self) -> Any:
        return {}

    def _room(self) -> None:
        """Past the limit, start afresh (before an entry is added)."""
        if self.limit is not None and len(self._entries) >= self.limit:
            self._entries.clear()

    def bypass(self, reason: str) -> None:
        """Count a call that went around the store (not looked up, or not kept), by reason."""
        self._bypasses[reason] = self._bypasses.get(reason, 0) + 1

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every entry (the counters stay: they describe the process)."""
        self._entries.clear()

    def reset_counts(self) -> None:
        """Zero the counters."""
        self.hits = self.misses = 0
        self._bypasses.clear()

    def info(self) -> CacheInfo:
        """This store's figures now."""
        return CacheInfo(
            name=self.name,
            description=self.description,
            size=len(self),
            limit=self.limit,
            hits=self.hits,
            misses=self.misses,
            bypasses=tuple(sorted(self._bypasses.items())),
        )


class KeyedStore(Store, Generic[K, V]):
    """``key -> value`` by equality, bounded to ``limit`` entries.

    A loop that looks up many keys in a row (every frame of a stack) may read ``entries`` directly and add
    its counts to ``hits`` and ``misses`` once at the end.
    """

    __slots__ = ()

    @property
    def entries(self) -> dict[K, V]:
        """The entries themselves, for hot loops (read them; add entries with ``put``)."""
        return self._entries  # type: ignore[no-any-return]

    def get(self, key: K, default: Any = None) -> Any:
        """The value kept for ``key`` (a hit), else ``default`` (a miss)."""
        try:  # a hit costs no more than a dict lookup and a count
            found = self._entries[key]
        except KeyError:
            self.misses += 1
            return default
        self.hits += 1
        return found

    def put(self, key: K, value: V) -> V:
        """Keep ``value`` for ``key``; returns ``value``."""
        self._room()
        self._entries[key] = value
        return value


class WeakStore(KeyedStore[K, V]):
    """``object -> value`` by identity, the object held weakly: an entry goes when its object does."""

    __slots__ = ()

    def _new_entries(self) -> Any:
        return weakref.WeakKeyDictionary()


class IdentityStore(Store, Generic[K, V]):
    """``object -> value`` by identity, bounded to ``limit`` entries; each entry keeps its object."""

    __slots__ = ()

    def get(self, key: K, default: Any = None) -> Any:
        """The value kept for this very object (a hit), else ``default`` (a miss)."""
        try:
            found = self._entries[id(key)]
        except KeyError:
            self.misses += 1
            return default
        if found[0] is key:
            self.hits += 1
            return found[1]
        self.misses += 1
        return default

    def put(self, key: K, value: V) -> V:
        """Keep ``value`` for ``key`` (and ``key`` with it); returns ``value``."""
        self._room()
        self._entries[id(key)] = (key, value)
        return value


class _FunctionStore(Store):
    """A ``functools.lru_cache``'d function as a store: its own counters, read through ``cache_info``."""

    __slots__ = ("_function",)

    def __init__(self, name: str, description: str, limit: int | None, function: Any) -> None:
        self._function = function
        super().__init__(name, description, limit)

    def clear(self) -> None:
        """Empty the function's cache."""
        self._function.cache_clear()

    def __len__(self) -> int:
        return int(self._function.cache_info().currsize)

    def reset_counts(self) -> None:
        """lru_cache counts only from a clear: the entries go with the counts."""
        self._function.cache_clear()

    def info(self) -> CacheInfo:
        """The function's lru_cache figures."""
        found = self._function.cache_info()
        return CacheInfo(
            name=self.name,
            description=self.description,
            size=found.currsize,
            limit=self.limit,
            hits=found.hits,
            misses=found.misses,
        )


def memoize(name: str, description: str, limit: int | None = 4096) -> Callable[[F], F]:
    """Decorate a function of hashable arguments: its results kept by argument, as store ``name``."""

    def decorate(function: F) -> F:
        cached = functools.lru_cache(maxsize=limit)(function)
        _FunctionStore(name, description, limit, cached)
        return cached  # type: ignore[return-value]

    return decorate


def cache_info() -> tuple[CacheInfo, ...]:
    """Every store's figures, by name."""
    return tuple(store.info() for _, store in sorted(_STORES.items()))


def clear_caches(*, counts: bool = False) -> None:
    """Empty every store, so the next report runs as in a fresh process; with ``counts``, zero the counters too."""
    for store in _STORES.values():
        store.clear()
        if counts:
            store.reset_counts()


def clear_scope(scope: str) -> None:
    """Empty the stores of one scope (``"check"``: what the rules keep while one check runs)."""
    for store in _STORES.values():
        if store.scope == scope:
            store.clear()
