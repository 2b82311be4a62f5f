"""Views of a costed graph that are computed from its records: roll-ups by module and kind, and liveness."""

from costmodel.views.completeness import Completeness, completeness
from costmodel.views.liveness import activation_memory
from costmodel.views.rollup import by_kind, by_module, column_by_kind

__all__ = ["Completeness", "activation_memory", "by_kind", "by_module", "column_by_kind", "completeness"]
