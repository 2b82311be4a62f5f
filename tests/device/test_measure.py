"""``costmodel.measure``: statistics, the per-node breakdown, progress, bad input. Nothing here asserts a time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

import costmodel
from costmodel import Timing
from costmodel.cli import main
from costmodel.device.contention import Contention, available_cores
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


_SPINNER = "import time\nend = time.time() + 60\nwhile time.time() < end:\n    pass\n"


def test_a_busy_core_is_said_and_a_quiet_run_is_not() -> None:
    """Another process spinning on a core while the model runs on every core: the timing says the cores were
    oversubscribed. Run on one thread with the cores otherwise idle, it says nothing of the kind."""
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1))
    cores = available_cores()
    spinners = [subprocess.Popen([sys.executable, "-c", _SPINNER]) for _ in range(cores)]
    try:
        time.sleep(0.3)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            busy = costmodel.measure(model, (1, 3, 32, 32), budget_s=0.3, per_node=False, threads=cores)
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    assert any("oversubscribed" in p for p in busy.problems), busy.problems
    assert any("oversubscribed" in str(w.message) for w in caught)
    assert "UNSTABLE" in str(busy)
    quiet = costmodel.measure(model, (1, 3, 32, 32), budget_s=0.3, per_node=False, threads=1)
    assert not any("oversubscribed" in p for p in quiet.problems), quiet.problems


def test_contention_is_read_from_the_processors_counters() -> None:
    quiet = Contention(wall=1.0, threads=1, cores=2, others=0.2, steal=0.0, load=0.5)
    assert quiet.problems() == []
    crowded = Contention(wall=1.0, threads=2, cores=2, others=0.9, steal=0.0, load=2.9)
    (said,) = crowded.problems()
    assert "other processes kept 0.9 of the 2 cores busy while it ran on 2 threads" in said
    stolen = Contention(wall=1.0, threads=1, cores=2, others=0.0, steal=0.2, load=0.5)
    assert stolen.problems() == ["the hypervisor took 20% of the processor's time (steal): the times are inflated"]


_FAULTING = """
import json, torch, costmodel
from torch import nn
class Add(nn.Module):
    def forward(self, x):
        return x + 1
runs = {size: costmodel.measure(Add(), (size,), budget_s=0.05, min_repeats=3, per_node=False, progress=False)
        for size in (12 * 2**20, 1024)}
print(json.dumps({size: [m.page_faults, str(m), m.to_dict()["page_faults_per_run"]] for size, m in runs.items()}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator and Linux's fault counter")
def test_page_faults_per_run_are_counted_and_said_when_many() -> None:
    """In a fresh process an output of 48 MiB is above glibc's largest mmap threshold and finds no free block of
    its size on the heap: mapped and faulted in anew on every run (one fault per 4 KiB page, 12288 in all; far
    fewer where transparent huge pages are always on); 4 KiB of output is served from the heap. (A long-lived
    process may hold a free block that large and serve it without a fault: hence a process of its own.)"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run([sys.executable, "-c", _FAULTING], capture_output=True, text=True, env=env, check=True)
    (big, big_text, big_json), (small, small_text, _) = json.loads(done.stdout.splitlines()[-1]).values()
    huge = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    always_huge = huge.exists() and "[always]" in huge.read_text()
    assert big >= (20 if always_huge else 0.9 * 48 * 2**20 / 4096)
    assert big_json == big
    assert ("page faults:" in big_text) == (big >= 1024)
    assert small < 64
    assert "page faults:" not in small_text
