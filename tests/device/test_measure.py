"""``costmodel.measure``: statistics, the per-node breakdown, progress, bad input. Nothing here asserts a time."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import costmodel
from costmodel import Timing
from costmodel.cli import main
from costmodel.graph.taxonomy import CATEGORIES, category
from costmodel.zoo import shufflenet_v1
from tests.nets import small_cnn

QUICK = {"budget_s": 0.0, "min_repeats": 3, "max_repeats": 3, "warmup": 1}


def test_timing_statistics_are_computed_from_the_samples() -> None:
    timing = Timing((0.004, 0.001, 0.003, 0.002, 0.010))
    assert timing.median == 0.003
    assert timing.mean == pytest.approx(0.004)
    assert timing.iqr == (0.002, 0.004)
    assert timing.spread == pytest.approx(0.002 / 0.003)
    assert Timing((0.5,)).stdev == 0.0


def test_measure_runs_the_requested_repeats_and_records_threads() -> None:
    result = costmodel.measure(small_cnn(), (2, 3, 16, 16), threads=1, **QUICK)
    assert len(result.total.samples) == 3
    assert all(s > 0 for s in result.total.samples)
    assert result.threads == 1
    assert result.batch == 2
    assert result.images_per_second == pytest.approx(2 / result.total.median)
    assert result.device.startswith("cpu")


def test_threads_setting_is_restored() -> None:
    before = torch.get_num_threads()
    costmodel.measure(small_cnn(), (1, 3, 8, 8), threads=1, per_node=False, **QUICK)
    assert torch.get_num_threads() == before


def test_per_node_times_cover_the_whole_graph_and_join_the_report() -> None:
    result = costmodel.measure(shufflenet_v1(3, 0.25), (1, 3, 64, 64), **QUICK)
    names = {n.name for n in result.report.nodes}
    assert set(result.node_times) == names
    assert all(n.extras["time_ms"] >= 0 for n in result.report.nodes)
    parts = result.breakdown()
    assert list(parts) == list(CATEGORIES)
    assert sum(parts.values()) == pytest.approx(sum(result.node_times.values()))
    assert sum(result.breakdown_by_kind().values()) == pytest.approx(sum(result.node_times.values()))


def test_categories_follow_the_papers_figure_2() -> None:
    rep = costmodel.report(shufflenet_v1(3, 0.25), (1, 3, 64, 64))
    nodes = {n.name: n for n in rep.nodes}
    by_target: dict[str, set[str]] = {}
    for node in rep.nodes:
        by_target.setdefault(node.target, set()).add(category(node, nodes))
    assert by_target["Conv2d"] == {"conv"}
    assert by_target["BatchNorm2d"] == {"elementwise"}
    assert by_target["ChannelShuffle"] == {"shuffle"}  # a layer: view, transpose, then the copy
    assert by_target["cat"] == {"data"}
    assert by_target["MaxPool2d"] == {"other"}


def test_progress_is_off_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    costmodel.measure(small_cnn(), (1, 3, 8, 8), **QUICK)
    assert capsys.readouterr().err == ""


def test_progress_can_be_forced_on() -> None:
    result = costmodel.measure(small_cnn(), (1, 3, 8, 8), progress=True, **QUICK)
    assert len(result.total.samples) == 3


def test_measure_leaves_the_model_as_it_was() -> None:
    model = small_cnn().train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    costmodel.measure(model, (2, 3, 8, 8), **QUICK)
    assert all(m.training for m in model.modules())
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())  # BN statistics untouched


def test_bad_input_is_reported_clearly() -> None:
    with pytest.raises(costmodel.ShapeError, match=r"layer '0'"):
        costmodel.measure(small_cnn(), (1, 4, 8, 8), **QUICK)
    with pytest.raises(costmodel.UnsupportedInput, match=r"expects a torch\.nn\.Module"):
        costmodel.measure("model", (1, 3, 8, 8))
    with pytest.raises(costmodel.UnsupportedInput, match="min_repeats"):
        costmodel.measure(small_cnn(), (1, 3, 8, 8), min_repeats=0)
    with torch.device("meta"):
        meta = nn.Linear(4, 4)
    with pytest.raises(costmodel.UnsupportedInput, match="meta device"):
        costmodel.measure(meta, (1, 4))


def test_measure_command_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["measure", "shufflenet_v2_x0.5", "--input-shape", "1,3,64,64", "--budget", "0"]
    assert main([*args, "--min-repeats", "2", "--max-repeats", "2", "--format", "json"]) == 0
    (data,) = json.loads(capsys.readouterr().out)
    assert data["repeats"] == 2
    assert set(data["breakdown_ms"]) == set(CATEGORIES)
    assert main([*args, "--min-repeats", "1", "--max-repeats", "1", "--no-per-node"]) == 0
    assert "images/s" in capsys.readouterr().out


def test_inputs_built_from_shapes_take_the_models_dtype() -> None:
    model = nn.Sequential(nn.Linear(4, 4)).double()  # float64 runs on CPU; a float32 input would fail
    result = costmodel.measure(model, (2, 4), **QUICK)
    assert result.report.mac_bytes == 8 * result.report.mac
