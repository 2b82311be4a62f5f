"""``DeviceProfile``: the fitted time model of one machine, thread count and dtype, saved as JSON.

It holds, per op family, four coefficients (seconds per call, per parallel
launch, per unit of work, per byte; see ``costmodel.device.families``), the
Python overhead of each kind of graph node, and the held-out error of the fit
on the calibration's own micro-benchmarks. Records only: no timing here.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from costmodel.device import families as per_call
from costmodel.device.families import FEATURES, GRAIN_SIZE, MAPPED_FROM_BYTES, Family, family, features
from costmodel.errors import UnsupportedInput
from costmodel.records import record
from costmodel.types import FrozenMap, NodeCost, OpCost

__all__ = ["SCHEMA", "DeviceProfile", "FamilyFit", "ProfileError"]

#: Where a family has no fit of its own: fused attention is priced as matrix products; in a profile older than their
#: family, max pools as pools, indexing as gathers, gathers as copies (followed until a fit is found); the rest by
#: traffic, as element-wise ops.
_FALLBACK = {
    Family.ATTENTION: Family.MATMUL, Family.MAX_POOL: Family.POOL, Family.INDEX: Family.GATHER,
    Family.GATHER: Family.COPY,
}  # fmt: skip

#: Version of the JSON layout; a file of another version is refused with a clear message.
SCHEMA = 1
#: What splits a family's two regimes (see ``FamilyFit.regime``).
_REGIMES = frozenset({"grain", "backend"})


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _reference(entry: Any) -> dict[str, Any]:
    """The reference fields of a profile's ``reference`` entry (none in a profile calibrated before recheck existed)."""
    if entry is None:
        return {}
    scale = float(entry.get("time_scale", 1.0))
    if not scale > 0:
        raise ValueError(f"reference: time_scale {scale} is not positive")
    return {
        "reference_s": _optional_float(entry.get("seconds")),
        "time_scale": scale,
        "rechecked": str(entry.get("rechecked", "")),
    }


def _memory(entry: Any) -> dict[str, Any]:
    """The fields of a profile's ``memory`` entry (none in a profile calibrated before the term: none charged)."""
    if entry is None:
        return {}
    mapped, from_bytes = float(entry["mapped_byte_s"]), int(entry["mapped_from_bytes"])
    if mapped < 0 or from_bytes <= 0:
        raise ValueError(f"memory: mapped_byte_s {mapped} or mapped_from_bytes {from_bytes} out of range")
    return {"mapped_byte_s": mapped, "mapped_from_bytes": from_bytes}


def _op_weights(entry: Any) -> dict[str, float]:
    """A profile's ``op_weights`` entry (none in a profile calibrated before the weights: every op weighs 1)."""
    weights = {str(key): float(value) for key, value in (entry or {}).items()}
    if bad := [key for key, value in weights.items() if not value > 0]:
        raise ValueError(f"op_weights: {bad[0]} is {weights[bad[0]]}, not positive")
    return weights


class ProfileError(UnsupportedInput):
    """A device profile file is missing, not JSON, or not of this schema (names the file and the field)."""


@record
class FamilyFit:
    """The time model of one op family: ``seconds = sum(coefficients * features)``.

    ``held_out`` is the median |relative error| on micro-benchmarks left out of
    the fit (``None`` when too few), ``samples`` the micro-benchmarks it was fit on.
    ``regime`` says what splits its two regimes: ``"grain"``, a parallel kernel (at least
    ``GRAIN_SIZE`` output elements); ``"backend"``, a convolution ATen sends to oneDNN
    rather than its native path (``costmodel.device.families.onednn_conv``).
    """

    coefficients: tuple[float, ...]
    samples: int
    held_out: float | None = None
    regime: str = "grain"

    def seconds(self, values: tuple[float, ...]) -> float:
        """Predicted seconds of one call with these feature values."""
        if len(values) != len(self.coefficients):
            raise ValueError(f"{len(values)} feature values for {len(self.coefficients)} coefficients")
        return sum(map(operator.mul, self.coefficients, values))


@record
class DeviceProfile:
    """What one machine charges for each op family, as calibrated by ``costmodel.calibrate``.

    Predictions are of eager PyTorch inference on ``device`` with ``threads`` CPU
    threads and inputs of ``dtype``.
    """

    device: str
    threads: int
    dtype: str
    torch_version: str
    families: Mapping[str, FamilyFit]
    node_overhead: Mapping[str, float] = field(default_factory=FrozenMap)
    network_call_s: float = 0.0
    #: A convolution's extra seconds per call in a network (``None``: ``network_call_s``, as older profiles have it).
    network_conv_call_s: float | None = None
    fresh_byte_s: float = 0.0
    network_held_out: float | None = None
    #: Seconds per byte of a matrix product's weights read from memory in a network (``weight_bytes``).
    cold_weight_byte_s: float = 0.0
    #: Seconds per byte of a fresh output of at least ``mapped_from_bytes``, whose pages the allocator maps anew on
    #: every call (``costmodel.device.calibration.memory``; 0 in profiles calibrated before it existed).
    mapped_byte_s: float = 0.0
    mapped_from_bytes: int = MAPPED_FROM_BYTES
    #: A transcendental op's work per element counted over a sigmoid's, by ``families.weight_key``
    #: (``costmodel.device.calibration.weights``; empty in profiles calibrated before it existed: every op weighs 1).
    op_weights: Mapping[str, float] = field(default_factory=FrozenMap)
    machine: str = ""
    created: str = ""
    budget_s: float = 0.0
    #: Seconds of one pass over the reference networks (``costmodel.device.calibrate.REFERENCE``), timed in the
    #: calibration's own rounds (``None``: a profile calibrated before recheck existed, which cannot be rechecked).
    reference_s: float | None = None
    #: Every predicted time is multiplied by this: the reference's time when last re-timed (``recheck``) over its
    #: time at calibration; 1 as calibrated.
    time_scale: float = 1.0
    #: When ``time_scale`` was measured (ISO 8601; empty as calibrated).
    rechecked: str = ""

    def __post_init__(self) -> None:
        for name in ("families", "node_overhead", "op_weights"):
            object.__setattr__(self, name, FrozenMap(getattr(self, name)))

    def op_seconds(self, op: OpCost) -> float:
        """Predicted seconds of one ATen call (its family's fit, else its fallbacks' in turn, else element-wise's,
        else 0)."""
        kind = family(op)
        fit = self._fit_of(kind)
        regime_threads = self.threads if fit is not None and fit.regime == "backend" else None
        seconds = fit.seconds(features(op, regime_threads, self.op_weights)) if fit is not None else 0.0
        if per_call.launches(op):
            conv = self.network_conv_call_s is not None and kind in per_call.CONV_FAMILIES
            seconds += self.network_conv_call_s if conv else self.network_call_s
        if self.fresh_byte_s:
            seconds += self.fresh_byte_s * per_call.fresh_bytes(op)
        return (seconds + self.mapped_seconds(op, regime_threads)) * self.time_scale

    def _fit_of(self, kind: Family) -> FamilyFit | None:
        """The fit that prices ``kind``: its own, else its fallback's (``_FALLBACK``, in turn), else element-wise."""
        fits, looked = self.families, kind
        while looked not in fits and looked in _FALLBACK:
            looked = _FALLBACK[looked]
        return fits.get(looked) or fits.get(Family.ELEMENTWISE)

    def mapped_seconds(self, op: OpCost, backend_threads: int | None = None) -> float:
        """Seconds the call's freshly mapped tensors cost in page faults (``mapped_byte_s``), before ``time_scale``;
        ``backend_threads``: its family is fit by ATen's convolution backend at these threads (``mapped_bytes``)."""
        if not self.mapped_byte_s:
            return 0.0
        return self.mapped_byte_s * per_call.mapped_bytes(op, self.mapped_from_bytes, backend_threads)

    def node_fixed_seconds(self, node: NodeCost) -> float:
        """Predicted seconds of one graph node beyond its ATen calls: its Python overhead (a module call) and the
        reading of its matrix product's weights from memory."""
        if not node.ops:
            return 0.0
        fixed = self.node_overhead.get(node.op, 0.0) + self.cold_weight_byte_s * per_call.weight_bytes(node)
        return fixed * self.time_scale

    @property
    def module_call_s(self) -> float:
        """Predicted seconds of one call of a module a node runs inside (a block, the model itself)."""
        return self.node_overhead.get("call_module", 0.0) * self.time_scale

    def node_seconds(self, node: NodeCost) -> float:
        """Predicted seconds of one graph node: ``node_fixed_seconds`` plus its ATen calls."""
        return self.node_fixed_seconds(node) + sum(self.op_seconds(op) for op in node.ops)

    @property
    def held_out(self) -> float | None:
        """Median over families of their held-out median |relative error|."""
        errors = sorted(f.held_out for f in self.families.values() if f.held_out is not None)
        return errors[len(errors) // 2] if errors else None

    # -- JSON -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the file format, with its schema version)."""
        return {
            "schema": SCHEMA,
            "device": self.device,
            "machine": self.machine,
            "threads": self.threads,
            "dtype": self.dtype,
            "torch_version": self.torch_version,
            "created": self.created,
            "budget_s": self.budget_s,
            "features": list(FEATURES),
            "node_overhead_s": dict(self.node_overhead),
            "reference": {"seconds": self.reference_s, "time_scale": self.time_scale, "rechecked": self.rechecked},
            "memory": {"mapped_byte_s": self.mapped_byte_s, "mapped_from_bytes": self.mapped_from_bytes},
            "op_weights": dict(self.op_weights),
            "network": {
                "call_s": self.network_call_s,
                "conv_call_s": self.network_conv_call_s,
                "fresh_byte_s": self.fresh_byte_s,
                "held_out": self.network_held_out,
                "cold_weight_byte_s": self.cold_weight_byte_s,
            },
            "families": {
                name: {
                    "coefficients": list(fit.coefficients),
                    "samples": fit.samples,
                    "held_out": fit.held_out,
                    "regime": fit.regime,
                }
                for name, fit in self.families.items()
            },
        }

    def save(self, path: str | Path) -> None:
        """Write the profile as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_dict(cls, data: Any, where: str = "profile") -> DeviceProfile:
        """The profile of a dict as ``to_dict`` writes it.

        Raises:
            ProfileError: Another schema version, or a field missing or of the wrong type.
        """
        if not isinstance(data, Mapping):
            raise ProfileError(f"{where}: expected a JSON object, got {type(data).__name__}")
        if data.get("schema") != SCHEMA:
            raise ProfileError(f"{where}: schema {data.get('schema')!r} is not {SCHEMA}; calibrate again")
        if list(data.get("features", ())) != list(FEATURES):
            raise ProfileError(f"{where}: features {data.get('features')!r} are not {list(FEATURES)}")
        try:
            families = {
                str(Family(name)): FamilyFit(
                    tuple(float(c) for c in entry["coefficients"]),
                    int(entry["samples"]),
                    None if entry["held_out"] is None else float(entry["held_out"]),
                    str(entry.get("regime", "grain")),  # profiles from before regimes were all by grain
                )
                for name, entry in data["families"].items()
            }
            for name, fit in families.items():
                if len(fit.coefficients) != len(FEATURES) or any(c < 0 for c in fit.coefficients):
                    raise ValueError(f"family {name}: need {len(FEATURES)} non-negative coefficients")
                if fit.regime not in _REGIMES:
                    raise ValueError(f"family {name}: regime {fit.regime!r} is not one of {sorted(_REGIMES)}")
            return cls(
                device=str(data["device"]),
                threads=int(data["threads"]),
                dtype=str(data["dtype"]),
                torch_version=str(data["torch_version"]),
                families=families,
                node_overhead={str(k): float(v) for k, v in data["node_overhead_s"].items()},
                network_call_s=float(data["network"]["call_s"]),
                network_conv_call_s=_optional_float(data["network"].get("conv_call_s")),  # older profiles: none
                fresh_byte_s=float(data["network"]["fresh_byte_s"]),
                network_held_out=_optional_float(data["network"]["held_out"]),
                cold_weight_byte_s=float(data["network"].get("cold_weight_byte_s", 0.0)),  # older profiles: none
                machine=str(data.get("machine", "")),
                created=str(data.get("created", "")),
                budget_s=float(data.get("budget_s", 0.0)),
                **_reference(data.get("reference")),  # older profiles: none
                **_memory(data.get("memory")),  # older profiles: none
                op_weights=_op_weights(data.get("op_weights")),  # older profiles: none
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ProfileError(f"{where}: malformed profile: {type(error).__name__}: {error}") from error

    @classmethod
    def load(cls, path: str | Path) -> DeviceProfile:
        """Read a profile written by ``save``.

        Raises:
            ProfileError: The file is missing, not JSON, or not a profile of this schema.
        """
        try:
            text = Path(path).read_text()
        except OSError as error:
            raise ProfileError(f"{path}: cannot read the device profile: {error.strerror or error}") from error
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ProfileError(f"{path}:{error.lineno}:{error.colno}: not JSON: {error.msg}") from error
        return cls.from_dict(data, str(path))

    # -- reading --------------------------------------------------------------
    def describe(self) -> str:
        """The fitted terms, one line per family, in units a person reads (µs, GFLOP/s, GB/s)."""
        lines = [
            f"device profile: {self.device}"
            + (f" on {self.machine}" if self.machine and self.machine not in self.device else "")
            + f", {self.threads} threads, "
            f"{self.dtype}, torch {self.torch_version}",
            "node overhead: "
            + ", ".join(f"{kind} {seconds * 1e6:.2f} us" for kind, seconds in sorted(self.node_overhead.items())),
        ]

        def rate(per: float) -> str:
            return f"{1 / per / 1e9:.1f}" if per > 1e-15 else "-"  # below 1e-15 s/unit: not a real term

        rows = [["family", "per call", "parallel", "rate 1|n thr", "bandwidth 1|n thr", "held-out", "n"]]
        for name, fit in sorted(self.families.items()):
            call, parallel, work_1, work_n, bytes_1, bytes_n = fit.coefficients
            rows.append([
                name,
                f"{call * 1e6:.2f} us",
                f"{parallel * 1e6:.2f} us",
                f"{rate(work_1)} | {rate(work_n)} Gop/s",
                f"{rate(bytes_1)} | {rate(bytes_n)} GB/s",
                "-" if fit.held_out is None else f"{fit.held_out:.0%}",
                str(fit.samples),
            ])  # fmt: skip
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            cells = [cell.rjust(w) for cell, w in zip(row, widths, strict=True)]
            lines.append("  ".join([row[0].ljust(widths[0]), *cells[1:]]))
        by_backend = sorted(name for name, fit in self.families.items() if fit.regime == "backend")
        lines.append(
            "time of one call = per call + parallel + work / rate + bytes / bandwidth, with 'parallel' and the "
            f"n-thread rates for outputs of >= {GRAIN_SIZE} elements"
            + (f" ({', '.join(by_backend)}: for convolutions ATen sends to oneDNN, the rest on its native path)"
               if by_backend else "")
            + f"; held-out: median |error| on micro-benchmarks left out of the fit (overall {_percent(self.held_out)})"
        )  # fmt: skip
        lines.append(
            f"in a network: {self.network_call_s * 1e6:.2f} us more per kernel call than alone"
            + (
                f" ({self.network_conv_call_s * 1e6:.2f} us per convolution)"
                if self.network_conv_call_s is not None
                else ""
            )
            + ", and "
            f"{self.fresh_byte_s * 1e12:.1f} us per MB of fresh output (allocation); held-out on random synthetic "
            f"networks: {_percent(self.network_held_out)}; a linear layer's weights read from memory: "
            + (f"{1 / self.cold_weight_byte_s / 1e9:.1f} GB/s" if self.cold_weight_byte_s > 1e-15 else "not charged")
        )
        lines.append(
            f"fresh outputs of {self.mapped_from_bytes / 2**20:g} MiB or more (pages mapped anew each call): "
            + (f"{self.mapped_byte_s * 1e12:.1f} us per MB" if self.mapped_byte_s > 1e-15 else "not charged")
        )
        if self.op_weights:
            heaviest = sorted(self.op_weights.items(), key=lambda item: -item[1])
            lines.append(
                f"{Family.TRANSCENDENTAL} ops per element, times a sigmoid: "
                + ", ".join(f"{key} {weight:.2f}" for key, weight in heaviest)
            )
        lines.append(self.reference_line())
        return "\n".join(lines)

    def reference_line(self) -> str:
        """The reference timing and, once rechecked, the scale every prediction carries."""
        if self.reference_s is None:
            return "reference: none (calibrated before recheck existed; calibrate again to recheck it later)"
        line = f"reference networks: {self.reference_s * 1e3:.2f} ms at calibration"
        if self.rechecked:
            line += f"; re-timed {self.rechecked}: x{self.time_scale:.2f}, every predicted time scaled by it"
        return line

    def __str__(self) -> str:
        return self.describe()
