"""The device path on every device torch sees: the CPU always, CUDA where a GPU is (skipped elsewhere).

These are the checks ``benchmarks/bench_cuda.py`` ran on a lent H200 (2026-12-04, ``benchmarks/results/device``):
the report does not depend on where the weights are, ``measure()`` times a model and its nodes on the model's
device, and a profile calibrated on a device names it and prices every node.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import costmodel
from costmodel.zoo import MODELS

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
]
SHAPE = (1, 3, 64, 64)


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return MODELS["shufflenet_v2_x0.5"]().eval()


@pytest.mark.parametrize("device", DEVICES)
def test_the_report_does_not_depend_on_where_the_weights_are(device: str) -> None:
    model = _model()
    moved = copy.deepcopy(model).to(device)
    here, there = costmodel.report(model, SHAPE), costmodel.report(moved, SHAPE)
    assert (there.flops, there.params, there.mac, len(there.nodes)) == (
        here.flops,
        here.params,
        here.mac,
        len(here.nodes),
    )
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        moved(torch.randn(SHAPE, device=device))
    assert there.flops == counter.get_total_flops() // 2  # FlopCounterMode counts a multiply-add as 2
    assert all(p.device.type == device for p in moved.parameters())  # left where it was


@pytest.mark.parametrize("device", DEVICES)
def test_measure_times_the_model_and_each_node_on_its_device(device: str) -> None:
    model = _model().to(device)
    timed = costmodel.measure(model, SHAPE, budget_s=0.05, min_repeats=3, warmup=1, progress=False)
    assert timed.total.median > 0
    assert set(timed.node_times) == {node.name for node in timed.report.nodes}
    assert all(seconds >= 0 for seconds in timed.node_times.values())


@pytest.mark.parametrize("device", DEVICES)
def test_a_profile_calibrated_on_a_device_names_it_and_prices_every_node(device: str) -> None:
    profile = costmodel.calibrate(budget_s=1.0, scale=0.05, threads=1, device=device, progress=False)
    assert profile.device.startswith(device)
    rep = costmodel.report(_model().to(device), SHAPE, profile=profile)
    priced = [node.predicted_ms for node in rep.nodes if node.ops]
    assert priced
    assert all(ms is not None and ms > 0 for ms in priced)
    assert rep.predicted_ms == pytest.approx(sum(node.predicted_ms or 0.0 for node in rep.nodes))
    # the reference re-timed on the same device: a positive scale on every prediction (no time is asserted)
    now = costmodel.recheck(profile, budget_s=0.3)
    assert now.time_scale > 0
    assert now.rechecked
    again = costmodel.report(_model().to(device), SHAPE, profile=now).predicted_ms
    assert again == pytest.approx(now.time_scale * rep.predicted_ms, rel=1e-9)
