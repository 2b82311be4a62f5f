"""``costmodel.measure``: the direct metric. Times real inference on this machine.

The whole model is timed as the user runs it: warm-up calls, then repeats until
a time budget or a count is reached, each repeat synchronised on CUDA. The thread
count is recorded. A second pass runs the model on real tensors walking the report's
nodes (``costmodel.graph.walk``) and times each node, giving a per-node column for the cost report and a
run-time breakdown into the ShuffleNet V2 paper's Fig. 2 categories (conv,
element-wise, data movement, shuffle, other). Node-by-node timing adds Python
overhead per node, so the breakdown is given as shares of the per-node sum.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any

from torch import nn

from costmodel.device import host, timing
from costmodel.device.contention import ContentionWatch
from costmodel.device.timing import Timing
from costmodel.errors import MeasurementWarning, UnsupportedInput
from costmodel.graph import Recording, cost_graph
from costmodel.graph.inputs import example_tensors, normalize_inputs
from costmodel.graph.taxonomy import CATEGORIES, category
from costmodel.graph.walk import Event, Structure, Walk, inference
from costmodel.records import record
from costmodel.report_record import Report
from costmodel.types import FrozenMap, OpKind, Shape
from costmodel.units import milliseconds

__all__ = ["Measurement", "measure"]


@record
class Measurement:
    """Measured inference time of a model on this machine, whole and per node."""

    model: str
    input_shapes: tuple[Shape, ...]
    device: str
    threads: int
    total: Timing
    node_times: Mapping[str, float] = field(default_factory=FrozenMap)
    report: Report | None = None
    #: What was in force: threads, interop threads, kernel libraries and their switches, torch version.
    settings: Mapping[str, str] = field(default_factory=FrozenMap)
    #: Why the timings may not be trusted as they are (also warned as ``MeasurementWarning``).
    problems: tuple[str, ...] = ()
    #: Minor page faults per whole run (median over the runs; ``None`` where the platform does not count them):
    #: fresh pages the allocator asked the kernel for, at about a microsecond each.
    page_faults: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "node_times", FrozenMap(self.node_times))
        object.__setattr__(self, "settings", FrozenMap(self.settings))

    @property
    def stable(self) -> bool:
        """No problem was found with the timings (spread, drift, outliers, per-node agreement)."""
        return not self.problems

    @property
    def batch(self) -> int:
        """Batch size: the first dimension of the first input."""
        return self.input_shapes[0][0] if self.input_shapes and self.input_shapes[0] else 1

    @property
    def images_per_second(self) -> float:
        """Throughput at the median time."""
        return self.batch / self.total.median

    def breakdown(self) -> dict[str, float]:
        """Seconds per Fig. 2 category, from the node-by-node run (all categories present)."""
        shares = dict.fromkeys(CATEGORIES, 0.0)
        if self.report is None:
            return shares
        by_name = {n.name: n for n in self.report.nodes}
        for name, seconds in self.node_times.items():
            shares[category(by_name[name], by_name)] += seconds
        return shares

    def breakdown_by_kind(self) -> dict[OpKind, float]:
        """Seconds per op kind of the nodes, from the node-by-node run (the ``time_ms`` column rolled up)."""
        if self.report is None:
            return {}
        return {kind: ms / 1e3 for kind, ms in self.report.column_by_kind("time_ms").items()}  # the column's ms

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        q1, q3 = self.total.iqr
        return {
            "model": self.model,
            "input_shapes": [list(s) for s in self.input_shapes],
            "device": self.device,
            "threads": self.threads,
            "repeats": len(self.total.samples),
            "median_ms": milliseconds(self.total.median),
            "mean_ms": milliseconds(self.total.mean),
            "stdev_ms": milliseconds(self.total.stdev),
            "q1_ms": milliseconds(q1),
            "q3_ms": milliseconds(q3),
            "images_per_second": self.images_per_second,
            "drift": self.total.drift,
            "outliers": self.total.outliers,
            "stable": self.stable,
            "problems": list(self.problems),
            "page_faults_per_run": self.page_faults,
            "settings": dict(self.settings),
            "breakdown_ms": {k: milliseconds(v) for k, v in self.breakdown().items()},
            "node_ms": {k: milliseconds(v) for k, v in self.node_times.items()},
        }

    def __str__(self) -> str:
        q1, q3 = self.total.iqr
        lines = [
            f"{self.model} on {self.device} ({self.threads} threads), input "
            + ", ".join(str(list(s)) for s in self.input_shapes),
            f"median {milliseconds(self.total.median):.3f} ms (IQR {milliseconds(q1):.3f}-{milliseconds(q3):.3f} ms, "
            f"{len(self.total.samples)} runs, drift {self.total.drift:+.0%}), {self.images_per_second:.1f} images/s",
        ]
        if self.settings:
            lines.append("settings: " + ", ".join(f"{k}={v}" for k, v in self.settings.items()))
        if self.page_faults is not None and self.page_faults >= _FAULTS_WORTH_SAYING:
            lines.append(
                f"page faults: {self.page_faults:.0f} per run (about {self.page_faults * host.PAGE_BYTES / 2**20:.0f} "
                "MiB of fresh pages): the allocator gives memory back to the system and maps it again each run; "
                "with glibc, MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ set high, or jemalloc, keep it"
            )
        parts = self.breakdown()
        total = sum(parts.values())
        if total:
            lines.append("node-by-node breakdown: " + ", ".join(f"{k} {v / total:.0%}" for k, v in parts.items()))
        lines += [f"UNSTABLE: {problem}" for problem in self.problems]
        return "\n".join(lines)


def measure(
    model: nn.Module,
    input_shape: Any,
    *,
    budget_s: float = 2.0,
    min_repeats: int = 5,
    max_repeats: int = 1000,
    warmup: int = 3,
    per_node: bool = True,
    threads: int | None = None,
    progress: bool | None = None,
    name: str | None = None,
    seed: int = 0,
) -> Measurement:
    """Time inference of ``model`` on inputs of ``input_shape`` on the model's device.

    Args:
        model: The model, on the device to measure (CPU, or CUDA where present).
        input_shape: As for ``costmodel.report``; inputs are seeded random normals.
        budget_s: Seconds to spend on repeats (each of the two passes), after warm-up.
        min_repeats: Runs at least this many times, whatever the budget.
        max_repeats: Runs at most this many times.
        warmup: Untimed runs first.
        per_node: Also time each graph node (for the breakdown and the report column).
        threads: CPU threads to use (``torch.set_num_threads``), restored afterwards.
        progress: Show a progress bar (default: only when stderr is a terminal).
        name: Name shown in the result (default: the class name).
        seed: Seed of the random inputs.

    Returns:
        The ``Measurement``; its ``report`` carries a ``time_ms`` column per node.
    """
    if not isinstance(model, nn.Module):
        raise UnsupportedInput(f"measure() expects a torch.nn.Module, got {type(model).__name__}")
    if min_repeats < 1 or max_repeats < min_repeats or budget_s < 0 or warmup < 0:
        raise UnsupportedInput(
            f"measure(): need 1 <= min_repeats <= max_repeats and budget_s, warmup >= 0; got min_repeats="
            f"{min_repeats}, max_repeats={max_repeats}, budget_s={budget_s}, warmup={warmup}"
        )
    device = host.model_device(model)
    if device.type == "meta":
        raise UnsupportedInput(f"{type(model).__name__} is on the meta device: it has no weights to run")
    specs = normalize_inputs(input_shape, model)
    # The costed graph validates the shapes with a one-line error first; no rules run.
    graph, recording = cost_graph(model, specs, name or type(model).__name__)
    rep = Report.of(graph)
    inputs = example_tensors(specs, device, seed=seed, model=model)
    show = sys.stderr.isatty() if progress is None else progress
    sync = host.synchronizer(device)
    whole: list[float] = []
    faults: list[int] = []
    node_samples: dict[str, list[float]] = {n.name: [] for n in rep.nodes}
    structure = Structure.of(model)
    with host.threads(threads) as used, inference(model):
        settings = host.settings(device)

        positional, keyword = specs.split(inputs)

        def run() -> None:
            model(*positional, **keyword)

        def node_pass(samples: dict[str, list[float]] | None) -> bool:
            timed = _TimedWalk(model, structure, recording, sync, samples)
            timed.run(positional, keyword)
            timed.end()
            return timed.aligned

        timing.warm_up(run, sync, warmup, max(0.2, budget_s / 4))
        aligned = node_pass(None) if per_node else True  # warm the node-by-node path too
        # Rounds of a few whole runs and one node-by-node pass: drift hits both alike.
        started = time.perf_counter()
        spend = budget_s * (2 if per_node else 1)
        with ContentionWatch(used) as watch, timing.progress(show, f"timing {rep.model}", max_repeats) as tick:
            while len(whole) < max_repeats:
                for _ in range(min(_WHOLE_PER_ROUND, max_repeats - len(whole))):
                    faulted = host.page_faults()
                    begin = time.perf_counter()
                    run()
                    sync()
                    whole.append(time.perf_counter() - begin)
                    if faulted is not None:
                        faults.append(host.page_faults() - faulted)  # type: ignore[operator]
                    tick()
                if per_node and aligned:
                    aligned = node_pass(node_samples)
                if len(whole) >= min_repeats and time.perf_counter() - started >= spend:
                    break
    node_times = {n: statistics.median(v) for n, v in node_samples.items() if v} if aligned else {}
    total = Timing(tuple(whole))
    model_name = rep.model
    found = [f"{model_name}: {problem}" for problem in total.problems()]
    if device.type == "cpu" and watch.result is not None:
        found += [f"{model_name}: {problem}" for problem in watch.result.problems()]
    if not aligned:
        found.append(
            f"{model_name}: the node-by-node run took other branches than the costed run (control flow on values "
            "or randomness); no per-node times"
        )
    node_sum = sum(node_times.values())
    if node_times and not 0.67 <= node_sum / total.median <= 1.5:
        found.append(
            f"{model_name}: per-node times sum to {node_sum / total.median:.2f}x the whole run: node-by-node runs "
            "add a synchronisation and Python work per node and lose overlap; read them as shares, not absolute times"
        )
    for problem in found:
        warnings.warn(problem + " (the machine may be busy; measure again or raise --budget)", MeasurementWarning,
                      stacklevel=2)  # fmt: skip
    column = {name_: milliseconds(seconds) for name_, seconds in node_times.items()}
    return Measurement(
        model=rep.model,
        input_shapes=rep.input_shapes,
        device=host.device_name(device),
        threads=used,
        total=total,
        node_times=node_times,
        report=rep.with_column("time_ms", column) if column else rep,
        settings=settings,
        problems=tuple(found),
        page_faults=statistics.median(faults) if faults else None,
    )


_WHOLE_PER_ROUND = 3
#: Page faults per run from which ``Measurement`` says so (1024 pages: 4 MiB a run).
_FAULTS_WORTH_SAYING = 1024


class _TimedWalk(Walk):
    """The walk whose nodes are timed, each synchronised: the nodes of the costed run, met by their ordinals.

    A node that took in the views before it is met once per call it holds: its time in a pass is their sum.
    ``aligned`` turns false if a node is met where the costed run had another (the run took other branches).
    """

    def __init__(
        self,
        model: nn.Module,
        structure: Structure,
        recording: Recording,
        sync: Callable[[], None],
        samples: dict[str, list[float]] | None,
    ) -> None:
        super().__init__(model, structure)
        self.names = recording.ordinals
        self.sync = sync
        self.samples = samples
        self.aligned = True
        self.pass_times: dict[str, float] = {}

    def node(self, event: Event, run: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        found = self.names.get(event.ordinal)
        if found is None:
            return run(*args, **kwargs)
        name, stem = found
        if stem != event.stem:
            self.aligned = False
        begin = time.perf_counter()
        result = run(*args, **kwargs)
        self.sync()
        self.pass_times[name] = self.pass_times.get(name, 0.0) + time.perf_counter() - begin
        return result

    def end(self) -> None:
        """File this pass's time of each node."""
        if self.samples is not None:
            for name, seconds in self.pass_times.items():
                self.samples[name].append(seconds)
