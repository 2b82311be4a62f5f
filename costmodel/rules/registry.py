"""The rule registry: ``RULES`` maps code -> rule class, the built-in G1-G4 first, in code order.

Built-in rules are listed here explicitly (no registration by import side
effect); ``register_rule`` adds a user's rule class, with the same checks.
"""

from __future__ import annotations

from costmodel.errors import DuplicateRegistration
from costmodel.rules.base import Rule, validate
from costmodel.rules.g1_channel_width import UnequalChannelWidth
from costmodel.rules.g2_group_conv import ExcessiveGroupConv
from costmodel.rules.g3_fragmentation import NetworkFragmentation
from costmodel.rules.g4_elementwise import ElementwiseHeavy

__all__ = ["BUILTIN_RULES", "RULES", "register_rule"]

#: The ShuffleNet V2 guidelines, in code order.
BUILTIN_RULES: tuple[type[Rule], ...] = (
    UnequalChannelWidth,
    ExcessiveGroupConv,
    NetworkFragmentation,
    ElementwiseHeavy,
)

#: Registered rules by code, in registration order.
RULES: dict[str, type[Rule]] = {}


def register_rule(rule: type[Rule]) -> type[Rule]:
    """Class decorator adding a rule to ``RULES`` (codes and names must be unique)."""
    validate(rule)
    if rule.code in RULES:
        raise DuplicateRegistration(f"rule code {rule.code} is registered already ({RULES[rule.code].__name__})")
    if any(r.name == rule.name for r in RULES.values()):
        raise DuplicateRegistration(f"rule name {rule.name!r} is registered already")
    RULES[rule.code] = rule
    return rule


for _rule in BUILTIN_RULES:
    register_rule(_rule)
