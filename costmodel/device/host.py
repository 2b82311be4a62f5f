"""Facts and settings of the machine a model runs on: processor name, threads, device, synchronisation."""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Callable, Iterator

import torch
from torch import nn

__all__ = [
    "PAGE_BYTES",
    "cpu_name",
    "device_name",
    "model_device",
    "page_faults",
    "settings",
    "synchronizer",
    "threads",
]

#: Bytes of one page (the common 4 KiB): page faults times this is the memory faulted in, where pages are not huge.
PAGE_BYTES = 4096


def page_faults() -> int | None:
    """Minor page faults of this process so far (pages the kernel mapped in on first touch: fresh allocations), or
    ``None`` where the platform does not count them (no ``resource`` module: Windows)."""
    try:
        import resource
    except ImportError:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (CPU for a model with neither)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def synchronizer(device: torch.device) -> Callable[[], None]:
    """A call that waits for the device's queued work (CUDA); a no-op on the CPU."""
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


@contextlib.contextmanager
def threads(count: int | None) -> Iterator[int]:
    """Run with ``count`` CPU threads (torch's setting if ``None``); yields the count in force, restores it after."""
    before = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def settings(device: torch.device) -> dict[str, str]:
    """The settings that decide which kernels run and how wide: threads, libraries, their switches, versions."""
    found = {
        "torch": torch.__version__,
        "threads": str(torch.get_num_threads()),
        "interop_threads": str(torch.get_num_interop_threads()),
        "mkldnn": "on" if torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled else "off",
        "mkl": "on" if torch.backends.mkl.is_available() else "off",
        **{name: os.environ.get(name, "unset") for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY")},
    }
    if device.type == "cuda":
        found |= {
            "cuda": str(torch.version.cuda),
            "cudnn": str(torch.backends.cudnn.version()),
            "cudnn.benchmark": str(torch.backends.cudnn.benchmark),
            "tf32.matmul": str(torch.backends.cuda.matmul.allow_tf32),
        }
    return found


def cpu_name() -> str:
    """The processor's model name (from /proc/cpuinfo where there is one)."""
    processor = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return processor


def device_name(device: torch.device) -> str:
    """'cpu (<processor>)', or the CUDA device's name."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({cpu_name()})"
    return str(device)
