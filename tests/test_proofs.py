"""The sympy proofs verify, use the walker's own formulas, and would catch a false claim."""

from __future__ import annotations

import json

import pytest
import sympy as sp
import torch
from torch import nn

import costmodel
from costmodel import mac
from costmodel.cli import main
from costmodel.proofs import PROOFS, conv_cost, prove_all


@pytest.mark.parametrize("name", list(PROOFS))
def test_each_proof_is_verified_step_by_step(name: str) -> None:
    proof = PROOFS[name]()
    assert proof.verified is True
    assert all(step.holds is True for step in proof.steps)
    assert len(proof.steps) >= 3


def test_certificates_are_needed_because_sympy_cannot_sign_the_raw_difference() -> None:
    h, w, c1, c2 = sp.symbols("h w c1 c2", positive=True)
    cost = conv_cost(c1, c2, h, w)
    raw = cost.mac - (2 * sp.sqrt(h * w * cost.flops) + cost.flops / (h * w))
    assert raw.is_nonnegative is None  # unknown: not a proof
    assert sp.simplify(raw - h * w * (sp.sqrt(c1) - sp.sqrt(c2)) ** 2) == 0


def test_a_false_bound_is_not_verified() -> None:
    h, w, c1, c2 = sp.symbols("h w c1 c2", positive=True)
    cost = conv_cost(c1, c2, h, w)
    too_strong = 3 * sp.sqrt(h * w * cost.flops) + cost.flops / (h * w)
    certificate = h * w * (sp.sqrt(c1) - sp.sqrt(c2)) ** 2
    assert sp.simplify(cost.mac - too_strong - certificate) != 0
    assert sp.simplify(cost.mac - too_strong).is_nonnegative is not True


def test_symbolic_costs_are_the_walkers_numbers_when_evaluated() -> None:
    # The same formula on symbols, then evaluated, equals the walker's report on a real layer.
    h, w, c1, c2, g = sp.symbols("h w c1 c2 g", positive=True)
    cost = conv_cost(c1, c2, h, w, groups=g)
    values = {h: 14, w: 14, c1: 96, c2: 192, g: 4}
    rep = costmodel.report(nn.Conv2d(96, 192, 1, groups=4, bias=False), (1, 96, 14, 14))
    assert (int(cost.flops.subs(values)), int(cost.mac.subs(values))) == (rep.flops, rep.mac)


def test_mac_closed_forms_agree_with_the_walker_on_a_kxk_conv() -> None:
    layer = nn.Conv2d(24, 40, 3, padding=1, groups=2, bias=False)
    rep = costmodel.report(layer, (1, 24, 10, 10))
    assert rep.flops == mac.conv_flops(100, 24, 40, 2, 9)
    assert rep.mac == mac.conv_mac(100, 24, 40, 2, 9)
    assert torch.tensor(rep.mac) >= torch.tensor(mac.g1_lower_bound(100, rep.flops, 2, 9))


def test_proofs_render_as_text_latex_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    g1 = prove_all()[0]
    assert "certificate: h*w*(sqrt(c1) - sqrt(c2))**2" in str(g1)
    assert g1._repr_latex_().startswith("$\\begin{aligned}")
    assert main(["prove", "g1", "g2", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in data] == ["G1", "G2"]
    assert all(p["verified"] for p in data)
    assert main(["prove"]) == 0
    assert "verified: True" in capsys.readouterr().out
    assert main(["prove", "g9"]) == 2


def test_an_unknown_proof_name_lists_every_proof(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "g9"]) == 2
    error = capsys.readouterr().err
    assert all(name in error for name in PROOFS)
