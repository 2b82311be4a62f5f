"""``calibrate()``: time synthetic micro-benchmarks on this machine and fit a ``DeviceProfile``.

1. Each case of ``costmodel.device.calibration`` is costed by the walker itself,
   so its features (work, bytes, parallel launch) are the report's own numbers.
2. Cases are timed round-robin, one sample each per round, until the budget is
   spent (drift on a shared machine hits every case alike); a sample is one untimed
   call, then timed calls back to back (steady state, as ``measure()`` times a model);
   each case's time is the median of its samples.
3. Every linear case has a cold twin that reads its weights from a pool three times
   a large last-level cache, a new copy each call (``ColdLinear``), as a network
   reads each layer's weights once per call; the cost per byte of weights read from
   memory is fit on the pairs (cold minus warm against weight bytes).
4. The Python overhead of a module call is timed on a chain of ``nn.Identity``.
5. Per family, the coefficients are fit by non-negative least squares on relative
   error; every fourth case is first held out to report the fit's own error.
6. Random synthetic networks (conv units, bottlenecks, shuffle units, transformer
   blocks, chains of element-wise steps; none of them a published architecture) are timed whole, and three more
   terms are fit on them: the extra time per call inside a network (thread pool and
   scheduler state between different ops), one for convolutions and one for every
   other kernel (a third of the networks are deployed forms, norms folded into the
   convs, so the two counts vary apart; half apply their ReLUs in place, and a term
   of its own for calls in place measured about the same, 19 against 21 µs), and
   the cost per byte of fresh output (allocation), all non-negative, with a 4-fold
   held-out error.
7. In the same rounds, ``x + 1`` on outputs above the allocator's mapping threshold, into a fresh tensor and into
   a kept buffer (``calibration.memory``): the cost per byte of an output whose pages are mapped anew each call,
   taken off every case before the families are fit.
8. Four more random networks, the *reference* (``REFERENCE``), are timed in the same rounds; their summed time
   is kept in the profile. ``recheck`` times them again later: the ratio scales every prediction to the
   machine's speed then (a shared machine's speed moves by tens of percent within minutes).
9. In the same rounds, each transcendental op once on one map (``calibration.weights``): its time per element
   over a sigmoid's weighs its work in the transcendental family's fit and in every prediction (``tanh`` costs
   five times a sigmoid per element on a 2-core EPYC; one coefficient priced them alike).
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import logging
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

import torch
from torch import nn

from costmodel.device import families as per_call
from costmodel.device import host, timing
from costmodel.device.calibration import Case, cases, memory, networks, weights
from costmodel.device.calibration.ops import ColdLinear
from costmodel.device.families import CONV_FAMILIES, FEATURES, Family, family, features, weight_key
from costmodel.device.fit import fit_nonnegative, relative_errors
from costmodel.device.predict import predict
from costmodel.device.profile import DeviceProfile, FamilyFit
from costmodel.errors import UnsupportedInput
from costmodel.graph import cost_graph
from costmodel.graph.inputs import normalize_inputs
from costmodel.graph.walk import inference
from costmodel.records import record
from costmodel.types import CostedGraph

__all__ = ["REFERENCE", "CalibrationRun", "calibrate", "recheck"]

#: Seconds one timed sample aims for: long enough that the clock's resolution does not matter.
_SAMPLE_S = 2e-4
_MIN_ROUNDS, _MAX_ROUNDS = 3, 21
#: Fitting's share of the time spent before it, kept free in the budget.
_FIT_ALLOWANCE = 0.05
#: Seconds between progress lines in the log (``costmodel.calibrate``: shown on stderr by the command line).
_LOG_EVERY_S = 10.0
_LOG = logging.getLogger("costmodel.calibrate")
_IDENTITY_CHAIN = 64
#: Bytes of the pool cold linear layers read their weights from: three times a large last-level cache, so no
#: copy is still cached when its turn comes again.
_COLD_POOL_BYTES = 96 * 2**20
_NETWORKS = 48
#: (seed, count) of the reference networks: the calibration's generator at a seed of their own (none of them a
#: micro-benchmark or a calibration network, none a published architecture).
REFERENCE = (7, 4)


@record
class CalibrationRun:
    """One micro-benchmark as timed: its case, its costed graph, and its median seconds per call."""

    case: Case
    graph: CostedGraph
    seconds: float


class _Timed:
    """A module made runnable: on the device with its inputs, calls per sample, samples so far; and, once
    ``costed``, its costed graph (what the fit reads its features from)."""

    graph: CostedGraph

    def __init__(
        self,
        module: nn.Module,
        shapes: Sequence[tuple[int, ...]],
        device: torch.device,
        dtype: torch.dtype,
        generator: torch.Generator,
    ) -> None:
        self.module = module.to(device=device, dtype=dtype).eval()
        self.inputs = [torch.randn(shape, generator=generator).to(device, dtype) for shape in shapes]
        self.calls = 1
        self.samples: list[float] = []

    def costed(self, name: str) -> _Timed:
        """This, with its costed graph (the reference networks are only timed)."""
        self.graph, _ = cost_graph(self.module, normalize_inputs(self.inputs, self.module), name)
        return self

    def sample(self, sync: Callable[[], None]) -> None:
        """One untimed call (the case before was another), then ``calls`` timed back to back: steady state,
        as ``measure()`` times a model run repeatedly."""
        self.module(*self.inputs)
        sync()
        begin = time.perf_counter()
        for _ in range(self.calls):
            self.module(*self.inputs)
        sync()
        self.samples.append((time.perf_counter() - begin) / self.calls)

    def warm_up(self, sync: Callable[[], None]) -> None:
        self.sample(sync)
        self.sample(sync)
        self.calls = max(1, math.ceil(_SAMPLE_S / max(self.samples[-1], 1e-9)))
        self.samples.clear()

    @property
    def seconds(self) -> float:
        """Median seconds per call so far."""
        return statistics.median(self.samples)


def _rounds(timed: Sequence[_Timed], sync: Callable[[], None]) -> Iterator[tuple[int, float]]:
    """Each module warmed up, then rounds of one sample of each, round-robin (a shared machine's drift hits them
    alike), at most ``_MAX_ROUNDS``: after each round, the rounds done and the seconds since the first began. The
    caller stops when its budget is spent."""
    for t in timed:
        t.warm_up(sync)
    started = time.perf_counter()
    for done in range(1, _MAX_ROUNDS + 1):
        for t in timed:
            t.sample(sync)
        yield done, time.perf_counter() - started


def _weight_probe(probe: _Timed) -> tuple[str, float, float]:
    """A weight probe as ``weights.fit_weights`` reads it: its op's key, seconds per call, element-wise ops counted."""
    ops = [op for node in probe.graph.nodes for op in node.ops if family(op) is Family.TRANSCENDENTAL]
    if len(ops) != 1:  # not one transcendental call: nothing to weigh (fit_weights leaves it out)
        return ("", 0.0, 0.0)
    return (weight_key(ops[0]), probe.seconds, float(ops[0].cost.elementwise))


def _identity_overhead(device: torch.device, dtype: torch.dtype, sync: Callable[[], None]) -> float:
    """Seconds one module call costs in Python (``nn.Identity`` in a ``Sequential``), median of rounds."""
    chain, single = nn.Sequential(*[nn.Identity() for _ in range(_IDENTITY_CHAIN)]), nn.Sequential(nn.Identity())
    x = torch.zeros(1, device=device, dtype=dtype)
    differences = []
    for _ in range(15):
        begin = time.perf_counter()
        for _ in range(20):
            chain(x)
        middle = time.perf_counter()
        for _ in range(20):
            single(x)
        end = time.perf_counter()
        differences.append(((middle - begin) - (end - middle)) / 20 / (_IDENTITY_CHAIN - 1))
    sync()
    return max(statistics.median(differences), 0.0)


def _fit_rows(
    runs: Sequence[CalibrationRun],
    target: Family,
    fitted: dict[str, FamilyFit],
    module_call: float,
    threads: int,
    by_backend: bool,
    mapped_byte_s: float = 0.0,
    op_weights: Mapping[str, float] | None = None,
) -> tuple[list[tuple[float, ...]], list[float]]:
    """Feature rows and times of ``target``'s calls: other families' predicted time, overhead and every call's
    freshly mapped outputs (``mapped_byte_s``) taken off; transcendental work weighed by ``op_weights``.

    ``by_backend``: the target's regimes are ATen's convolution backends at ``threads`` (else the grain).
    """
    partial = DeviceProfile("", threads, "", "", fitted, mapped_byte_s=mapped_byte_s, op_weights=op_weights or {})
    regime_threads = threads if by_backend else None
    rows, seconds = [], []
    for run in runs:
        total = [0.0] * len(FEATURES)
        rest = module_call * sum(node.op == "call_module" for node in run.graph.nodes)
        for node in run.graph.nodes:
            for op in node.ops:
                if family(op) is target:
                    total = [a + b for a, b in zip(total, features(op, regime_threads, op_weights), strict=True)]
                    rest += partial.mapped_seconds(op, regime_threads)
                else:
                    rest += partial.op_seconds(op)
        if total[0]:
            rows.append(tuple(total))
            seconds.append(max(run.seconds - rest, run.seconds * 0.05))
    return rows, seconds


def _fit_family(rows: list[tuple[float, ...]], seconds: list[float], regime: str) -> FamilyFit:
    held_out = None
    if len(rows) >= 8:
        train = [i for i in range(len(rows)) if i % 4 != 3]
        test = [i for i in range(len(rows)) if i % 4 == 3]
        trial = fit_nonnegative([rows[i] for i in train], [seconds[i] for i in train])
        errors = relative_errors([rows[i] for i in test], [seconds[i] for i in test], trial)
        held_out: float | None = float(statistics.median(abs(e) for e in errors))
    coefficients = _both_regimes(fit_nonnegative(rows, seconds), rows)
    return FamilyFit(coefficients, len(rows), held_out, regime)  # type: ignore[arg-type]


def _both_regimes(coefficients: Sequence[float], rows: Sequence[Sequence[float]]) -> tuple[float, ...]:
    """The fit with a regime none of its cases ran in priced as the other (``FEATURES``' order): a brief calibration
    may draw a family's cases all parallel, and its serial calls would otherwise cost nothing."""
    call, parallel, work_serial, work_parallel, bytes_serial, bytes_parallel = coefficients
    if not any(row[0] > row[1] for row in rows):  # every call ran in the second regime
        return (call + parallel, 0.0, work_parallel, work_parallel, bytes_parallel, bytes_parallel)
    if not any(row[1] for row in rows):  # every call ran in the first
        return (call, parallel, work_serial, work_serial, bytes_serial, bytes_serial)
    return tuple(coefficients)


def _fit_cold_weights(runs: Sequence[CalibrationRun]) -> float:
    """Seconds per byte of weights read from memory: ``cold ~ warm + c * weight bytes`` over each cold case and the
    warm case before it (non-negative, relative error; 0 without pairs)."""
    rows, cold, warm = [], [], []
    for before, run in itertools.pairwise(runs):
        if run.case.cold and not before.case.cold:
            rows.append((float(sum(per_call.weight_bytes(node) for node in run.graph.nodes)),))
            cold.append(run.seconds)
            warm.append(before.seconds)
    return fit_nonnegative(rows, cold, warm)[0] if rows else 0.0


def _network_features(graph: CostedGraph) -> tuple[float, float, float]:
    """A network's kernel calls other than convolutions, its convolutions, and its bytes of fresh outputs."""
    other = conv = fresh = 0
    for node in graph.nodes:
        for op in node.ops:
            if per_call.launches(op):
                if family(op) in CONV_FAMILIES:
                    conv += 1
                else:
                    other += 1
            fresh += per_call.fresh_bytes(op)
    return float(other), float(conv), float(fresh)


def _fit_network_terms(
    alone: Sequence[float], rows: Sequence[tuple[float, float, float]], seconds: Sequence[float]
) -> tuple[tuple[float, ...], float]:
    """The coefficients of ``seconds ~ alone + a * other calls + b * convolutions + c * fresh bytes`` (the rows of
    ``_network_features``), and their held-out median |relative error| (4 folds)."""
    errors = []
    for fold in range(4):
        train = [i for i in range(len(rows)) if i % 4 != fold]
        test = [i for i in range(len(rows)) if i % 4 == fold]
        if not train or not test:
            continue
        trial = fit_nonnegative([rows[i] for i in train], [seconds[i] for i in train], [alone[i] for i in train])
        errors += list(
            abs(relative_errors([rows[i] for i in test], [seconds[i] for i in test], trial, [alone[i] for i in test]))
        )
    return tuple(fit_nonnegative(rows, seconds, alone)), float(statistics.median(errors))


def calibrate(
    *,
    budget_s: float = 120.0,
    threads: int | None = None,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    seed: int = 0,
    scale: float = 4.0,
    progress: bool | None = None,
    runs_out: list[CalibrationRun] | None = None,
    between_rounds: Callable[[], None] | None = None,
) -> DeviceProfile:
    """Time the synthetic micro-benchmarks here and fit the per-family time model.

    Args:
        budget_s: Wall seconds the whole call may take: building and costing the suite, timing it, fitting
            (at least ``_MIN_ROUNDS`` timing rounds are run, whatever the budget).
        threads: CPU threads (``torch.set_num_threads``) during calibration, and so of the profile.
        dtype: Floating dtype of the micro-benchmarks (the profile predicts models of this dtype).
        device: ``"cpu"`` or ``"cuda"`` (synchronised after every sample).
        seed: Seed of the drawn shapes and the inputs.
        scale: Multiplies the number of cases per family (the default 4 draws about 800; 0.5 is a quick one).
        progress: Show a progress bar (default: only when stderr is a terminal).
        runs_out: If given, receives each case's ``CalibrationRun`` (for inspection and plots).
        between_rounds: Called after each timing round (its time is not counted in the budget): to time other
            work in the same rounds, so that the machine's drift hits it and the calibration alike (how
            ``benchmarks/bench_latency.py`` measures the models it judges the profile on).

    Raises:
        UnsupportedInput: A non-positive budget or scale, a non-floating dtype, or no such device.
    """
    if budget_s <= 0 or scale <= 0:
        raise UnsupportedInput(f"calibrate(): budget_s and scale must be positive, got {budget_s} and {scale}")
    if not dtype.is_floating_point:
        raise UnsupportedInput(f"calibrate(): dtype must be a floating dtype, got {dtype}")
    target = torch.device(device)
    if target.type == "cuda" and not torch.cuda.is_available():
        raise UnsupportedInput("calibrate(): device 'cuda' was asked for, but torch sees no CUDA device")
    called = time.perf_counter()
    sync = host.synchronizer(target)
    show = sys.stderr.isatty() if progress is None else progress
    generator = torch.Generator().manual_seed(seed)
    with host.threads(threads) as used:
        suite = cases(seed, scale)
        timed = [_Timed(c.build(), c.inputs, target, dtype, generator).costed(c.name) for c in suite]
        count = max(8, round(_NETWORKS * scale / 4))
        nets = [_Timed(m, [shape], target, dtype, generator).costed(name) for name, m, shape in networks(seed, count)]
        references = _references(target, dtype)
        probes = [
            (size, _Timed(fresh, [shape], target, dtype, generator), _Timed(into, [shape], target, dtype, generator))
            for size, fresh, into, shape in memory.probes(dtype)
        ]
        weighed = [_Timed(m, [weights.PROBE_SHAPE], target, dtype, generator).costed("weight probe")
                   for m in weights.probes()]  # fmt: skip
        probed = [t for _, fresh, into in probes for t in (fresh, into)] + weighed
        pool = torch.rand(_COLD_POOL_BYTES // dtype.itemsize, generator=generator).to(target, dtype)
        for t in timed:
            if isinstance(t.module, ColdLinear):
                t.module.rotate(pool)
        _LOG.info(
            "built and costed %d micro-benchmarks and %d networks in %.0f s of the %.0f s budget",
            len(timed), len(nets), time.perf_counter() - called, budget_s,
        )  # fmt: skip
        elsewhere = 0.0  # seconds spent in between_rounds, outside the budget
        said = time.perf_counter()
        with (
            inference(nn.Sequential(*(t.module for t in (*timed, *nets, *references, *probed)))),
            timing.progress(show, "calibrating", _MAX_ROUNDS) as tick,
        ):
            module_call = _identity_overhead(target, dtype, sync)
            # micro-benchmarks, networks, the reference and the probes in every round: the same drift
            for done, timed_s in _rounds((*timed, *nets, *references, *probed), sync):
                if between_rounds is not None:
                    paused = time.perf_counter()
                    between_rounds()
                    elsewhere += time.perf_counter() - paused
                tick()
                now = time.perf_counter()
                per_round = (timed_s - elsewhere) / done
                spent = now - called - elsewhere
                if now - said >= _LOG_EVERY_S:
                    _LOG.info("timing round %d: %.0f s of the %.0f s budget", done, spent, budget_s)
                    said = now
                if done >= _MIN_ROUNDS and spent + per_round + _FIT_ALLOWANCE * spent > budget_s:
                    break
    _LOG.info("timed %d rounds; fitting", done)
    runs = [CalibrationRun(case, t.graph, t.seconds) for case, t in zip(suite, timed, strict=True)]
    if runs_out is not None:
        runs_out.extend(runs)
    mapped_byte_s = memory.fit_mapped_byte_s([(size, fresh.seconds, into.seconds) for size, fresh, into in probes])
    op_weights = weights.fit_weights([_weight_probe(t) for t in weighed])
    fitted: dict[str, FamilyFit] = {}
    # ATen's convolution backend decides a CPU float32 convolution's cost more than its size does
    by_backend = target.type == "cpu" and dtype == torch.float32
    for fam in (Family.VIEW, *(f for f in Family if f is not Family.VIEW)):
        backend = by_backend and fam in CONV_FAMILIES
        chosen = [r for r in runs if r.case.family is fam and not r.case.cold]
        rows, seconds = _fit_rows(chosen, fam, fitted, module_call, used, backend, mapped_byte_s, op_weights)
        if rows:
            fitted[str(fam)] = _fit_family(rows, seconds, "backend" if backend else "grain")
    cold_weight_byte_s = _fit_cold_weights(runs)
    alone = DeviceProfile("", used, "", "", fitted, {"call_module": module_call}, cold_weight_byte_s=cold_weight_byte_s,
                          mapped_byte_s=mapped_byte_s, op_weights=op_weights)  # fmt: skip
    alone_s = [sum(predict(alone, t.graph).values()) for t in nets]
    rows = [_network_features(t.graph) for t in nets]
    terms, network_held_out = _fit_network_terms(alone_s, rows, [t.seconds for t in nets])
    network_call_s, network_conv_call_s, fresh_byte_s = terms
    return DeviceProfile(
        device=host.device_name(target),
        threads=used,
        dtype=str(dtype).removeprefix("torch."),
        torch_version=torch.__version__,
        families=fitted,
        node_overhead={"call_module": module_call},
        network_call_s=network_call_s,
        network_conv_call_s=network_conv_call_s,
        fresh_byte_s=fresh_byte_s,
        network_held_out=network_held_out,
        cold_weight_byte_s=cold_weight_byte_s,
        mapped_byte_s=mapped_byte_s,
        op_weights=op_weights,
        machine=host.cpu_name(),
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        budget_s=budget_s,
        reference_s=sum(t.seconds for t in references),
    )


def _references(device: torch.device, dtype: torch.dtype) -> list[_Timed]:
    """The reference networks with inputs drawn at a fixed seed (only timed: no graph is costed)."""
    generator = torch.Generator().manual_seed(REFERENCE[0])
    return [_Timed(m, [shape], device, dtype, generator) for _, m, shape in networks(*REFERENCE)]


def recheck(profile: DeviceProfile, *, budget_s: float = 1.0) -> DeviceProfile:
    """The profile scaled to this machine's speed now: its reference networks timed again, as the calibration
    timed them, at its threads, device and dtype; every predicted time is multiplied by their time now over
    their time at calibration (``DeviceProfile.time_scale``, shown by ``describe``).

    A shared machine (a cloud VM, a CI runner) runs the same kernels tens of percent faster or slower from one
    quarter of an hour to the next; a profile calibrated in one phase predicts another phase's times off by as
    much. Recheck on the machine the profile describes, just before predicting.

    Args:
        profile: A calibrated profile with a reference timing (profiles calibrated before recheck existed have none).
        budget_s: Wall seconds for the timing (at least ``_MIN_ROUNDS`` rounds are run, whatever the budget).

    Raises:
        UnsupportedInput: The profile has no reference timing, a non-positive budget, or it was calibrated on
            another machine (another processor), or its device is not here.
    """
    if profile.reference_s is None or profile.reference_s <= 0:
        raise UnsupportedInput(
            "recheck(): the profile has no reference timing (calibrated before recheck existed): calibrate again"
        )
    if budget_s <= 0:
        raise UnsupportedInput(f"recheck(): budget_s must be positive, got {budget_s}")
    try:
        target = torch.device(profile.device.split(" ", 1)[0])  # 'cpu (<processor>)', 'cuda:0 (<GPU>)'
    except RuntimeError:
        raise UnsupportedInput(f"recheck(): the profile's device {profile.device!r} is not one torch names") from None
    if profile.machine and profile.machine != host.cpu_name():
        raise UnsupportedInput(
            f"recheck(): the profile was calibrated on {profile.machine}, this machine is {host.cpu_name()}: "
            "recheck it where it was calibrated"
        )
    if target.type == "cuda" and not torch.cuda.is_available():
        raise UnsupportedInput(f"recheck(): the profile is of {profile.device}, but torch sees no CUDA device")
    dtype = getattr(torch, profile.dtype, None)
    if not isinstance(dtype, torch.dtype):
        raise UnsupportedInput(f"recheck(): the profile's dtype {profile.dtype!r} is not a torch dtype")
    called = time.perf_counter()
    sync = host.synchronizer(target)
    with host.threads(profile.threads):
        references = _references(target, dtype)
        with inference(nn.Sequential(*(t.module for t in references))):
            for done, _ in _rounds(references, sync):
                spent = time.perf_counter() - called
                if done >= _MIN_ROUNDS and spent * (done + 1) / done > budget_s:
                    break
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    scale = sum(t.seconds for t in references) / profile.reference_s
    return dataclasses.replace(profile, time_scale=scale, rechecked=now)
