"""What the rules derive from one graph or one node, kept while one ``check`` runs and forgotten after it.

Several rules read the same views (a graph's blocks, a node's depthwise test, its element-wise
parts); each is computed once per check. Entries are keyed by identity and keep their key,
so an id is never reused while kept, and ``forget`` drops them all when ``check`` is done, so
no graph or node outlives its check here.
"""

from __future__ import annotations

from typing import TypeVar

from costmodel.identity_memo import IdentityMemo

__all__ = ["forget", "per_check"]

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
