"""Property tests: the G1 bound and G2 growth in exact arithmetic, and invariants on generated networks."""

from __future__ import annotations

from fractions import Fraction

import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from torch import nn

import costmodel
from costmodel import mac
from tests.strategies import networks

dims = st.integers(1, 64)
channels = st.integers(1, 512)


@given(h=dims, w=dims, c1=channels, c2=channels)
def test_mac_never_goes_below_the_g1_bound(h: int, w: int, c1: int, c2: int) -> None:
    # MAC >= 2 sqrt(hw B) + B/hw  <=>  (MAC - B/hw)^2 >= 4 hw B with MAC - B/hw >= 0: exact, no floats.
    hw = Fraction(h * w)
    flops = mac.conv_flops(hw, Fraction(c1), Fraction(c2))
    cost = mac.conv_mac(hw, Fraction(c1), Fraction(c2))
    left = cost - flops / hw
    assert left >= 0
    assert left**2 >= 4 * hw * flops


@given(h=dims, w=dims, c1=channels, c2=channels)
def test_mac_is_minimised_exactly_when_channels_are_equal(h: int, w: int, c1: int, c2: int) -> None:
    hw = Fraction(h * w)
    flops = mac.conv_flops(hw, Fraction(c1), Fraction(c2))
    left = mac.conv_mac(hw, Fraction(c1), Fraction(c2)) - flops / hw
    assert (left**2 == 4 * hw * flops) == (c1 == c2)


@given(
    h=dims, w=dims, c1=channels, flops_per_position=st.integers(1, 10**6), g1=st.integers(1, 64), g2=st.integers(1, 64)
)
def test_mac_grows_with_groups_at_fixed_flops(
    h: int, w: int, c1: int, flops_per_position: int, g1: int, g2: int
) -> None:
    assume(g1 != g2)
    positions = Fraction(h * w)
    flops = positions * flops_per_position
    low, high = sorted((g1, g2))
    assert mac.g2_mac(positions, Fraction(c1), flops, low) < mac.g2_mac(positions, Fraction(c1), flops, high)


@given(size=st.integers(1, 12), c1=st.integers(1, 48), c2=st.integers(1, 48), batch=st.integers(1, 2))
def test_walker_pointwise_convs_respect_the_g1_bound(size: int, c1: int, c2: int, batch: int) -> None:
    rep = costmodel.report(nn.Conv2d(c1, c2, 1, bias=False), (batch, c1, size, size))
    positions = batch * size * size
    left = rep.mac - Fraction(rep.flops, positions)
    assert left**2 >= 4 * positions * rep.flops
    assert (left**2 == 4 * positions * rep.flops) == (c1 == c2)


@given(
    per_group=st.integers(1, 8),
    out_per_group=st.integers(1, 8),
    size=st.integers(1, 10),
    groups=st.sampled_from([(1, 2), (2, 4), (1, 4), (4, 8)]),
)
def test_walker_grouped_convs_cost_more_mac_at_equal_flops(
    per_group: int, out_per_group: int, size: int, groups: tuple[int, int]
) -> None:
    # c1 fixed; c2 = g * m keeps FLOPs = hw c1 m equal; the walker's MAC must grow with g.
    low, high = groups
    c1 = 8 * per_group
    reports = [
        costmodel.report(nn.Conv2d(c1, g * out_per_group, 1, groups=g, bias=False), (1, c1, size, size))
        for g in (low, high)
    ]
    assert reports[0].flops == reports[1].flops
    assert reports[0].mac < reports[1].mac


@given(networks())
def test_report_totals_are_the_sum_of_its_nodes(model: nn.Module) -> None:
    rep = costmodel.report(model, (1, model.in_channels, 8, 8))
    assert rep.flops == sum(n.flops for n in rep.nodes)
    assert rep.mac == sum(n.mac for n in rep.nodes)
    assert rep.elementwise == sum(n.elementwise for n in rep.nodes)
    assert rep.params == sum({id(p): p.numel() for p in model.parameters()}.values())
    assert not rep.unsupported


@given(networks())
def test_report_flops_equal_the_flop_counter_on_generated_networks(model: nn.Module) -> None:
    from tests.conftest import torch_flop_counter_macs

    x = torch.zeros(1, model.in_channels, 8, 8)
    assert costmodel.report(model, tuple(x.shape)).flops == torch_flop_counter_macs(model, x)


@given(networks(), st.booleans())
def test_report_and_lint_never_mutate_the_model(model: nn.Module, training: bool) -> None:
    model.train(training)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [m.training for m in model.modules()]
    hooks = [len(m._forward_hooks) for m in model.modules()]
    found = costmodel.lint(model, (1, model.in_channels, 8, 8))
    assert isinstance(found, tuple)
    assert all(isinstance(d, costmodel.Diagnostic) and d.code in costmodel.RULES for d in found)
    assert [m.training for m in model.modules()] == flags
    assert [len(m._forward_hooks) for m in model.modules()] == hooks
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_generated_networks_cover_every_construct() -> None:
    from hypothesis import find

    for kind in ("Add", "Concat", "Shuffle", "Depthwise", "Grouped"):
        model = find(networks(), lambda m, kind=kind: any(type(x).__name__.startswith(kind) for x in m.modules()))
        assert any(type(x).__name__.startswith(kind) for x in model.modules())
