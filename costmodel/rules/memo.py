"""What the rules derive from one graph, kept while the rules run on it; and what they derive from a node's ops
alone, kept across runs. Both are stores of the one cache layer (``costmodel.cache``).

Several rules read the same views (a graph's blocks, a node's depthwise test, its element-wise
parts); each is computed once per run of the rules. ``per_run`` stores are keyed by identity and keep
their key, and ``run_rules`` empties them (scope ``"rules run"``) when its rules are done, so no graph
outlives its run here.

What depends only on a node's ops (``per_ops``) is keyed by its ops tuple, which the walk hands out
once per node signature: a model's repeated layers, and the same model reported again, share it.
These depend on the cost formulas (scope ``"formulas"``). An op's call holds no model (a module
formula's call holds its layer weakly), so nothing here keeps a model alive.
"""

from __future__ import annotations

from typing import Any

from costmodel.cache import IdentityStore, clear_scope

__all__ = ["forget", "per_ops", "per_run"]


def per_run(name: str, description: str, limit: int = 8) -> IdentityStore[Any, Any]:
    """A store that ``forget`` empties (made once, at import, by the rule module that uses it)."""
    return IdentityStore(f"rules.{name}", description, limit, scope="rules run")


def forget() -> None:
    """Empty every per-check store (``run_rules`` calls it when its rules are done)."""
    clear_scope("rules run")


def per_ops(name: str, description: str, limit: int = 20_000) -> IdentityStore[Any, Any]:
    """A store kept across runs, keyed by a node's ops tuple (made once, at import)."""
    return IdentityStore(f"rules.{name}", description, limit, scope="formulas")
