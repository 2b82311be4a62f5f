"""How complete a costed graph's counts are: the ops with no formula, which of them look like matrix work, and
their share of the memory access. Where that work may be large, FLOPs is a lower bound, and a report says so."""

from __future__ import annotations

import re

from costmodel.records import record
from costmodel.types import CostedGraph
from costmodel.units import magnitude

__all__ = ["LARGE_SHARE", "Completeness", "completeness"]

#: An op name that says it multiplies matrices or convolves (``_grouped_mm``, ``my_linear``, ``fused_attention``);
#: a pattern, compiled when a graph has unsupported ops (not at import).
_MATRIX_LIKE = r"(^|_)(mm|bmm|addmm|baddbmm|matmul|linear|conv\w*|einsum|gemm|gemv|attention|sdpa|dot)(_|$)"
#: The share of the graph's memory access past which unsupported ops are large whatever their names say.
LARGE_SHARE = 0.05


@record
class Completeness:
    """The ops without a formula (short names), those named like matrix work, and their estimated share of the
    memory access (inputs read plus outputs written)."""

    unsupported: tuple[str, ...]
    matrix_like: tuple[str, ...]
    mac_share: float

    @property
    def complete(self) -> bool:
        """Every op has a formula."""
        return not self.unsupported

    @property
    def lower_bound(self) -> bool:
        """FLOPs may be well short of the truth: unsupported ops look like matrix work, or move much data."""
        return bool(self.matrix_like) or self.mac_share >= LARGE_SHARE


def _short(target: str) -> str:
    """``aten._grouped_mm.default`` -> ``_grouped_mm``."""
    parts = target.split(".")
    return parts[1] if len(parts) == 3 else target


def completeness(graph: CostedGraph) -> Completeness:
    """What the graph's counts leave out."""
    if not graph.unsupported:
        return Completeness((), (), 0.0)
    names = tuple(dict.fromkeys(_short(t) for t in graph.unsupported))
    missing = sum(op.cost.mac for node in graph.nodes for op in node.ops if not op.supported)
    return Completeness(
        unsupported=names,
        matrix_like=tuple(n for n in names if re.search(_MATRIX_LIKE, n.lower())),
        mac_share=magnitude(missing) / magnitude(graph.mac) if magnitude(graph.mac) else 0.0,
    )
