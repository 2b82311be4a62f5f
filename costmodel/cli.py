"""Command line: ``python -m costmodel {report,lint,rules,explain,prove,measure}``.

Exit status: 0 success (and, for ``lint``, no findings), 1 findings, 2 usage or
input error. Errors are one line on stderr; ``--traceback`` shows the cause.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from costmodel import analysis, render
from costmodel.device.profile import DeviceProfile
from costmodel.errors import CostModelError, UsageError
from costmodel.loader import DEFAULT_INPUT_SHAPE, DEFAULT_MODEL, LoadedModel, load_models
from costmodel.rules import RULES, load_config
from costmodel.rules.formats import FORMATS
from costmodel.rules.formats import render as render_findings

__all__ = ["main", "parse_shapes"]

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
#: Spellings of ``--format text`` kept from earlier versions (``report --format table``, ``lint --format default``).
_FORMAT_ALIASES = {"table": "text", "default": "text"}


def parse_shapes(text: str) -> list[tuple[int, ...]]:
    """'1,3,224,224' -> [(1, 3, 224, 224)]; shapes of several inputs are separated by ';'."""
    shapes = []
    for part in text.split(";"):
        try:
            shape = tuple(int(d) for d in part.split(","))
        except ValueError:
            raise UsageError(f"--input-shape: '{part}' is not a comma-separated list of ints") from None
        if not shape or any(d <= 0 for d in shape):
            raise UsageError(f"--input-shape: '{part}' must list positive ints, like 1,3,224,224")
        shapes.append(shape)
    return shapes


def _input_for(loaded: LoadedModel, args: argparse.Namespace) -> Any:
    if args.input_shape:
        shapes = parse_shapes(args.input_shape)
        return shapes[0] if len(shapes) == 1 else shapes
    return loaded.input_shape or DEFAULT_INPUT_SHAPE


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
        help="input shape, e.g. 1,3,224,224 ('a;b' for several inputs); default: the file's INPUT_SHAPE "
        f"or {','.join(map(str, DEFAULT_INPUT_SHAPE))}",
    )
    parser.add_argument("--traceback", action="store_true", help="show the full traceback of an error")


def _add_device_argument(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--device", metavar="PROFILE.json", help=f"a profile from 'costmodel calibrate': {what}")


def _profile(args: argparse.Namespace) -> DeviceProfile | None:
    return DeviceProfile.load(args.device) if args.device else None


def _cmd_report(args: argparse.Namespace) -> int:
    out = []
    profile = _profile(args)
    reports = [
        analysis.report(loaded.model, _input_for(loaded, args), name=loaded.name, device=profile)
        for loaded in load_models(args.target, args.model)
    ]
    if args.format == "json":  # one JSON array, one object per model
        print(json.dumps([rep.to_dict() for rep in reports], indent=2))
        return EXIT_OK
    for rep in reports:
        if args.format == "csv":
            out.append(rep.to_dataframe(depth=args.depth).to_csv(index=False))
        else:
            out.append(render.text(rep, rep.findings, depth=args.depth, max_rows=args.max_rows))
    sys.stdout.write("\n".join(s.rstrip("\n") for s in out) + "\n")
    return EXIT_OK


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


def _cmd_lint(args: argparse.Namespace) -> int:
    base = load_config(args.target if Path(args.target).exists() else None)
    profile = _profile(args)
    if args.min_saving and profile is None:
        raise UsageError("--min-saving needs --device PROFILE.json: savings are predicted on a calibrated device")
    minimum_ms, minimum_share = args.min_saving or (None, None)
    config = base.merged(
        args.select, args.ignore, dict(args.option or ()), min_saving_ms=minimum_ms, min_saving_share=minimum_share
    )
    found = []
    for loaded in load_models(args.target, args.model):
        rep = analysis.report(loaded.model, _input_for(loaded, args), name=loaded.name, rules=config, device=profile)
        found.extend(rep.findings)
    if profile is not None:
        found.sort(key=lambda d: -d.data.get("saving_ms", 0.0))
    sys.stdout.write(render_findings(found, args.format, ranked=profile is not None))
    if args.statistics and found:
        counts = Counter(d.code for d in found)
        for code, count in sorted(counts.items()):
            print(f"{count:<5} {code} {RULES[code].name}", file=sys.stderr)
    return EXIT_FINDINGS if found and not args.exit_zero else EXIT_OK


def _cmd_rules(args: argparse.Namespace) -> int:
    if args.format == "json":
        print(
            json.dumps(
                [
                    {"code": r.code, "name": r.name, "summary": r.summary, "options": dict(r.options)}
                    for r in RULES.values()
                ],
                indent=2,
            )
        )
        return EXIT_OK
    for rule in RULES.values():
        options = ", ".join(f"{rule.code}.{k}={v:g}" for k, v in rule.options.items())
        print(f"{rule.code}  {rule.name:24} {rule.summary}  [{options}]")
    return EXIT_OK


def _cmd_explain(args: argparse.Namespace) -> int:
    rule = RULES.get(args.code.upper()) or next((r for r in RULES.values() if r.name == args.code), None)
    if rule is None:
        raise UsageError(f"no rule '{args.code}' (codes: {', '.join(RULES)})")
    print(f"{rule.code} {rule.name}: {rule.summary}\n")
    print(rule.explanation())
    return EXIT_OK


def _cmd_measure(args: argparse.Namespace) -> int:
    from costmodel.device.measure import measure  # loads the timing code only when timing

    results = [
        measure(
            loaded.model,
            _input_for(loaded, args),
            budget_s=args.budget,
            min_repeats=args.min_repeats,
            max_repeats=args.max_repeats,
            threads=args.threads,
            per_node=not args.no_per_node,
            name=loaded.name,
        )
        for loaded in load_models(args.target, args.model)
    ]
    if args.format == "json":
        print(json.dumps([m.to_dict() for m in results], indent=2))
        return EXIT_OK
    for result in results:
        print(result)
        if result.report is not None and not args.no_per_node:
            print(render.text(result.report, max_rows=args.max_rows))
    return EXIT_OK


def _cmd_calibrate(args: argparse.Namespace) -> int:
    import torch

    from costmodel.device.calibrate import calibrate  # loads the timing code only when calibrating

    dtype = getattr(torch, args.dtype, None)
    if not isinstance(dtype, torch.dtype):
        raise UsageError(f"--dtype: '{args.dtype}' is not a torch dtype (float32, float16, bfloat16, ...)")
    profile = calibrate(budget_s=args.budget, threads=args.threads, dtype=dtype, device=args.device, scale=args.scale)
    if args.output:
        profile.save(args.output)
    if args.format == "json":
        print(json.dumps(profile.to_dict(), indent=2))
    else:
        print(profile.describe())
        if args.output:
            print(f"saved to {args.output}")
    return EXIT_OK


def _cmd_prove(args: argparse.Namespace) -> int:
    from costmodel.proofs import PROOFS  # sympy is loaded only when proving

    unknown = [name for name in args.names if name not in PROOFS]
    if unknown:
        raise UsageError(f"no proof named {', '.join(unknown)} (proofs: {', '.join(PROOFS)})")
    proofs = [PROOFS[name]() for name in (args.names or PROOFS)]
    if args.format == "json":
        print(json.dumps([p.to_dict() for p in proofs], indent=2))
    elif args.format == "latex":
        print("\n\n".join(p._repr_latex_() for p in proofs))
    else:
        print("\n\n".join(str(p) for p in proofs))
    return EXIT_OK if all(p.verified for p in proofs) else EXIT_FINDINGS


def _add_format(parser: argparse.ArgumentParser, choices: Sequence[str]) -> None:
    """``--format`` with the same spelling in every command; ``text`` is the default."""

    def fmt(value: str) -> str:
        value = _FORMAT_ALIASES.get(value, value)
        if value not in choices:
            raise argparse.ArgumentTypeError(f"invalid choice: '{value}' (choose from {', '.join(choices)})")
        return value

    parser.add_argument("--format", type=fmt, default="text", metavar="{" + ",".join(choices) + "}")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="costmodel", description="What a PyTorch network costs, and why.")
    commands = parser.add_subparsers(dest="command", required=True)

    report = commands.add_parser("report", help="print the cost table of the models in a file")
    _add_model_arguments(report)
    _add_format(report, ("text", "json", "csv"))
    _add_device_argument(report, "adds a predicted_ms column and total")
    report.add_argument("--depth", type=int, default=None, help="roll costs up by module to this depth")
    report.add_argument("--max-rows", type=int, default=None, help="print at most this many rows")
    report.set_defaults(run=_cmd_report)

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
    _add_format(lint, tuple(FORMATS))
    lint.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    lint.add_argument("--statistics", action="store_true", help="print the count of findings per code to stderr")
    _add_device_argument(lint, "each finding states its predicted time and saving; ranked by saving")
    lint.add_argument(
        "--min-saving",
        type=_saving,
        metavar="MS|PCT%",
        help="with --device, drop findings whose fix saves less, e.g. 0.2ms or 2%% of the model",
    )
    lint.set_defaults(run=_cmd_lint)

    rules = commands.add_parser("rules", help="list the guideline rules and their options")
    _add_format(rules, ("text", "json"))
    rules.set_defaults(run=_cmd_rules)

    explain = commands.add_parser("explain", help="explain a rule: what it checks, why it costs, the paper section")
    explain.add_argument("code", help="a rule code (G2) or name (excessive-group-conv)")
    explain.set_defaults(run=_cmd_explain)

    measure = commands.add_parser(
        "measure", help="time real inference of the models in a file on this machine (median, spread, per node)"
    )
    _add_model_arguments(measure)
    measure.add_argument("--budget", type=float, default=2.0, help="seconds of timed runs per pass (default 2)")
    measure.add_argument("--min-repeats", type=int, default=5)
    measure.add_argument("--max-repeats", type=int, default=1000)
    measure.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    measure.add_argument("--no-per-node", action="store_true", help="skip the node-by-node pass")
    measure.add_argument("--max-rows", type=int, default=40, help="rows of the per-node table (default 40)")
    _add_format(measure, ("text", "json"))
    measure.set_defaults(run=_cmd_measure)

    calibrate = commands.add_parser(
        "calibrate",
        help="time synthetic micro-benchmarks here and fit a device profile (for --device)",
        description="Times synthetic micro-benchmarks and random synthetic networks (never a published model), "
        "fits the per-family time model, and prints it with its held-out error.",
    )
    calibrate.add_argument("-o", "--output", help="write the profile to this JSON file")
    calibrate.add_argument("--budget", type=float, default=120.0, help="seconds of timing (default 120)")
    calibrate.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    calibrate.add_argument("--dtype", default="float32", help="dtype of the benchmarks (default float32)")
    calibrate.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    calibrate.add_argument("--scale", type=float, default=4.0, help="cases per family, relative (default 4)")
    _add_format(calibrate, ("text", "json"))
    calibrate.set_defaults(run=_cmd_calibrate)

    prove = commands.add_parser(
        "prove",
        help="prove the G1 bound and the G2 growth with sympy, on costmodel's own formulas",
        description="Exit status 0 when every proof is verified, 1 otherwise.",
    )
    prove.add_argument("names", nargs="*", help="proofs to run (default: all; an unknown name lists them)")
    _add_format(prove, ("text", "json", "latex"))
    prove.set_defaults(run=_cmd_prove)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)

    def one_line(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
        print(f"costmodel {args.command}: warning: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = one_line  # the library's warnings as one line each, no source echo
            return int(args.run(args))
    except CostModelError as error:
        if getattr(args, "traceback", False):
            raise
        print(f"costmodel {args.command}: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("costmodel: interrupted", file=sys.stderr)
        return 130
