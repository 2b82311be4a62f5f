"""The ShuffleNet V2 MAC arguments (G1, G2) proved with sympy, on costmodel's own formulas.

Every proof starts from ``costmodel.ops.conv.convolution`` (the formula the
walker uses) applied to an ``OpCall`` whose shapes are positive sympy symbols,
so what is proved is the library's MAC and FLOPs, not a second copy of them.
An inequality is proved by a *certificate*: an expression non-negative by
construction (a square times positive symbols) that sympy shows equal to
``lhs - rhs``. Each step is checked with ``is True``: "sympy could not refute
it" (``None``) is not a proof.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp

from costmodel import mac
from costmodel.ops.conv import ConvArgs, convolution
from costmodel.records import record
from costmodel.types import Cost

__all__ = [
    "PROOFS",
    "Proof",
    "Step",
    "g1_general",
    "g1_lower_bound",
    "g1_strided",
    "g2_general",
    "g2_mac_grows",
    "prove_all",
]


@record
class Step:
    """One checked fact: what it says, the sympy expression, and whether sympy proved it."""

    says: str
    expression: Any
    holds: bool


@record
class Proof:
    """A claim, its certificate, and the steps that verify it."""

    name: str
    claim: str
    statement: Any  # a sympy relation
    certificate: Any | None
    steps: tuple[Step, ...]

    @property
    def verified(self) -> bool:
        """Every step holds (each checked ``is True``)."""
        return all(step.holds for step in self.steps)

    def __str__(self) -> str:
        lines = [f"{self.name}: {self.claim}", f"  claim: {sp.sstr(self.statement)}"]
        if self.certificate is not None:
            lines.append(f"  certificate: {sp.sstr(self.certificate)}")
        lines += [f"  [{'ok' if s.holds else 'FAILED'}] {s.says}: {sp.sstr(s.expression)}" for s in self.steps]
        lines.append(f"  verified: {self.verified}")
        return "\n".join(lines)

    def _repr_latex_(self) -> str:
        rows = [rf"\text{{{self.name}: }} & {sp.latex(self.statement)}"]
        if self.certificate is not None:
            rows.append(rf"\text{{certificate: }} & {sp.latex(self.certificate)} \geq 0")
        rows += [rf"\text{{{'✓' if s.holds else '✗'} {s.says}: }} & {sp.latex(s.expression)}" for s in self.steps]
        return r"$\begin{aligned}" + r"\\ ".join(rows) + r"\end{aligned}$"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (expressions as sympy strings)."""
        return {
            "name": self.name,
            "claim": self.claim,
            "statement": sp.sstr(self.statement),
            "certificate": sp.sstr(self.certificate) if self.certificate is not None else None,
            "steps": [{"says": s.says, "expression": sp.sstr(s.expression), "holds": s.holds} for s in self.steps],
            "verified": self.verified,
        }


def _positive(names: str) -> tuple[sp.Symbol, ...]:
    return sp.symbols(names, positive=True)


def conv_cost(
    c1: Any, c2: Any, h: Any, w: Any, *, groups: Any = 1, kernel: Any = 1, out_h: Any = None, out_w: Any = None
) -> Cost:
    """The walker's conv formula on symbolic shapes [1, c1, h, w] -> [1, c2, out_h, out_w], bias-free (as the paper)."""
    out_size = (h if out_h is None else out_h, w if out_w is None else out_w)
    return convolution(ConvArgs.conv2d(c1, c2, (h, w), out_size, groups=groups, kernel=kernel).to_call())


def _zero(expression: Any) -> bool:
    return sp.simplify(expression) == 0


def _certified(difference: Any, certificate: Any, vanishes_at: tuple[Any, Any] | None = None) -> tuple[Step, ...]:
    """Steps proving ``difference >= 0``: it equals a certificate that is non-negative by construction.

    With ``vanishes_at = (x, value)`` also that the certificate is zero only at x = value (the equality case).
    """
    steps = [
        Step(
            "MAC - bound equals the certificate", sp.expand(difference - certificate), _zero(difference - certificate)
        ),
        Step("the certificate is non-negative", certificate, certificate.is_nonnegative is True),
    ]
    if vanishes_at is not None:
        variable, value = vanishes_at
        roots = sp.solve(sp.Eq(certificate, 0), variable)
        steps.append(Step(f"the certificate vanishes only at {variable} = {value}", roots, roots == [value]))
    return tuple(steps)


def g1_lower_bound() -> Proof:
    """G1: a 1x1 conv's MAC >= 2*sqrt(hw*B) + B/hw, with equality exactly when c1 = c2."""
    h, w, c1, c2, b = _positive("h w c1 c2 B")
    cost = conv_cost(c1, c2, h, w)
    flops, mac_ = cost.flops, cost.mac
    claimed = 2 * sp.sqrt(h * w * b) + b / (h * w)
    bound = claimed.subs(b, flops)
    certificate = h * w * (sp.sqrt(c1) - sp.sqrt(c2)) ** 2
    return Proof(
        "G1",
        "for a 1x1 conv with c1 inputs and c2 outputs on an h x w map, MAC >= 2 sqrt(hw B) + B/hw, "
        "with equality iff c1 = c2",
        sp.GreaterThan(sp.Symbol("MAC"), claimed),
        certificate,
        (
            Step("the walker's FLOPs are B = hw c1 c2", flops, _zero(flops - h * w * c1 * c2)),
            Step("the walker's MAC is hw(c1 + c2) + c1 c2", mac_, _zero(mac_ - (h * w * (c1 + c2) + c1 * c2))),
            *_certified(mac_ - bound, certificate, (c2, c1)),
            Step(
                "the rules' bound (costmodel.mac) is this bound",
                mac.g1_lower_bound(h * w, flops),
                _zero(mac.g1_lower_bound(h * w, flops) - bound),
            ),
        ),
    )


def g1_general() -> Proof:
    """G1 for a k x k conv with g groups: MAC >= 2*sqrt(N*B*g/k^2) + B/N, equality iff c1 = c2."""
    h, w, c1, c2, g, k, b = _positive("h w c1 c2 g k B")
    cost = conv_cost(c1, c2, h, w, groups=g, kernel=k)
    flops, mac_ = cost.flops, cost.mac
    n = h * w
    claimed = mac.g1_lower_bound(n, b, g, k * k)
    bound = claimed.subs(b, flops)
    certificate = n * (sp.sqrt(c1) - sp.sqrt(c2)) ** 2
    one_by_one = conv_cost(c1, c2, h, w)
    return Proof(
        "G1 (k x k, groups)",
        "for a stride-1 k x k conv with g groups over N = hw positions, MAC >= 2 sqrt(N B g / k^2) + B/N, "
        "with equality iff c1 = c2; at k = 1, g = 1 it is the paper's bound",
        sp.GreaterThan(sp.Symbol("MAC"), claimed),
        certificate,
        (
            *_certified(mac_ - bound, certificate, (c2, c1)),
            Step(
                "at k = 1, g = 1 the walker's cost is the 1x1 cost",
                (cost.flops.subs({k: 1, g: 1}), cost.mac.subs({k: 1, g: 1})),
                _zero(cost.flops.subs({k: 1, g: 1}) - one_by_one.flops)
                and _zero(cost.mac.subs({k: 1, g: 1}) - one_by_one.mac),
            ),
        ),
    )


def g1_strided() -> Proof:
    """G1 with stride: MAC >= 2*sqrt(N_in*B*g/k^2) + B/N_out, equality iff N_in*c1 = N_out*c2."""
    h, w, ho, wo, c1, c2, g, k, b = _positive("h w h_o w_o c1 c2 g k B")
    cost = conv_cost(c1, c2, h, w, groups=g, kernel=k, out_h=ho, out_w=wo)
    n_in, n_out = h * w, ho * wo
    claimed = 2 * sp.sqrt(n_in * b * g / k**2) + b / n_out
    bound = claimed.subs(b, cost.flops)
    certificate = (sp.sqrt(n_in * c1) - sp.sqrt(n_out * c2)) ** 2
    return Proof(
        "G1 (stride)",
        "for a k x k conv with g groups from h x w to h_o x w_o, MAC >= 2 sqrt(hw B g / k^2) + B/(h_o w_o), "
        "with equality iff hw c1 = h_o w_o c2; at stride 1 this is c1 = c2",
        sp.GreaterThan(sp.Symbol("MAC"), claimed),
        certificate,
        (
            *_certified(cost.mac - bound, certificate),
            Step(
                "at h_o = h, w_o = w the bound is the stride-1 bound (costmodel.mac)",
                claimed.subs({ho: h, wo: w}),
                _zero(claimed.subs({ho: h, wo: w}) - mac.g1_lower_bound(n_in, b, g, k * k)),
            ),
        ),
    )


def g2_mac_grows() -> Proof:
    """G2: MAC = hw*c1 + B*g/c1 + B/hw for a grouped 1x1 conv, strictly increasing in g at fixed B, c1."""
    h, w, c1, c2, g, flops_symbol = _positive("h w c1 c2 g B")
    cost = conv_cost(c1, c2, h, w, groups=g)
    flops, mac_ = cost.flops, cost.mac
    form = h * w * c1 + flops * g / c1 + flops / (h * w)
    # At fixed B and c1 the output width follows g: c2 = B g / (hw c1).
    at_fixed_b = mac_.subs(c2, flops_symbol * g / (h * w * c1))
    slope = sp.diff(at_fixed_b, g)
    return Proof(
        "G2",
        "for a 1x1 conv with g groups, MAC = hw c1 + B g / c1 + B/hw, which grows strictly with g at fixed B and c1",
        sp.Eq(sp.Symbol("MAC"), h * w * c1 + flops_symbol * g / c1 + flops_symbol / (h * w)),
        None,
        (
            Step("the walker's FLOPs are B = hw c1 c2 / g", flops, _zero(flops - h * w * c1 * c2 / g)),
            Step("the walker's MAC is hw(c1 + c2) + c1 c2 / g", mac_, _zero(mac_ - (h * w * (c1 + c2) + c1 * c2 / g))),
            Step("MAC equals hw c1 + B g / c1 + B/hw", sp.simplify(mac_ - form), _zero(mac_ - form)),
            Step("dMAC/dg at fixed B and c1 is B / c1", slope, _zero(slope - flops_symbol / c1)),
            Step("dMAC/dg is positive", slope, slope.is_positive is True),
            Step(
                "the rules' G2 form (costmodel.mac) agrees",
                mac.g2_mac(h * w, c1, flops_symbol, g),
                _zero(mac.g2_mac(h * w, c1, flops_symbol, g) - at_fixed_b),
            ),
        ),
    )


def g2_general() -> Proof:
    """G2 for any k x k kernel and stride: at fixed FLOPs and c1, MAC grows with g."""
    h, w, ho, wo, c1, c2, g, k, flops_symbol = _positive("h w h_o w_o c1 c2 g k B")
    cost = conv_cost(c1, c2, h, w, groups=g, kernel=k, out_h=ho, out_w=wo)
    at_fixed_b = cost.mac.subs(c2, sp.solve(sp.Eq(cost.flops, flops_symbol), c2)[0])
    slope = sp.diff(at_fixed_b, g)
    one_by_one = conv_cost(c1, c2, h, w, groups=g)
    return Proof(
        "G2 (k x k, stride)",
        "for a k x k conv with any stride (output h_o x w_o) and g groups, MAC = hw c1 + B g / (k^2 c1) + B/(h_o w_o) "
        "at fixed B and c1, so it grows with g; at k = 1, stride 1 it is the paper's form",
        sp.Eq(sp.Symbol("MAC"), h * w * c1 + flops_symbol * g / (k**2 * c1) + flops_symbol / (ho * wo)),
        None,
        (
            Step(
                "MAC at fixed B minus hw c1 + B g / (k^2 c1) + B/(h_o w_o)",
                sp.simplify(at_fixed_b - (h * w * c1 + flops_symbol * g / (k**2 * c1) + flops_symbol / (ho * wo))),
                _zero(at_fixed_b - (h * w * c1 + flops_symbol * g / (k**2 * c1) + flops_symbol / (ho * wo))),
            ),
            Step("dMAC/dg is positive", slope, slope.is_positive is True),
            Step(
                "at k = 1 and h_o = h, w_o = w it is the 1x1 cost",
                cost.mac.subs({k: 1, ho: h, wo: w}),
                _zero(cost.mac.subs({k: 1, ho: h, wo: w}) - one_by_one.mac)
                and _zero(cost.flops.subs({k: 1, ho: h, wo: w}) - one_by_one.flops),
            ),
        ),
    )


#: Every proof, by name.
PROOFS: dict[str, Callable[[], Proof]] = {
    "g1": g1_lower_bound,
    "g1-general": g1_general,
    "g1-strided": g1_strided,
    "g2": g2_mac_grows,
    "g2-general": g2_general,
}


def prove_all() -> tuple[Proof, ...]:
    """Run every proof."""
    return tuple(build() for build in PROOFS.values())
