"""Cost formulas, one module per op family, all registered in ``ops.registry.REGISTRY``.

Importing this package registers every built-in formula. Users add their own
with ``costmodel.register_cost``.
"""

from costmodel.ops import conv, data, elementwise, indexing, matmul, norm, pool  # noqa: F401 - registers formulas
from costmodel.ops.registry import REGISTRY, Formula, io_cost, lookup, register_cost, unregister_cost

__all__ = ["REGISTRY", "Formula", "io_cost", "lookup", "register_cost", "unregister_cost"]
