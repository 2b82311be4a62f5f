"""The guideline rules (ShuffleNet V2's G1-G4) over a costed graph: registry, configuration, run.

- ``base``: the ``Rule`` ABC; ``layers`` and ``blocks``: the views of the graph rules share.
- ``g1_channel_width`` ... ``g4_elementwise``: one rule a module.
- ``registry``: ``RULES`` (code -> rule class) and ``register_rule``.
- ``config``: ``LintConfig`` and ``load_config`` (``[tool.costmodel]`` in pyproject.toml).
- ``run``: ``run_rules`` runs the enabled rules; ``# noqa: G2`` on the line a finding points at silences it.

Their output formats are ``costmodel.formats.findings``. ("check" is the budget gate, ``costmodel check``.)
"""

from costmodel.rules.base import Rule
from costmodel.rules.config import LintConfig, load_config
from costmodel.rules.registry import RULES, register_rule
from costmodel.rules.run import run_rules

__all__ = ["RULES", "LintConfig", "Rule", "load_config", "register_rule", "run_rules"]
