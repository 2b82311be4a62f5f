"""Timing samples and their statistics (``Timing``), the repeat loop, and the progress bar shown meanwhile."""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Timing", "progress", "repeat"]


@dataclass(frozen=True, slots=True)
class Timing:
    """Wall-clock samples of one repeated measurement, in seconds."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        """Median seconds per run."""
        return statistics.median(self.samples)

    @property
    def mean(self) -> float:
        """Mean seconds per run."""
        return statistics.fmean(self.samples)

    @property
    def stdev(self) -> float:
        """Sample standard deviation (0 for one sample)."""
        return statistics.stdev(self.samples) if len(self.samples) > 1 else 0.0

    @property
    def iqr(self) -> tuple[float, float]:
        """First and third quartiles."""
        if len(self.samples) < 2:
            return (self.samples[0], self.samples[0])
        q1, _, q3 = statistics.quantiles(self.samples, n=4, method="inclusive")
        return (q1, q3)

    @property
    def spread(self) -> float:
        """Interquartile range relative to the median."""
        q1, q3 = self.iqr
        return (q3 - q1) / self.median if self.median else 0.0


@contextlib.contextmanager
def progress(enabled: bool, description: str, total: int) -> Iterator[Callable[[], None]]:
    """A transient progress bar on stderr when enabled; otherwise a no-op advance()."""
    if not enabled:
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task)


def repeat(
    run: Callable[[], Any],
    sync: Callable[[], None],
    budget_s: float,
    repeats: tuple[int, int],
    tick: Callable[[], None],
) -> list[float]:
    """Seconds per call of ``run`` then ``sync``: ``repeats[0]`` to ``repeats[1]`` calls, within the budget."""
    least, most = repeats
    samples: list[float] = []
    started = time.perf_counter()
    while len(samples) < most and (len(samples) < least or time.perf_counter() - started < budget_s):
        begin = time.perf_counter()
        run()
        sync()
        samples.append(time.perf_counter() - begin)
        tick()
    return samples
