"""What the rules derive from one graph, kept while one ``check`` runs; and what they derive from a node's ops
alone, kept across checks. Both are stores of the one cache layer (``costmodel.cache``).

Several rules read the same views (a graph's blocks, a node's depthwise test, its element-wise
parts); each is computed once per check. ``per_check`` stores are keyed by identity and keep
their key, and ``check`` empties them (scope ``"check"``) when its rules are done, so no graph
outlives its check here.

What depends only on a node's ops (``per_ops``) is keyed by its ops tuple, which the walk hands out
once per node signature: a model's repeated layers, and the same model reported again, share it.
These depend on the cost formulas (scope ``"formulas"``). An op's call holds no model (a module
formula's call holds its layer weakly), so nothing here keeps a model alive.
"""

from __future__ import annotations

from typing import Any

from costmodel.cache import IdentityStore, clear_scope

__all__ = ["forget", "per_check", "per_ops"]


def per_check(name: str, description: str, limit: int = 8) -> IdentityStore[Any, Any]:
    """A store that ``forget`` empties (made once, at import, by the rule module that uses it)."""
    return IdentityStore(f"rules.{name}", description, limit, scope="check")


def forget() -> None:
    """Empty every per-check store (``check`` calls it when its rules are done)."""
    clear_scope("check")


def per_ops(name: str, description: str, limit: int = 20_000) -> IdentityStore[Any, Any]:
    """A store kept across checks, keyed by a node's ops tuple (made once, at import)."""
    return IdentityStore(f"rules.{name}", description, limit, scope="formulas")
