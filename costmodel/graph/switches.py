"""Global backend switches held for one recording, each restored afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

import torch
from torch import nn

__all__ = ["no_fast_path", "no_onednn", "recurrent_weights_on_meta"]


@contextlib.contextmanager
def _switched_off(read: Callable[[], bool], write: Callable[[bool], None]) -> Iterator[None]:
    """A global backend switch off for the block, back to what it was afterwards."""
    was = read()
    write(False)
    try:
        yield
    finally:
        write(was)


def no_fast_path() -> contextlib.AbstractContextManager[None]:
    """Transformer layers' fused inference path off for the run: its single fused op would hide the
    projections, attention and feed-forward (the unfused path does the same arithmetic, op by op)."""
    return _switched_off(torch.backends.mha.get_fastpath_enabled, torch.backends.mha.set_fastpath_enabled)


def no_onednn() -> contextlib.AbstractContextManager[None]:
    """oneDNN off for a run on values: its fused recurrent kernel would be one opaque call, where the
    op-by-op path does the same arithmetic."""
    return _switched_off(lambda: torch.backends.mkldnn.enabled, _set_onednn)


def _set_onednn(enabled: bool) -> None:
    torch.backends.mkldnn.enabled = enabled


@contextlib.contextmanager
def recurrent_weights_on_meta(modules: Iterable[nn.Module]) -> Iterator[None]:
    """Recurrent layers (LSTM, GRU, RNN) read their weights from a private list, which C++ checks for the
    input's device before any op dispatches: point it at meta copies for the run, and back afterwards."""
    saved = []
    for module in modules:
        weights = getattr(module, "_flat_weights", None)
        if isinstance(module, nn.RNNBase) and isinstance(weights, list):
            saved.append((module, weights))
            module._flat_weights = [w.to("meta") if isinstance(w, torch.Tensor) else w for w in weights]
    try:
        yield
    finally:
        for module, weights in saved:
            module._flat_weights = weights
