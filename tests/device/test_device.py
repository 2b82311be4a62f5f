"""The device profile: fitting, JSON, prediction and device-aware findings. Nothing here asserts a time.

Profiles in these tests are written by hand with known coefficients, so every expected
number is computed here from the formula, not by the code under test.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import statistics
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import costmodel
from costmodel.cli import main
from costmodel.device import calibrate as calibrate_module
from costmodel.device.calibration import Case, memory, weights
from costmodel.device.calibration.ops import ColdLinear, Shifted, Unary
from costmodel.device.families import (
    CONV_FAMILIES,
    FEATURES,
    GRAIN_SIZE,
    MAPPED_FROM_BYTES,
    Family,
    features,
    weight_bytes,
    weight_key,
)
from costmodel.device.fit import fit_nonnegative
from costmodel.device.profile import DeviceProfile, FamilyFit, ProfileError
from costmodel.device.timing import Timing
from costmodel.graph import cost_graph
from costmodel.graph.inputs import normalize_inputs
from costmodel.types import OpKind
from costmodel.zoo import mobilenet_v2, shufflenet_v1, shufflenet_v2
from tests.nets import small_cnn

US = 1e-6


def known_profile(scale: float = 1.0) -> DeviceProfile:
    """Every family: 10 us a call, 20 us a parallel launch, 1 ns per op of work, 0.1 ns per byte (x scale)."""
    fit = FamilyFit(tuple(scale * c for c in (10 * US, 20 * US, 1e-9, 1e-9, 1e-10, 1e-10)), samples=0)
    return DeviceProfile(
        device="test device",
        threads=1,
        dtype="float32",
        torch_version="test",
        families={str(f): fit for f in Family},
        node_overhead={"call_module": 2 * US},
    )


def test_the_fit_recovers_known_terms_from_synthetic_timings() -> None:
    rng = random.Random(0)
    truth = (5 * US, 30 * US, 0.0, 2e-11, 3e-10, 0.0)  # two terms absent: the fit must find them zero
    rows = []
    for _ in range(60):
        parallel = rng.random() < 0.5
        work, moved = rng.uniform(1e4, 1e8), rng.uniform(1e3, 1e7)
        rows.append((1.0, float(parallel), 0.0 if parallel else work, work if parallel else 0.0,
                     0.0 if parallel else moved, moved if parallel else 0.0))  # fmt: skip
    seconds = [sum(c * v for c, v in zip(truth, row, strict=True)) for row in rows]
    fitted = fit_nonnegative(rows, seconds)
    for got, want in zip(fitted, truth, strict=True):
        assert got == pytest.approx(want, rel=1e-6, abs=1e-15)


def test_a_feature_no_row_has_gets_no_coefficient() -> None:
    """Grouped convolutions always run in oneDNN: their native-path columns are zero, and stay unpriced."""
    rows = [(1.0, 1.0, 0.0, w, 0.0, 2 * w) for w in (1e5, 3e5, 1e6, 3e6)]
    seconds = [10 * US + 1e-11 * w + 1e-12 * 2 * w for w in (1e5, 3e5, 1e6, 3e6)]
    fitted = fit_nonnegative(rows, seconds)
    assert fitted[2] == fitted[4] == 0.0
    assert fitted[0] + fitted[1] == pytest.approx(10 * US, rel=1e-6)  # one term in any split: both are always 1


def test_the_fit_never_returns_a_negative_time() -> None:
    rows = [(1.0, 0.0, x, 0.0, 0.0, 0.0) for x in (1.0, 2.0, 3.0, 4.0)]
    fitted = fit_nonnegative(rows, [4.0, 3.0, 2.0, 1.0])  # time falling with work: no non-negative slope fits
    assert all(c >= 0 for c in fitted)


def test_profile_json_round_trips(tmp_path: Path) -> None:
    profile = known_profile()
    path = tmp_path / "cpu.json"
    profile.save(path)
    assert DeviceProfile.load(path) == profile
    assert json.loads(path.read_text())["features"] == list(FEATURES)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("not json", "not JSON"),
        ('{"schema": 99}', "schema 99 is not 1"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_a_wrong_profile_file_is_refused_with_a_clear_error(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ProfileError, match=says):
        DeviceProfile.load(path)


def test_a_profile_with_a_field_missing_names_it(tmp_path: Path) -> None:
    data = known_profile().to_dict()
    del data["threads"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ProfileError, match="threads"):
        DeviceProfile.load(path)
    with pytest.raises(ProfileError, match="cannot read"):
        DeviceProfile.load(tmp_path / "missing.json")


def test_an_op_is_priced_by_its_features_and_the_formula() -> None:
    rep = costmodel.report(nn.Conv2d(16, 32, 1, bias=False), (1, 16, 8, 8))
    (op,) = rep.nodes[0].ops
    # 8*8 = 64 outputs per channel, 32 channels: 2048 outputs < GRAIN_SIZE, a serial kernel.
    # work = 64*16*32 = 32768 multiply-adds; bytes = 4*(16*64 + 32*16 + 32*64) = 14336.
    assert features(op) == (1.0, 0.0, 32768.0, 0.0, 14336.0, 0.0)
    expected = 10 * US + 32768 * 1e-9 + 14336 * 1e-10
    assert known_profile().op_seconds(op) == pytest.approx(expected)


def test_a_large_output_counts_as_a_parallel_launch() -> None:
    rep = costmodel.report(nn.ReLU(), (1, GRAIN_SIZE))
    (op,) = rep.nodes[0].ops
    assert features(op)[:2] == (1.0, 1.0)


def test_predictions_are_positive_and_add_up_over_nodes() -> None:
    rep = costmodel.report(small_cnn(), (1, 3, 32, 32), profile=known_profile())
    column = [n.predicted_ms for n in rep.nodes]
    assert all(v is not None and v >= 0 for v in column)
    assert any(v > 0 for v in column)
    assert rep.predicted_ms == pytest.approx(sum(column))
    assert rep.by_module(0)[0].predicted_ms == pytest.approx(rep.predicted_ms)
    assert sum(rep.column_by_kind("predicted_ms").values()) == pytest.approx(rep.predicted_ms)
    older = costmodel.report(small_cnn(), (1, 3, 32, 32), device=known_profile())  # the keyword's name before 0.3
    assert older.predicted_ms == rep.predicted_ms


def test_predictions_scale_with_the_profile_and_grow_with_width() -> None:
    shape = (1, 3, 224, 224)
    slow = costmodel.report(shufflenet_v2(1.0), shape, profile=known_profile(2.0)).predicted_ms
    fast = costmodel.report(shufflenet_v2(1.0), shape, profile=known_profile(1.0)).predicted_ms
    assert slow > fast
    times = [costmodel.report(mobilenet_v2(w), shape, profile=known_profile()).predicted_ms for w in (0.5, 1.0, 1.4)]
    assert times == sorted(times)
    assert costmodel.report(shufflenet_v2(1.0), shape).predicted_ms is None  # no profile, no prediction


def test_predictions_by_backend_grow_with_width_and_resolution() -> None:
    """Convolutions priced by ATen's backend (oneDNN's fixed cost above the native path's) stay monotone in size:
    growing a model moves its convolutions from the native path to oneDNN, never to a cheaper price."""
    native, onednn = (10 * US, 0.0, 2e-11, 0.0, 1e-10, 0.0), (10 * US, 90 * US, 0.0, 1e-11, 0.0, 1e-10)
    conv = FamilyFit(tuple(a + b for a, b in zip(native, onednn, strict=True)), 0, None, "backend")
    profile = dataclasses.replace(
        known_profile(), threads=2, families={**known_profile().families, **{str(f): conv for f in CONV_FAMILIES}}
    )
    for build, sizes in ((mobilenet_v2, (0.35, 0.5, 1.0, 1.4)), (shufflenet_v2, (0.5, 1.0, 1.5, 2.0))):
        times = [costmodel.report(build(w), (1, 3, 224, 224), device=profile).predicted_ms for w in sizes]
        assert times == sorted(times)
    sides = [costmodel.report(shufflenet_v2(1.0), (1, 3, s, s), device=profile).predicted_ms for s in (96, 160, 224)]
    assert sides == sorted(sides)


def test_findings_state_predicted_time_and_are_ranked_by_saving() -> None:
    rep = costmodel.report(shufflenet_v1(3, 1.0), (1, 3, 224, 224), profile=known_profile())
    savings = [f.data["saving_ms"] for f in rep.findings]
    assert savings == sorted(savings, reverse=True)
    assert all("predicted" in f.message and "saves" in f.message for f in rep.findings)
    assert all(f.data["predicted_ms"] >= f.data["saving_ms"] >= 0 for f in rep.findings if f.code != "G3")
    grouped = next(f for f in rep.findings if f.code == "G2")
    # G2's fix keeps the FLOPs and the input: the output is 3x narrower, so fewer bytes move.
    assert grouped.data["saving_ms"] > 0


def test_min_saving_quiets_findings_that_do_not_matter() -> None:
    model, shape = shufflenet_v1(3, 1.0), (1, 3, 224, 224)
    everything = costmodel.report(model, shape, profile=known_profile()).findings
    config = costmodel.LintConfig().merged(min_saving_ms=0.05)
    kept = costmodel.report(model, shape, profile=known_profile(), rules=config).findings
    assert 0 < len(kept) < len(everything)
    assert all(f.data["saving_ms"] >= 0.05 for f in kept)


def test_timing_statistics_flag_spread_drift_and_outliers() -> None:
    steady = Timing(tuple([1.0] * 30))
    assert steady.problems() == []
    drifting = Timing(tuple(1.0 + i / 30 for i in range(30)))  # the last third ~1.83 vs the first ~1.15
    assert any("drift" in p for p in drifting.problems())
    one_interrupted = Timing(tuple([1.0] * 29 + [50.0]))
    assert one_interrupted.outliers == 1
    assert one_interrupted.problems() == []  # 1 of 30: what the median is for
    spiky = Timing(tuple([1.0] * 25 + [50.0] * 2 + [1.0] * 3))
    assert spiky.outliers == 2
    assert any("2 of 30 runs are outliers" in p for p in spiky.problems())


def test_cli_reports_and_lints_with_a_device_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cpu.json"
    known_profile().save(path)
    assert main(["report", "shufflenet_v2_x0.5", "--profile", str(path), "--depth", "1"]) == 0
    out = capsys.readouterr().out
    assert "predicted_ms" in out
    assert "ms per inference" in out
    assert main(["lint", "shufflenet_v1_g3_x1.0", "--profile", str(path), "--format", "json"]) == 1
    found = json.loads(capsys.readouterr().out)
    assert [f["data"]["saving_ms"] for f in found] == sorted((f["data"]["saving_ms"] for f in found), reverse=True)
    assert main(["lint", "shufflenet_v1_g3_x1.0", "--device", str(path), "--min-saving", "100%"]) == 0
    assert main(["lint", "shufflenet_v1_g3_x1.0", "--min-saving", "1ms"]) == 2
    assert "--min-saving needs --profile" in capsys.readouterr().err
    assert main(["report", "shufflenet_v2_x0.5", "--device", str(tmp_path / "none.json")]) == 2
    assert "cannot read the device profile" in capsys.readouterr().err


def test_a_brief_calibration_fits_every_family_and_saves_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cpu.json"
    assert main(["calibrate", "-o", str(path), "--budget", "1", "--scale", "0.15", "--threads", "1"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "saved to" in out
    assert "held-out" in out
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("family"))
    rows = lines[start + 1 : next(i for i, line in enumerate(lines) if line.startswith("time of one call"))]
    assert len({line.index(" us") for line in rows}) == 1  # per call's unit in one column, however wide
    assert len({len(line) for line in rows}) == 1
    assert "costmodel calibrate: built and costed" in captured.err  # progress in words off a terminal
    assert "costmodel calibrate: timed" in captured.err
    profile = DeviceProfile.load(path)
    assert profile.threads == 1
    assert {str(f) for f in Family} - {str(Family.ATTENTION)} <= set(profile.families)
    assert all(c >= 0 for fit in profile.families.values() for c in fit.coefficients)
    assert profile.network_call_s >= 0
    assert profile.reference_s is not None  # timed in the calibration's rounds
    assert profile.reference_s > 0
    assert (profile.time_scale, profile.rechecked) == (1.0, "")
    assert profile.mapped_byte_s >= 0  # timed on the probes in the same rounds
    assert profile.op_weights[weights.REFERENCE_KEY] == 1.0  # every weight counted against the sigmoid's probe
    assert {"tanh", "exp", "gelu", "gelu:tanh", "_softmax"} <= set(profile.op_weights)
    assert all(w > 0 for w in profile.op_weights.values())
    assert "transcendental ops per element, times a sigmoid:" in out
    assert "fresh outputs of 32 MiB or more" in out
    assert "reference networks:" in out
    assert main(["calibrate", "--dtype", "int8x"]) == 2
    # --recheck times the reference again (one line on stderr) and scales the predictions
    assert main(["report", "shufflenet_v2_x0.5", "--profile", str(path), "--recheck", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert "costmodel: reference networks:" in captured.err
    assert "re-timed" in captured.err
    assert json.loads(captured.out)[0]["totals"]["predicted_ms"] > 0


def test_a_time_scale_multiplies_every_predicted_time_and_round_trips(tmp_path: Path) -> None:
    model, shape = shufflenet_v2(0.5), (1, 3, 64, 64)
    plain = known_profile()
    scaled = dataclasses.replace(plain, reference_s=0.05, time_scale=1.25, rechecked="2026-12-04T18:00:00+00:00")
    base, now = (costmodel.report(model, shape, profile=p) for p in (plain, scaled))
    assert now.predicted_ms == pytest.approx(1.25 * base.predicted_ms, rel=1e-12)
    for before, after in zip(base.nodes, now.nodes, strict=True):
        assert after.predicted_ms == pytest.approx(1.25 * (before.predicted_ms or 0.0), rel=1e-12, abs=1e-15)
    path = tmp_path / "scaled.json"
    scaled.save(path)
    assert DeviceProfile.load(path) == scaled
    assert "re-timed 2026-12-04T18:00:00+00:00: x1.25" in scaled.describe()
    older = plain.to_dict()
    del older["reference"]  # a profile calibrated before recheck existed
    assert DeviceProfile.from_dict(older) == plain
    assert "calibrate again to recheck" in plain.describe()
    broken = {**scaled.to_dict(), "reference": {"seconds": 0.05, "time_scale": -1}}
    with pytest.raises(ProfileError, match=r"time_scale -1\.0 is not positive"):
        DeviceProfile.from_dict(broken)


def test_recheck_refuses_a_profile_without_a_reference_and_a_bad_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(costmodel.UnsupportedInput, match="no reference timing"):
        costmodel.recheck(known_profile())
    with pytest.raises(costmodel.UnsupportedInput, match="budget_s must be positive"):
        costmodel.recheck(dataclasses.replace(known_profile(), reference_s=0.05), budget_s=0)
    with pytest.raises(costmodel.UnsupportedInput, match="device 'test device' is not one torch names"):
        costmodel.recheck(dataclasses.replace(known_profile(), reference_s=0.05))
    elsewhere = dataclasses.replace(known_profile(), device="cpu (Z80)", machine="Z80", reference_s=0.05)
    with pytest.raises(costmodel.UnsupportedInput, match="calibrated on Z80, this machine is"):
        costmodel.recheck(elsewhere)
    path = tmp_path / "old.json"
    known_profile().save(path)
    assert main(["report", "shufflenet_v2_x0.5", "--profile", str(path), "--recheck"]) == 2
    assert "no reference timing" in capsys.readouterr().err
    assert main(["report", "shufflenet_v2_x0.5", "--recheck"]) == 2
    assert "--recheck needs --profile" in capsys.readouterr().err


def test_work_between_calibration_rounds_runs_once_a_round_outside_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Other work timed in the calibration's rounds (the benchmark's models) does not eat its budget.

    The calibration reads a fake clock that moves 1 ms per reading (about a hundred readings a round, a few
    hundred in its warm-up); the work between rounds moves it 1000 s. Counted in the 2 s budget, that would
    stop the calibration at its minimum of 3 rounds; left out, it runs until its own readings pass the budget.
    """
    clock = [0.0]

    def perf_counter() -> float:
        clock[0] += 1e-3
        return clock[0]

    monkeypatch.setattr(calibrate_module.time, "perf_counter", perf_counter)
    rounds: list[int] = []

    def elsewhere() -> None:
        rounds.append(len(rounds))
        clock[0] += 1000.0

    costmodel.calibrate(budget_s=2.0, scale=0.05, threads=1, progress=False, between_rounds=elsewhere)
    assert len(rounds) > 3


def test_transcendental_activations_have_a_family_of_their_own() -> None:
    from costmodel.device.families import family

    model = nn.Sequential(nn.Linear(8, 8), nn.GELU(), nn.Sigmoid(), nn.Softmax(-1), nn.ReLU(), nn.Hardswish())
    rep = costmodel.report(model, (2, 8))
    by_op = {op.name.rstrip("_"): family(op) for node in rep.nodes for op in node.ops}
    assert by_op["gelu"] is by_op["sigmoid"] is by_op["_softmax"] is Family.TRANSCENDENTAL
    assert by_op["relu"] is by_op["hardswish"] is Family.ELEMENTWISE


def test_a_profile_without_the_transcendental_family_prices_them_as_elementwise() -> None:
    """Profiles calibrated before the family existed still price GELU: by the element-wise fit."""
    fit = FamilyFit((10 * US, 0.0, 1e-9, 1e-9, 0.0, 0.0), samples=0)
    old = DeviceProfile("old", 1, "float32", "test", {str(Family.ELEMENTWISE): fit, str(Family.MATMUL): fit})
    rep = costmodel.report(nn.GELU(), (4, 8), device=old)
    # one call: 10 us + 32 elements x 1 ns (the element-wise fit's serial work rate)
    assert rep.predicted_ms == pytest.approx((10 * US + 32 * 1e-9) * 1e3)


@pytest.mark.parametrize("threads", [1, 2])
def test_the_convolution_backend_rule_agrees_with_torchs_own_choice(threads: int) -> None:
    """``onednn_conv`` reads ATen's rule off recorded calls; torch's selector decides on real tensors."""
    from costmodel.device.families import onednn_conv
    from costmodel.ops.conv import ConvArgs

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        checked = 0
        for batch, c_in, side, c_out, kernel, stride, dilation, groups in itertools.product(
            (1, 2, 16), (8, 58, 232), (7, 14, 28), (16, 58), (1, 3, 5), (1, 2), (1, 2), (1, 2)
        ):
            if c_in % groups or c_out % groups or (kernel == 1 and dilation == 2) or (kernel - 1) * dilation >= side:
                continue
            x = torch.zeros(batch, c_in, side, side)
            w = torch.zeros(c_out, c_in // groups, kernel, kernel)
            chosen = torch._C._select_conv_backend(
                x, w, None, [stride] * 2, [0] * 2, [dilation] * 2, False, [0] * 2, groups, None
            )
            rep = costmodel.report(nn.Conv2d(c_in, c_out, kernel, stride, dilation=dilation, groups=groups,
                                             bias=False), tuple(x.shape))  # fmt: skip
            (conv,) = [op for node in rep.nodes for op in node.ops if op.kind is OpKind.CONV]
            assert onednn_conv(ConvArgs.from_call(conv.call), threads) == (chosen == torch._C._ConvBackend.Mkldnn)
            checked += 1
        assert checked > 300
    finally:
        torch.set_num_threads(before)


def test_a_family_fit_by_backend_prices_each_path_and_round_trips(tmp_path: Path) -> None:
    """A 1x1 conv of 58 channels on 28x28 goes to oneDNN, on 7x7 to ATen's native path (input <= 20480)."""
    native = (5 * US, 0.0, 1e-11, 0.0, 0.0, 0.0)  # per call 5 us, 100 G multiply-adds/s
    onednn = (5 * US, 100 * US, 0.0, 1e-11, 0.0, 0.0)  # and 100 us more for the oneDNN path
    fit = FamilyFit(tuple(a + b for a, b in zip(native, onednn, strict=True)), 8, 0.1, "backend")
    profile = DeviceProfile("cpu", 2, "float32", "test", {str(Family.CONV_1X1): fit})
    large = costmodel.report(nn.Conv2d(58, 58, 1, bias=False), (1, 58, 28, 28), device=profile)
    small = costmodel.report(nn.Conv2d(58, 58, 1, bias=False), (1, 58, 7, 7), device=profile)
    assert large.predicted_ms == pytest.approx((10 * US + 100 * US + 58 * 58 * 784 * 1e-11) * 1e3)
    assert small.predicted_ms == pytest.approx((10 * US + 58 * 58 * 49 * 1e-11) * 1e3)
    path = tmp_path / "p.json"
    profile.save(path)
    assert DeviceProfile.load(path).families[str(Family.CONV_1X1)].regime == "backend"
    data = json.loads(path.read_text())
    del data["families"]["conv_1x1"]["regime"]  # a profile from before regimes: by grain
    assert DeviceProfile.from_dict(data).families[str(Family.CONV_1X1)].regime == "grain"
    data["families"]["conv_1x1"]["regime"] = "cache"
    with pytest.raises(ProfileError, match="regime 'cache'"):
        DeviceProfile.from_dict(data)


def test_a_cold_linear_is_costed_as_a_linear_and_reads_a_new_copy_of_its_weights_each_call() -> None:
    torch.manual_seed(0)
    cold, plain = ColdLinear(64, 32), nn.Linear(64, 32)
    plain.load_state_dict(cold.state_dict())
    cold_report, plain_report = costmodel.report(cold, (8, 64)), costmodel.report(plain, (8, 64))
    assert [op.call.target for n in cold_report.nodes for op in n.ops] == [
        op.call.target for n in plain_report.nodes for op in n.ops
    ]
    assert (cold_report.flops, cold_report.params) == (plain_report.flops, plain_report.params) == (8 * 64 * 32, 2080)
    pool = torch.randn(3 * 64 * 32 + 5)  # three whole copies; the tail is never read
    cold.rotate(pool)
    x = torch.randn(8, 64)
    for call in range(4):
        copy = (call + 1) % 3
        weights = pool[copy * 64 * 32 : (copy + 1) * 64 * 32].view(32, 64)
        torch.testing.assert_close(cold(x), x @ weights.T + cold.bias)


@pytest.mark.parametrize(
    ("layer", "shape", "dtype", "expected"),
    [
        (nn.Linear(64, 32), (8, 64), torch.float32, 4 * (64 * 32 + 32)),
        (nn.Linear(64, 32, bias=False), (2, 5, 64), torch.bfloat16, 2 * 64 * 32),
        (nn.Conv2d(8, 8, 3), (1, 8, 16, 16), torch.float32, 0),  # a convolution reuses its weights per pixel
        (nn.LayerNorm(64), (8, 64), torch.float32, 0),
    ],
)
def test_weight_bytes_are_a_matrix_products_parameters_at_its_dtype(
    layer: nn.Module, shape: tuple[int, ...], dtype: torch.dtype, expected: int
) -> None:
    rep = costmodel.report(layer.to(dtype), costmodel.TensorSpec(shape, dtype))
    assert sum(weight_bytes(node) for node in rep.nodes) == expected


def test_the_cold_weight_term_is_fit_on_warm_and_cold_twins_and_priced_per_linear_node(tmp_path: Path) -> None:
    runs = []
    for k, n in ((64, 64), (256, 128), (512, 512)):
        graph, _ = cost_graph(nn.Linear(k, n), normalize_inputs((4, k), nn.Linear(k, n)), "case")
        warm = 20 * US + k * n * 1e-10
        bytes_ = 4 * (k * n + n)
        for cold, seconds in ((False, warm), (True, warm + 6e-11 * bytes_)):
            case = Case(f"linear {k}->{n}", Family.MATMUL, lambda: nn.Identity(), ((4, k),), cold=cold)
            runs.append(calibrate_module.CalibrationRun(case, graph, seconds))
    assert calibrate_module._fit_cold_weights(runs) == pytest.approx(6e-11, rel=1e-6)
    assert calibrate_module._fit_cold_weights(runs[::2]) == 0.0  # no cold twins: no term

    profile = dataclasses.replace(known_profile(), cold_weight_byte_s=6e-11)
    plain, charged = (costmodel.report(nn.Linear(512, 512), (4, 512), profile=p) for p in (known_profile(), profile))
    assert charged.predicted_ms - plain.predicted_ms == pytest.approx(6e-11 * 4 * (512 * 512 + 512) * 1e3)
    path = tmp_path / "cpu.json"
    profile.save(path)
    assert DeviceProfile.load(path) == profile
    older = profile.to_dict()
    del older["network"]["cold_weight_byte_s"]  # a profile from before the term: none charged
    assert DeviceProfile.from_dict(older).cold_weight_byte_s == 0.0


class _Shift(nn.Module):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.add_(1) if self.inplace else x + 1


def test_fresh_outputs_of_32_mib_or_more_pay_the_mapped_term_per_byte(tmp_path: Path) -> None:
    mib = 2**20
    assert memory.fit_mapped_byte_s([(48 * mib, 0.020, 0.005), (96 * mib, 0.040, 0.010)]) == pytest.approx(
        statistics.median([0.015 / (48 * mib), 0.030 / (96 * mib)])
    )
    assert memory.fit_mapped_byte_s([(48 * mib, 0.004, 0.005)]) == 0.0  # faster fresh (noise): no term
    assert memory.fit_mapped_byte_s([]) == 0.0
    assert all(size > MAPPED_FROM_BYTES for size in memory.PROBE_BYTES)

    profile = dataclasses.replace(known_profile(), mapped_byte_s=3e-10)
    for numel, inplace, charged in (
        (32 * mib // 4, False, 32 * mib),  # exactly the threshold: mapped
        (32 * mib // 4 - 1, False, 0),  # one element under: served from the heap
        (40 * mib // 4, True, 0),  # in place: no new output
        (40 * mib // 4, False, 40 * mib),
    ):
        spec = costmodel.TensorSpec((numel,), torch.float32)
        plain, now = (costmodel.report(_Shift(inplace), spec, profile=p) for p in (known_profile(), profile))
        assert now.predicted_ms - plain.predicted_ms == pytest.approx(3e-10 * charged * 1e3, abs=1e-9)
    path = tmp_path / "mapped.json"
    profile.save(path)
    assert DeviceProfile.load(path) == profile
    assert "fresh outputs of 32 MiB or more (pages mapped anew each call): 300.0 us per MB" in profile.describe()
    older = profile.to_dict()
    del older["memory"]  # a profile from before the term: none charged
    assert DeviceProfile.from_dict(older).mapped_byte_s == 0.0
    bad = profile.to_dict()
    bad["memory"]["mapped_from_bytes"] = 0
    with pytest.raises(ProfileError, match="mapped_from_bytes 0"):
        DeviceProfile.from_dict(bad)


@pytest.mark.parametrize(
    ("conv", "shape", "threads", "maps"),
    [
        (nn.Conv2d(64, 64, 3, padding=1), (8, 64, 128, 128), 2, 3),  # oneDNN: the output and its two buffers
        (nn.Conv2d(2048, 64, 1), (1, 2048, 64, 64), 2, 1),  # oneDNN, but only the input's buffer is that large
        (nn.Conv2d(2048, 2048, 1), (1, 2048, 64, 64), 1, 1),  # ATen's native path at one thread: the output only
    ],
)
def test_a_onednn_convolution_also_maps_its_reordered_input_and_output(
    conv: nn.Module, shape: tuple[int, ...], threads: int, maps: int
) -> None:
    """Measured on the EPYC VM: a oneDNN convolution of an NCHW map of 32 MiB or more faults in three times the map
    each call; the native path (``onednn_conv`` false) only its output."""
    by_backend = {str(f): FamilyFit((10 * US, 20 * US, 1e-9, 1e-9, 1e-10, 1e-10), 0, regime="backend")
                  for f in CONV_FAMILIES}  # fmt: skip
    base = dataclasses.replace(known_profile(), threads=threads, families={**known_profile().families, **by_backend})
    charged = dataclasses.replace(base, mapped_byte_s=3e-10)
    plain, now = (costmodel.report(conv, shape, profile=p) for p in (base, charged))
    assert now.predicted_ms - plain.predicted_ms == pytest.approx(3e-10 * maps * 32 * 2**20 * 1e3)


def test_the_mapped_probes_add_into_a_fresh_tensor_or_a_kept_buffer() -> None:
    (size, fresh, into, shape), *_ = memory.probes(torch.float32)
    assert size == memory.PROBE_BYTES[0]
    assert shape == (size // 4,)
    assert fresh.out is None
    assert into.out.shape == shape
    x = torch.arange(4.0)
    small_fresh, small_into = Shifted(4, into=False), Shifted(4, into=True)
    torch.testing.assert_close(small_fresh(x), x + 1)
    out = small_into(x)
    assert out.data_ptr() == small_into.out.data_ptr()  # the kept buffer, every call
    torch.testing.assert_close(out, x + 1)
    assert small_fresh(x).data_ptr() != x.data_ptr()


def test_max_pools_have_a_family_of_their_own_and_older_profiles_price_them_as_pools() -> None:
    from costmodel.device.families import family

    model = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.AvgPool2d(3, 1, 1), nn.AdaptiveMaxPool2d(2))
    rep = costmodel.report(model, (1, 4, 8, 8))
    kinds = [family(op) for node in rep.nodes for op in node.ops]
    assert kinds == [Family.MAX_POOL, Family.POOL, Family.MAX_POOL]
    pool = FamilyFit((10 * US, 0.0, 1e-9, 1e-9, 0.0, 0.0), samples=0)
    old = DeviceProfile("old", 1, "float32", "test", {str(Family.POOL): pool})
    # one call: 10 us + 4 x 8 x 8 outputs x 9 window elements x 1 ns (the pool fit's serial work rate)
    assert costmodel.report(nn.MaxPool2d(3, 1, 1), (1, 4, 8, 8), profile=old).predicted_ms == pytest.approx(
        (10 * US + 4 * 8 * 8 * 9 * 1e-9) * 1e3
    )


class _Gathers(nn.Module):
    """A relative position bias table read by index (rows), a per-head bias by offset (columns), ``torch.gather``,
    and ``index_select`` and an embedding, which move whole rows."""

    def __init__(self) -> None:
        super().__init__()
        self.table, self.embedding = nn.Parameter(torch.randn(169, 3)), nn.Embedding(10, 4)
        self.register_buffer("index", torch.randint(0, 169, (49, 49)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        flat = self.index.flatten()
        return (self.table[self.index], x[:, self.index], torch.gather(x, 1, self.index[:4, :8]),
                torch.index_select(self.table, 0, flat), self.embedding(flat % 10))  # fmt: skip


def test_gathers_and_indexing_have_families_of_their_own_and_older_profiles_fall_back_in_turn() -> None:
    from costmodel.device.families import family

    rep = costmodel.report(_Gathers(), (4, 169))
    by_op = {op.name: family(op) for node in rep.nodes for op in node.ops if op.kind in (OpKind.DATA, OpKind.EMBEDDING)}
    assert by_op["index"] is Family.INDEX
    assert by_op["gather"] is Family.GATHER
    assert by_op["index_select"] is by_op["embedding"] is Family.COPY
    index = next(op for node in rep.nodes for op in node.ops if op.name == "index")
    gather = next(op for node in rep.nodes for op in node.ops if op.name == "gather")
    assert features(index)[2:4] == (49 * 49 * 3, 0.0)  # work: an index read per element gathered (serial regime)
    assert features(gather)[2:4] == (4 * 8, 0.0)
    # traffic: table 169 x 3, index 49 x 49 int64, output 49 x 49 x 3
    traffic = 169 * 3 * 4 + 49 * 49 * 8 + 49 * 49 * 3 * 4
    copy = FamilyFit((10 * US, 0.0, 0.0, 0.0, 1e-9, 1e-9), samples=0)
    gathers = FamilyFit((20 * US, 0.0, 2e-9, 2e-9, 0.0, 0.0), samples=0)
    indexing = FamilyFit((30 * US, 0.0, 3e-9, 3e-9, 0.0, 0.0), samples=0)
    elementwise = FamilyFit((5 * US, 0.0, 0.0, 0.0, 4e-9, 4e-9), samples=0)

    def profile(*fits: tuple[Family, FamilyFit]) -> DeviceProfile:
        return DeviceProfile("old", 1, "float32", "test", {str(f): fit for f, fit in fits})

    elements = 49 * 49 * 3
    assert profile((Family.INDEX, indexing), (Family.GATHER, gathers)).op_seconds(index) == pytest.approx(
        30 * US + elements * 3e-9
    )
    # a profile older than the index family prices indexing as gathers; one older than gathers, as copies
    assert profile((Family.GATHER, gathers), (Family.COPY, copy)).op_seconds(index) == pytest.approx(
        20 * US + elements * 2e-9
    )
    assert profile((Family.COPY, copy)).op_seconds(index) == pytest.approx(10 * US + traffic * 1e-9)
    # with none of them, by traffic as an element-wise op: never a silent zero
    assert profile((Family.ELEMENTWISE, elementwise)).op_seconds(index) == pytest.approx(5 * US + traffic * 4e-9)


def test_the_calibration_times_indexing_by_rows_and_columns_and_gathers() -> None:
    from costmodel.device.calibration import cases
    from costmodel.device.families import family

    drawn = [c for c in cases(0, 1.0) if c.family in (Family.GATHER, Family.INDEX)]
    modes = {f: {c.build().mode for c in drawn if c.family is f} for f in (Family.INDEX, Family.GATHER)}
    assert modes == {Family.INDEX: {"rows", "columns"}, Family.GATHER: {"gather"}}
    for case in drawn:
        graph, _ = cost_graph(case.build(), normalize_inputs(case.inputs, case.build()), case.name)
        assert [family(op) for node in graph.nodes for op in node.ops] == [case.family]


def test_the_calibration_times_both_kinds_of_pool_strided_and_not() -> None:
    from costmodel.device.calibration import cases

    pools = [c for c in cases(0, 1.0) if c.family in (Family.POOL, Family.MAX_POOL)]
    built = [c.build() for c in pools]
    assert {(type(m).__name__, getattr(m, "stride", None)) for m in built} >= {
        ("MaxPool2d", 1), ("MaxPool2d", 2), ("AvgPool2d", 1), ("AvgPool2d", 2), ("AdaptiveAvgPool2d", None),
    }  # fmt: skip
    assert all((c.family is Family.MAX_POOL) == isinstance(m, nn.MaxPool2d) for c, m in zip(pools, built, strict=True))


def test_the_network_terms_split_convolutions_from_other_calls_and_older_profiles_charge_one_term(
    tmp_path: Path,
) -> None:
    rng = random.Random(0)
    rows = [(float(rng.randint(10, 200)), float(rng.randint(5, 100)), float(rng.randint(0, 10**7))) for _ in range(24)]
    alone = [rng.uniform(1e-3, 2e-2) for _ in rows]
    seconds = [a + 5 * US * o + 30 * US * c + 2e-11 * f for a, (o, c, f) in zip(alone, rows, strict=True)]
    terms, held_out = calibrate_module._fit_network_terms(alone, rows, seconds)
    assert terms == pytest.approx((5 * US, 30 * US, 2e-11), rel=1e-6)
    assert held_out == pytest.approx(0.0, abs=1e-9)

    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
    plain = known_profile()
    split = dataclasses.replace(plain, network_call_s=5 * US, network_conv_call_s=30 * US)
    one = dataclasses.replace(plain, network_call_s=5 * US)
    base, with_split, with_one = (
        costmodel.report(model, (1, 3, 8, 8), profile=p).predicted_ms for p in (plain, split, one)
    )
    assert with_split - base == pytest.approx((30 + 5) * US * 1e3)  # the conv's term and the ReLU's
    assert with_one - base == pytest.approx((5 + 5) * US * 1e3)  # no conv term: every call the one term
    path = tmp_path / "cpu.json"
    split.save(path)
    assert DeviceProfile.load(path) == split
    older = split.to_dict()
    del older["network"]["conv_call_s"]
    assert DeviceProfile.from_dict(older).network_conv_call_s is None


def test_a_deployed_calibration_unit_folds_its_norm_into_the_convs_bias() -> None:
    from costmodel.device.calibration.networks import _ConvUnit

    unit = _ConvUnit(8, 16, 3, 1, 1, True)
    unit.fold()
    ops = [op.name for node in costmodel.report(unit, (1, 8, 10, 10)).nodes for op in node.ops]
    assert unit.conv.bias is not None
    assert not any("norm" in name for name in ops)
    assert sum("convolution" in name for name in ops) == 1


def test_the_calibration_networks_vary_their_convolutions_and_other_calls_apart() -> None:
    """The network terms are fit on both counts: over the 48 random networks they must not move together (they
    correlated at 0.81 before chains of element-wise steps were drawn, and the split moved between calibrations).
    Counted here from the ops each network's report lists, by name."""
    from costmodel.device.calibration import networks

    other, conv = [], []
    for name, module, shape in networks(0, 48):
        ops = [op for node in costmodel.report(module.eval(), shape, name=name).nodes for op in node.ops]
        kernels = [op for op in ops if op.kind not in (OpKind.VIEW, OpKind.NONE)]
        conv.append(sum("convolution" in op.name for op in kernels))
        other.append(len(kernels) - conv[-1])
    ratios = sorted(o / c for o, c in zip(other, conv, strict=True))
    mean_o, mean_c = sum(other) / len(other), sum(conv) / len(conv)
    covariance = sum((o - mean_o) * (c - mean_c) for o, c in zip(other, conv, strict=True))
    spread = (sum((o - mean_o) ** 2 for o in other) * sum((c - mean_c) ** 2 for c in conv)) ** 0.5
    assert covariance / spread < 0.5
    assert ratios[-1] / ratios[0] > 5  # some networks call 5x more other kernels per convolution than others


def _one_op(fn, shape=(1, 64, 56, 56)):
    """The single costed op of ``fn`` applied to a map of ``shape``."""
    (op,) = [op for node in costmodel.report(Unary(fn), shape).nodes for op in node.ops]
    return op


def test_a_transcendental_call_is_keyed_by_its_op_and_gelus_approximation() -> None:
    assert weight_key(_one_op(torch.tanh)) == "tanh"
    assert weight_key(_one_op(F.gelu)) == "gelu"
    assert weight_key(_one_op(lambda x: F.gelu(x, approximate="tanh"))) == "gelu:tanh"
    assert weight_key(_one_op(lambda x: x.softmax(-1))) == "_softmax"


def test_an_op_weight_multiplies_a_transcendental_calls_work_only() -> None:
    tanh, relu = _one_op(torch.tanh), _one_op(torch.relu)
    elements = 64 * 56 * 56  # parallel (above GRAIN_SIZE): work in the fourth feature
    assert features(tanh)[3] == elements
    assert features(tanh, None, {"tanh": 5.0})[3] == 5 * elements
    assert features(tanh, None, {"exp": 5.0}) == features(tanh)  # no weight of its own: 1
    assert features(relu, None, {"relu": 5.0}) == features(relu)  # element-wise, not transcendental: no weight
    profile = dataclasses.replace(known_profile(), op_weights={"tanh": 5.0})
    # known_profile: 10 us a call + 20 us a parallel launch + 1 ns per op of work + 0.1 ns per byte
    moved = 2 * 4 * elements
    assert profile.op_seconds(tanh) == pytest.approx(30 * US + 5 * elements * 1e-9 + moved * 1e-10)
    assert known_profile().op_seconds(tanh) == pytest.approx(30 * US + elements * 1e-9 + moved * 1e-10)


def test_op_weights_are_each_ops_seconds_per_counted_op_over_the_sigmoids() -> None:
    fitted = weights.fit_weights([("sigmoid", 2e-4, 1e5), ("tanh", 1e-3, 1e5), ("_softmax", 6e-4, 3e5), ("", 0.0, 0.0)])
    assert fitted == pytest.approx({"sigmoid": 1.0, "tanh": 5.0, "_softmax": 1.0})
    assert weights.fit_weights([("tanh", 1e-3, 1e5)]) == {}  # no reference probe: no weights
    assert len(weights.probes()) == len({weight_key(_one_op(m.fn, weights.PROBE_SHAPE)) for m in weights.probes()})


def test_op_weights_round_trip_and_older_profiles_weigh_every_op_one(tmp_path: Path) -> None:
    profile = dataclasses.replace(known_profile(), op_weights={"sigmoid": 1.0, "tanh": 5.5})
    path = tmp_path / "weights.json"
    profile.save(path)
    assert DeviceProfile.load(path) == profile
    assert "transcendental ops per element, times a sigmoid: tanh 5.50, sigmoid 1.00" in profile.describe()
    older = profile.to_dict()
    del older["op_weights"]
    assert DeviceProfile.from_dict(older).op_weights == {}
    bad = profile.to_dict()
    bad["op_weights"]["tanh"] = 0.0
    with pytest.raises(ProfileError, match=r"op_weights: tanh is 0\.0"):
        DeviceProfile.from_dict(bad)


def test_a_regime_no_calibration_case_ran_in_is_priced_as_the_other_never_as_zero() -> None:
    both = calibrate_module._both_regimes
    fitted = (0.0, 5e-6, 0.0, 2e-9, 0.0, 3e-11)  # call 0, parallel launch 5 us, parallel work and bytes
    only_parallel = [(2.0, 2.0, 0.0, 1e6, 0.0, 1e5), (1.0, 1.0, 0.0, 3e6, 0.0, 4e5)]
    assert both(fitted, only_parallel) == (5e-6, 0.0, 2e-9, 2e-9, 3e-11, 3e-11)
    serial_fit = (4e-6, 0.0, 1e-9, 0.0, 2e-11, 0.0)
    only_serial = [(3.0, 0.0, 1e4, 0.0, 1e3, 0.0)]
    assert both(serial_fit, only_serial) == (4e-6, 0.0, 1e-9, 1e-9, 2e-11, 2e-11)
    mixed = [(2.0, 1.0, 1e4, 1e6, 1e3, 1e5)]
    assert both(fitted, mixed) == fitted
    # a serial call of 1000 work and 100 bytes, priced by the fit of parallel cases only: 5 us + 2 us + 3 ns
    fit = FamilyFit(both(fitted, only_parallel), samples=2)
    assert fit.seconds((1.0, 0.0, 1e3, 0.0, 100.0, 0.0)) == pytest.approx(5e-6 + 2e-6 + 3e-9)
