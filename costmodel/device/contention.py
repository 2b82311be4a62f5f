"""Whether other work shared the processor while a measurement ran: other processes' CPU time, and the time a
hypervisor took (steal), read from ``/proc/stat`` around the timed loop; the load average where that is missing.

A timing taken while other processes keep cores busy is not the model's time: with as many threads as free cores
it is inflated a little, with more it can be inflated a hundredfold (threads wait at each kernel's barrier for
a core). ``Contention.problems`` says so in words.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from costmodel.records import record

__all__ = ["Contention", "ContentionWatch", "available_cores"]

_PROC_STAT = Path("/proc/stat")
#: Clock ticks per second of ``/proc/stat``.
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
#: Other processes' cores beyond the free ones that count as oversubscription (a shell, a logger: noise).
_SLACK_CORES = 0.25
#: Share of the processor's time a hypervisor may take before it is said.
_MAX_STEAL = 0.05


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _processor_seconds() -> tuple[float, float, float] | None:
    """(busy, steal, all) seconds of every core since boot, from ``/proc/stat``; ``None`` where it is missing."""
    try:
        fields = _PROC_STAT.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    ticks = [int(value) for value in fields[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle and iowait
    steal = ticks[7] if len(ticks) > 7 else 0
    every = sum(ticks[:8])  # guest time is inside user time already
    return (every - idle - steal) / _TICKS, steal / _TICKS, every / _TICKS


def _own_seconds() -> float:
    times = os.times()
    return times.user + times.system


@record
class Contention:
    """What shared the processor during ``wall`` seconds of a measurement run with ``threads`` threads."""

    wall: float
    threads: int
    cores: int
    #: Cores' worth of CPU time used by other processes (``None``: unknown).
    others: float | None
    #: Share of the processor's time the hypervisor took (``None``: unknown).
    steal: float | None
    #: One-minute load average at the end (``None``: unknown).
    load: float | None

    def problems(self) -> list[str]:
        """Why timings taken meanwhile are not the model's alone ([] on a quiet machine)."""
        found = []
        free = self.cores - self.threads
        if self.others is not None and self.others > max(free, 0) + _SLACK_CORES:
            found.append(
                f"other processes kept {self.others:.1f} of the {self.cores} cores busy while it ran on "
                f"{self.threads} thread{'s' if self.threads != 1 else ''}: the cores were oversubscribed and the "
                "times are inflated (threads wait for a core at every kernel); measure on a quiet machine or with "
                "fewer threads"
            )
        elif self.others is None and self.load is not None and self.load > free + 1:
            found.append(
                f"the load average was {self.load:.1f} on {self.cores} cores with {self.threads} threads of ours: "
                "the cores may have been oversubscribed"
            )
        if self.steal is not None and self.steal > _MAX_STEAL:
            found.append(
                f"the hypervisor took {self.steal:.0%} of the processor's time (steal): the times are inflated"
            )
        return found


class ContentionWatch:
    """Watches the processor over a ``with`` block; ``result`` is the ``Contention`` after it."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.result: Contention | None = None

    def __enter__(self) -> ContentionWatch:
        self._start = (time.perf_counter(), _own_seconds(), _processor_seconds())
        return self

    def __exit__(self, *exc: object) -> None:
        wall0, own0, stat0 = self._start
        wall, own, stat = time.perf_counter() - wall0, _own_seconds() - own0, _processor_seconds()
        others = steal = None
        if stat0 is not None and stat is not None and wall > 0:
            busy, stolen, every = (end - begin for end, begin in zip(stat, stat0, strict=True))
            others = max(busy - own, 0.0) / wall
            steal = stolen / every if every > 0 else 0.0
        try:
            load: float | None = os.getloadavg()[0]
        except (AttributeError, OSError):
            load = None
        self.result = Contention(wall, self.threads, available_cores(), others, steal, load)
