"""The command line's grammar: one parser per command, the argument types, and ``--input-shape``'s grammar.

Each command's handler is ``costmodel.cli.commands.COMMANDS[name]``; ``--format`` choices of ``report`` and
``lint`` are the registered formats (``costmodel.formats``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import torch

from costmodel._version import __version__
from costmodel.cli.budget import LIMITS, parse_quantity
from costmodel.cli.default_input import DEFAULT_INPUT_SHAPE
from costmodel.cli.loader import DEFAULT_MODEL
from costmodel.cli.status import EXIT_ERROR
from costmodel.errors import UsageError
from costmodel.formats import findings as _findings_formats  # noqa: F401 - registers the findings formats
from costmodel.formats import format_names
from costmodel.formats.report.table import SORT_KEYS
from costmodel.types import TensorSpec

__all__ = ["build_parser", "dtype_named", "parse_shapes"]
#: Spellings of ``--format text`` kept from earlier versions (``report --format table``, ``lint --format default``).
_FORMAT_ALIASES = {"table": "text", "default": "text"}

#: How deep ``report`` rolls modules up unless told (torchinfo's default too); ``--nodes`` shows every node.
DEFAULT_DEPTH = 3


def dtype_named(text: str, where: str) -> torch.dtype:
    dtype = getattr(torch, text, None)
    if not isinstance(dtype, torch.dtype):
        raise UsageError(f"{where}: '{text}' is not a torch dtype (float32, float16, int64, bool, ...)")
    return dtype


def parse_shapes(text: str, dtype: str | None = None) -> Any:
    """The ``--input-shape`` grammar -> what ``report`` takes.

    ``1,3,224,224`` is one shape; ``a;b`` are several positional inputs; ``name=1,128`` passes an input
    by keyword (then every input is named: a dict); ``1,128:int64`` gives an input its dtype (token ids),
    else ``dtype`` (``--input-dtype``) or the model's; a size given as a name (``B,3,H,W``) is symbolic: the
    costs come out as formulas of it. Returns a shape, a list, or a dict of shapes and ``TensorSpec``s.
    """
    items: list[Any] = []
    names: list[str | None] = []
    for part in text.split(";"):
        name, _, rest = part.rpartition("=")
        dims, _, own_dtype = rest.partition(":")
        if name and not name.isidentifier():
            raise UsageError(f"--input-shape: '{name}' in '{part}' is not a parameter name")
        try:
            shape = tuple(d.strip() if d.strip().isidentifier() else int(d) for d in dims.split(","))
        except ValueError:
            raise UsageError(f"--input-shape: '{part}' is not a comma-separated list of ints (or size names)") from None
        if not shape or any(isinstance(d, int) and d <= 0 for d in shape):
            raise UsageError(f"--input-shape: '{part}' must list positive ints, like 1,3,224,224")
        chosen = own_dtype or dtype
        items.append(TensorSpec(shape, dtype_named(chosen, "--input-shape")) if chosen else shape)
        names.append(name or None)
    if any(names):
        if not all(names):
            raise UsageError("--input-shape: name every input (name=1,128;other=1,128) or none of them")
        return dict(zip(names, items, strict=True))
    return items[0] if len(items) == 1 else items


def _count(minimum: int) -> Callable[[str], int]:
    """An argparse type: an int of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def _number(text: str, *, zero: bool = False) -> float:
    """An argparse type: a positive number (or zero, with ``zero``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not (value >= 0 if zero else value > 0) or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be {'>=' if zero else '>'} 0 and finite, got {text}")
    return value


def _seconds(text: str) -> float:
    """An argparse type: a positive number."""
    return _number(text)


def _seconds_or_zero(text: str) -> float:
    """An argparse type: a non-negative number (0: no time budget, just the minimum repeats)."""
    return _number(text, zero=True)


def _quantity(text: str) -> float:
    """An argparse type: a budget quantity like 300M, 3.5M, 64MB or 12ms."""
    try:
        return parse_quantity(text, "value")
    except UsageError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a quantity like 300M, 3.5M, 64MB or 12ms") from None


def _option(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected CODE.option=NUMBER, like G1.min_ratio=1.1; got '{text}'") from None


def _codes(text: str) -> list[str]:
    return [code.strip() for code in text.split(",") if code.strip()]


def _saving(text: str) -> tuple[float, float]:
    """'0.5ms', '0.5' (milliseconds) or '2%' (of the model's predicted time) -> (ms, share)."""
    value = text.strip().lower()
    try:
        if value.endswith("%"):
            return 0.0, float(value[:-1]) / 100
        return float(value.removesuffix("ms")), 0.0
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected milliseconds like 0.5ms or a share like 2%; got '{text}'") from None


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        nargs="?",
        default=DEFAULT_MODEL,
        help=f"a Python file with models, or a zoo model name (default: {DEFAULT_MODEL})",
    )
    parser.add_argument("--model", help="the model (class or function) in the file to use; default: all")
    parser.add_argument(
        "--input-shape",
        help="input shape, e.g. 1,3,224,224 ('a;b' for several inputs, 'input_ids=1,128:int64;attention_mask=1,128'"
        " by keyword, ':dtype' for one input's dtype); default: the file's INPUT_SHAPE "
        f"or {','.join(map(str, DEFAULT_INPUT_SHAPE))}",
    )
    parser.add_argument("--input-dtype", help="dtype of every --input-shape input without its own (e.g. int64)")
    parser.add_argument("--traceback", action="store_true", help="show the full traceback of an error")
    parser.add_argument(
        "--cache-info", action="store_true", help="print each cache store's size, hits, misses and bypasses to stderr"
    )


def _add_device_argument(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--profile", metavar="PROFILE.json", help=f"a device profile from 'costmodel calibrate': {what}"
    )
    parser.add_argument("--device", dest="profile", help=argparse.SUPPRESS)  # its older name
    parser.add_argument(
        "--recheck",
        action="store_true",
        help="time the profile's reference networks again first (about 1 s) and scale its predictions to this "
        "machine's speed now (a shared machine's speed moves by tens of percent)",
    )


def _add_hardware_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """``--device``: hardware, in every command that runs on some (a profile file is ``--profile``)."""
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help=f"{what} (default cpu)")


def _add_format(parser: argparse.ArgumentParser, choices: Sequence[str]) -> None:
    """``--format`` with the same spelling in every command; ``text`` is the default."""

    def fmt(value: str) -> str:
        value = _FORMAT_ALIASES.get(value, value)
        if value not in choices:
            raise argparse.ArgumentTypeError(f"invalid choice: '{value}' (choose from {', '.join(choices)})")
        return value

    parser.add_argument("--format", type=fmt, default="text", metavar="{" + ",".join(choices) + "}")


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors as one line on stderr and exit status 2 (its subcommands too)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="costmodel", description="What a PyTorch network costs, and why.")
    parser.add_argument("--version", action="version", version=f"costmodel {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    report = commands.add_parser("report", help="print the cost table of the models in a file")
    _add_model_arguments(report)
    _add_format(report, format_names("report"))
    _add_device_argument(report, "adds a predicted_ms column and total")
    rows = report.add_mutually_exclusive_group()
    rows.add_argument(
        "--depth",
        type=_count(0),
        default=DEFAULT_DEPTH,
        help=f"roll costs up by module to this depth (default {DEFAULT_DEPTH})",
    )
    rows.add_argument(
        "--nodes", dest="depth", action="store_const", const=None, help="one row per node (every op call) instead"
    )
    report.add_argument("--max-rows", type=_count(1), default=None, help="print at most this many rows")
    report.add_argument(
        "--sort", choices=tuple(SORT_KEYS), help="order rows by this figure, largest first (time: predicted)"
    )
    report.add_argument(
        "--top", type=_count(1), default=None, help="keep the first N rows (with --sort: the N largest)"
    )

    check = commands.add_parser(
        "check",
        help="exit 1 when a model is over a budget (FLOPs, params, memory access, activations, predicted time)",
        description="Exit status: 0 within budget, 1 over (or an incomplete count: ops with no cost formula, unless "
        "--allow-unsupported), 2 usage or input error. Limits come from the flags "
        'and from [tool.costmodel.budget] in the nearest pyproject.toml (max_flops = "300M", ...); flags win. '
        "Quantities take K/M/G/T suffixes; times are milliseconds.",
    )
    _add_model_arguments(check)
    for key, limit in LIMITS.items():
        check.add_argument(
            f"--max-{key.replace('_', '-')}",
            dest=f"max_{key}",
            type=_quantity,
            metavar="N",
            help=f"limit on {limit.label}",
        )
    check.add_argument(
        "--allow-unsupported",
        action="store_true",
        help="check the counts even when some ops have no cost formula (by default such a model passes no limit)",
    )
    _add_device_argument(check, "needed for --max-predicted-ms")
    _add_format(check, ("text", "json"))

    diff = commands.add_parser(
        "diff",
        help="compare two saved reports (costmodel report --format json): per-module changes and new findings",
        description="Exit status: 0, or with --fail-on-increase 1 when a model's total grew or it has new findings.",
    )
    diff.add_argument("old", help="the earlier report (JSON)")
    diff.add_argument("new", help="the later report (JSON)")
    diff.add_argument("--depth", type=_count(0), default=2, help="module depth of the comparison (default 2)")
    diff.add_argument("--all", action="store_true", help="list unchanged modules too")
    diff.add_argument("--fail-on-increase", action="store_true", help="exit 1 when a total grew or findings are new")
    _add_format(diff, ("text", "json"))

    lint = commands.add_parser(
        "lint",
        help="check the models in a file against the ShuffleNet V2 guidelines G1-G4",
        description="Exit status: 0 no findings, 1 findings, 2 usage or input error. Settings also come from "
        "[tool.costmodel] in the nearest pyproject.toml.",
    )
    _add_model_arguments(lint)
    lint.add_argument("--select", type=_codes, help="rule code prefixes to run, e.g. G1,G3 (default: all)")
    lint.add_argument("--ignore", type=_codes, help="rule code prefixes to skip, e.g. G4")
    lint.add_argument(
        "--option",
        type=_option,
        action="append",
        metavar="CODE.option=VALUE",
        help="a rule threshold, e.g. G4.max_share=0.5 (repeatable; see 'costmodel rules')",
    )
    _add_format(lint, format_names("findings"))
    lint.add_argument(
        "--all-instances",
        action="store_true",
        help="list every finding; by default repeated findings of one rule on one block type are grouped",
    )
    lint.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    lint.add_argument("--statistics", action="store_true", help="print the count of findings per code to stderr")
    _add_device_argument(lint, "each finding states its predicted time and saving; ranked by saving")
    lint.add_argument(
        "--min-saving",
        type=_saving,
        metavar="MS|PCT%",
        help="with --device, drop findings whose fix saves less, e.g. 0.2ms or 2%% of the model",
    )

    rules = commands.add_parser("rules", help="list the guideline rules and their options")
    _add_format(rules, ("text", "json"))

    explain = commands.add_parser("explain", help="explain a rule: what it checks, why it costs, the paper section")
    explain.add_argument("code", help="a rule code (G2) or name (excessive-group-conv)")

    measure = commands.add_parser(
        "measure", help="time real inference of the models in a file on this machine (median, spread, per node)"
    )
    _add_model_arguments(measure)
    measure.add_argument(
        "--budget", type=_seconds_or_zero, default=2.0, help="seconds of timed runs per pass (default 2)"
    )
    measure.add_argument("--min-repeats", type=_count(1), default=5)
    measure.add_argument("--max-repeats", type=_count(1), default=1000)
    measure.add_argument("--threads", type=_count(1), default=None, help="CPU threads (default: torch's)")
    _add_hardware_argument(measure, "the device to time the model on (it is moved there)")
    measure.add_argument("--no-per-node", action="store_true", help="skip the node-by-node pass")
    measure.add_argument("--max-rows", type=_count(1), default=40, help="rows of the per-node table (default 40)")
    _add_format(measure, ("text", "json"))

    calibrate = commands.add_parser(
        "calibrate",
        help="time synthetic micro-benchmarks here and fit a device profile (for --device)",
        description="Times synthetic micro-benchmarks and random synthetic networks (never a published model), "
        "fits the per-family time model, and prints it with its held-out error.",
    )
    calibrate.add_argument("-o", "--output", help="write the profile to this JSON file")
    calibrate.add_argument(
        "--budget", type=_seconds, default=120.0, help="wall seconds the calibration may take (default 120)"
    )
    calibrate.add_argument("--threads", type=_count(1), default=None, help="CPU threads (default: torch's)")
    calibrate.add_argument("--dtype", default="float32", help="dtype of the benchmarks (default float32)")
    _add_hardware_argument(calibrate, "the device to calibrate")
    calibrate.add_argument("--scale", type=_seconds, default=4.0, help="cases per family, relative (default 4)")
    _add_format(calibrate, ("text", "json"))

    prove = commands.add_parser(
        "prove",
        help="prove the G1 bound and the G2 growth with sympy, on costmodel's own formulas",
        description="Exit status 0 when every proof is verified, 1 otherwise.",
    )
    prove.add_argument("names", nargs="*", help="proofs to run (default: all; an unknown name lists them)")
    _add_format(prove, ("text", "json", "latex"))
    return parser
