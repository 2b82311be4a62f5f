"""The guideline rules (ShuffleNet V2's G1-G4) over a costed graph: registry, configuration, run, formats.

- ``base``: the ``Rule`` ABC; ``layers`` and ``blocks``: the views of the graph rules share.
- ``g1_channel_width`` ... ``g4_elementwise``: one rule a module.
- ``registry``: ``RULES`` (code -> rule class) and ``register_rule``.
- ``config``: ``LintConfig`` and ``load_config`` (``[tool.costmodel]`` in pyproject.toml).
- ``check``: runs the enabled rules; ``# noqa: G2`` on the line a finding points at silences it.
- ``formats``: text, pylint, json and SARIF output.
"""

from costmodel.rules.base import Rule
from costmodel.rules.check import check
from costmodel.rules.config import LintConfig, load_config
from costmodel.rules.registry import RULES, register_rule

__all__ = ["RULES", "LintConfig", "Rule", "check", "load_config", "register_rule"]
