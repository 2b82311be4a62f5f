"""Timing samples and their statistics (``Timing``), the warm-up loop, and the progress bar shown meanwhile."""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

from costmodel.records import record

__all__ = ["Timing", "progress", "warm_up"]

#: Share of runs that may be outliers before they are said (a run the machine interrupted now and then).
_MAX_OUTLIERS = 0.05


@record
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

    @property
    def drift(self) -> float:
        """Median of the last third of the samples over the first third's, minus 1 (0 with fewer than 6)."""
        third = len(self.samples) // 3
        if third < 2:
            return 0.0
        first, last = statistics.median(self.samples[:third]), statistics.median(self.samples[-third:])
        return last / first - 1 if first else 0.0

    @property
    def outliers(self) -> int:
        """Samples beyond the third quartile plus three interquartile ranges (a run the machine interrupted)."""
        q1, q3 = self.iqr
        return sum(s > q3 + 3 * (q3 - q1) for s in self.samples)

    def problems(self, *, max_spread: float = 0.1, max_drift: float = 0.1) -> list[str]:
        """Why these samples should not be trusted as they are ([] when they are stable)."""
        found = []
        if self.spread > max_spread:
            found.append(f"the middle half of the runs spans {self.spread:.0%} of the median")
        if abs(self.drift) > max_drift:
            found.append(f"the last third of the runs is {self.drift:+.0%} off the first third (drift)")
        if self.outliers > _MAX_OUTLIERS * len(self.samples):  # a few interrupted runs are what medians are for
            found.append(f"{self.outliers} of {len(self.samples)} runs are outliers (the median is used)")
        return found


@contextlib.contextmanager
def progress(enabled: bool, description: str, total: int) -> Iterator[Callable[[], None]]:
    """A transient progress bar on stderr when enabled; otherwise a no-op advance()."""
    if not enabled:
        yield lambda: None
        return
    from rich.progress import Progress

    # No refresh thread: it would compete with the timed runs for the cores. The bar is redrawn
    # between samples, at most four times a second.
    with Progress(transient=True, auto_refresh=False) as bar:
        task = bar.add_task(description, total=total)
        last = [0.0]

        def advance() -> None:
            bar.advance(task)
            if time.perf_counter() - last[0] > 0.25:
                bar.refresh()
                last[0] = time.perf_counter()

        yield advance


def warm_up(run: Callable[[], Any], sync: Callable[[], None], least: int, most_s: float) -> int:
    """Untimed runs until the last three agree within 10% (at least ``least``, at most ``most_s`` seconds)."""
    recent: list[float] = []
    started = time.perf_counter()
    while True:
        begin = time.perf_counter()
        run()
        sync()
        recent = [*recent[-2:], time.perf_counter() - begin]
        settled = len(recent) == 3 and max(recent) <= 1.1 * min(recent)
        done = time.perf_counter() - started
        if len(recent) >= least and (settled or done > most_s):
            return len(recent)
