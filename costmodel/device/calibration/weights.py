"""The probes of how much each transcendental op costs per element against a sigmoid, and the weights fit from them.

One family prices every op that evaluates an exponential, a logarithm, an error function or a power per element,
with one coefficient per unit of work; on a 2-core EPYC those ops differ sixfold per element (``tanh`` 1.3 ns, the
tanh approximation of GELU 0.86, ``exp`` 0.44, GELU 0.31, ``sigmoid`` 0.23, at 200 thousand elements and two
threads). Each probe runs one op on the same map in the calibration's rounds; an op's weight, its seconds per
element counted over a sigmoid's, multiplies its work in the family's features (``families.features``), so the
family's fit and every prediction see what each op costs. Ops without a probe weigh 1; ``pow`` is probed with
the exponent 3 (GPT-2's GELU), and its weight stands for every exponent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from costmodel.device.calibration.ops import Unary

__all__ = ["PROBE_SHAPE", "REFERENCE_KEY", "fit_weights", "probes"]

#: The map every probe runs on: 200 thousand elements, parallel at any thread count, a few hundred µs at most.
PROBE_SHAPE = (1, 64, 56, 56)
#: The op every weight is counted against.
REFERENCE_KEY = "sigmoid"

_OPS: tuple[Callable[[torch.Tensor], torch.Tensor], ...] = (
    torch.sigmoid, torch.tanh, torch.exp, torch.erf, torch.sin, torch.cos, F.gelu,
    lambda x: F.gelu(x, approximate="tanh"), F.silu, F.mish, F.elu, F.softplus, lambda x: x.softmax(-1),
    lambda x: x.log_softmax(-1), lambda x: torch.pow(x, 3.0),
)  # fmt: skip


def probes() -> tuple[nn.Module, ...]:
    """One module per probed op (each runs its op once on a ``PROBE_SHAPE`` input)."""
    return tuple(Unary(fn) for fn in _OPS)


def fit_weights(timed: Sequence[tuple[str, float, float]]) -> dict[str, float]:
    """Each op's weight from (its ``weight_key``, seconds per call, element-wise ops counted per call): its seconds
    per counted op over the sigmoid's (none without the sigmoid's probe; an op counted as no work is left out)."""
    per_op = {key: seconds / count for key, seconds, count in timed if count > 0 and seconds > 0}
    reference = per_op.get(REFERENCE_KEY)
    if reference is None:
        return {}
    return {key: value / reference for key, value in per_op.items()}
