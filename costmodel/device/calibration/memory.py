"""The probes of a fresh output's pages: ``x + 1`` into a new tensor against into a kept buffer, at output sizes
above the allocator's mapping threshold, and the fit of what each such byte costs.

glibc's ``malloc`` serves a request of at least its mmap threshold with pages mapped for it and returns them on
``free``; the threshold follows the largest block freed but never passes ``DEFAULT_MMAP_THRESHOLD_MAX`` (32 MiB on
64-bit). So an output of at least 32 MiB is a fresh mapping whose pages the kernel faults in and zeroes on first
write, on every call (unless the heap happens to hold a free block that large, as a long-lived process's may): on
a 2-core EPYC VM 0.3 ms per MB, eight times the add's own time. Batch-1 vision and sequence models have no such
outputs; at batch 8 a map of 96 channels at 112x112 is one. The probes measure the cost where the calibration
runs, so a machine or allocator without it (CUDA's caching allocator, jemalloc, a raised
``MALLOC_MMAP_THRESHOLD_``) fits about zero.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import torch
from torch import nn

from costmodel.device.calibration.ops import Shifted

__all__ = ["PROBE_BYTES", "fit_mapped_byte_s", "probes"]

#: Output bytes of the probes: each above ``costmodel.device.families.MAPPED_FROM_BYTES``.
PROBE_BYTES = (48 * 2**20, 96 * 2**20)


def probes(dtype: torch.dtype) -> tuple[tuple[int, nn.Module, nn.Module, tuple[int]], ...]:
    """Per probe size: its output bytes, the fresh-output module, the into-a-buffer module, and the input shape."""
    made = []
    for size in PROBE_BYTES:
        numel = size // dtype.itemsize
        made.append((numel * dtype.itemsize, Shifted(numel, into=False), Shifted(numel, into=True), (numel,)))
    return tuple(made)


def fit_mapped_byte_s(timed: Sequence[tuple[int, float, float]]) -> float:
    """Seconds per byte of a freshly mapped output, from (output bytes, seconds into a fresh tensor, seconds into a
    kept buffer) per probe: the median of (fresh - into) / bytes, at least 0 (0 without probes)."""
    per_byte = [(fresh - into) / size for size, fresh, into in timed]
    return max(statistics.median(per_byte), 0.0) if per_byte else 0.0
