"""Fitting the per-family time models: non-negative least squares on relative error, with numpy.

Each coefficient is a time (seconds per call, per parallel launch, per unit of
work, per byte), so it must not be negative; with six features an exact
active-set search over the 64 subsets is cheap and needs no solver library.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

__all__ = ["fit_nonnegative", "relative_errors"]


def fit_nonnegative(
    rows: Sequence[Sequence[float]], seconds: Sequence[float], offset: Sequence[float] | None = None
) -> tuple[float, ...]:
    """Non-negative ``c`` minimising ``sum(((offset + rows @ c) - t) / t) ** 2``: relative error, so small ops count.

    ``offset`` is a known part of each time (default 0).

    Raises:
        ValueError: No rows, or rows and times of different lengths.
    """
    a = np.asarray(rows, dtype=float)
    t = np.asarray(seconds, dtype=float)
    if a.ndim != 2 or len(a) == 0 or len(a) != len(t):
        raise ValueError(f"fit_nonnegative: need rows [n, k] and n times, got {a.shape} and {t.shape}")
    known = np.zeros(len(t)) if offset is None else np.asarray(offset, dtype=float)
    weighted = a / t[:, None]
    target = (t - known) / t
    best: tuple[float, np.ndarray] = (float("inf"), np.zeros(a.shape[1]))
    columns = [j for j in range(a.shape[1]) if np.any(a[:, j])]  # a feature no row has: its coefficient stays 0
    for size in range(1, len(columns) + 1):
        for subset in itertools.combinations(columns, size):
            chosen = list(subset)
            solution, *_ = np.linalg.lstsq(weighted[:, chosen], target, rcond=None)
            if np.any(solution < 0):
                continue
            full = np.zeros(a.shape[1])
            full[chosen] = solution
            loss = float(np.sum((weighted @ full - target) ** 2))
            if loss < best[0]:
                best = (loss, full)
    return tuple(float(c) for c in best[1])


def relative_errors(
    rows: Sequence[Sequence[float]],
    seconds: Sequence[float],
    coefficients: Sequence[float],
    offset: Sequence[float] | None = None,
) -> np.ndarray:
    """``predicted / measured - 1`` for each row (``offset`` as in ``fit_nonnegative``)."""
    predicted = np.asarray(rows, dtype=float) @ np.asarray(coefficients, dtype=float)
    if offset is not None:
        predicted = predicted + np.asarray(offset, dtype=float)
    return predicted / np.asarray(seconds, dtype=float) - 1.0
