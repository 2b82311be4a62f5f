"""What each command does, given its parsed arguments: one handler per command, in ``COMMANDS``.

Each returns the exit status (``costmodel.cli.arguments``: 0 success, 1 findings or over
budget; errors raise and ``costmodel.cli.main`` turns them into one line and status 2).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from costmodel import analysis
from costmodel.cli import rule_catalog
from costmodel.cli.arguments import dtype_named, parse_shapes
from costmodel.cli.budget import LIMITS, load_budget
from costmodel.cli.default_input import default_input, dtype_hint
from costmodel.cli.diff import FIGURES, diff_reports, load_reports, pair_reports
from costmodel.cli.loader import LoadedModel, load_models
from costmodel.cli.status import EXIT_FINDINGS, EXIT_OK
from costmodel.device.profile import DeviceProfile
from costmodel.errors import CostModelError, UsageError
from costmodel.formats import findings as findings_formats
from costmodel.formats import report as report_formats
from costmodel.formats import writer
from costmodel.rules import RULES, load_config

__all__ = ["COMMANDS"]


def _width() -> int | None:
    """The width text should fit: ``COLUMNS`` if set, else the terminal's; ``None`` (no limit) for files and pipes."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def _input_for(loaded: LoadedModel, args: argparse.Namespace) -> Any:
    if args.input_shape:
        return parse_shapes(args.input_shape, args.input_dtype)
    if args.input_dtype:
        raise UsageError(
            "--input-dtype applies to --input-shape; give both, or put the dtype in the file's INPUT_SHAPE"
        )
    if loaded.input_shape is not None:
        return loaded.input_shape  # tensors, a dict: as is
    if not isinstance(loaded.model, nn.Module):  # an exported program has its shapes
        return None
    chosen = default_input(loaded.model)
    if chosen.flag is not None:
        print(
            f"costmodel {args.command}: note: no --input-shape; {loaded.name} is costed on {chosen.flag} "
            "(read from its forward)",
            file=sys.stderr,
        )
    return chosen.value


def _report(loaded: LoadedModel, args: argparse.Namespace, **options: Any) -> Any:
    """``analysis.report`` of one loaded model; an error names the model, with a hint where one helps."""
    given = _input_for(loaded, args)
    try:
        return analysis.report(loaded.model, given, name=loaded.name, **options)
    except CostModelError as error:
        flag = args.input_shape or (default_input(loaded.model).flag if isinstance(loaded.model, nn.Module) else None)
        raise type(error)(f"model '{loaded.name}': {error}{dtype_hint(str(error), flag)}") from error


def _profile(args: argparse.Namespace) -> DeviceProfile | None:
    """The ``--profile`` file's profile; with ``--recheck``, scaled to this machine's speed now (said on stderr)."""
    if args.recheck and not args.profile:
        raise UsageError("--recheck needs --profile PROFILE.json: it re-times that profile's reference networks")
    if not args.profile:
        return None
    profile = DeviceProfile.load(args.profile)
    if args.recheck:
        from costmodel.device.calibrate import recheck  # the calibration's timing only when asked for

        profile = recheck(profile)
        print(f"costmodel: {profile.reference_line()}", file=sys.stderr)
    return profile


def _cmd_report(args: argparse.Namespace) -> int:
    if args.sort == "time" and not args.profile:
        raise UsageError("--sort time needs a time column: give --profile PROFILE.json (see costmodel calibrate)")
    profile = _profile(args)
    reports = [_report(loaded, args, profile=profile) for loaded in load_models(args.target, args.model)]
    view = report_formats.TableView(args.depth, args.sort, args.top, args.max_rows, _width())
    sys.stdout.write(writer("report", args.format)(reports, view))
    return EXIT_OK


def _cmd_lint(args: argparse.Namespace) -> int:
    base = load_config(args.target if Path(args.target).exists() else None)
    profile = _profile(args)
    if args.min_saving and profile is None:
        raise UsageError("--min-saving needs --profile PROFILE.json: savings are predicted on a calibrated device")
    minimum_ms, minimum_share = args.min_saving or (None, None)
    config = base.merged(
        args.select, args.ignore, dict(args.option or ()), min_saving_ms=minimum_ms, min_saving_share=minimum_share
    )
    found = []
    for loaded in load_models(args.target, args.model):
        rep = _report(loaded, args, rules=config, profile=profile)
        found.extend(rep.findings)
    if profile is not None:
        found.sort(key=lambda d: -d.data.get("saving_ms", 0.0))
    sys.stdout.write(
        findings_formats.render(
            found, args.format, ranked=profile is not None, grouped=not args.all_instances, width=_width()
        )
    )
    if args.statistics and found:
        counts = Counter(d.code for d in found)
        for code, count in sorted(counts.items()):
            print(f"{count:<5} {code} {RULES[code].name}", file=sys.stderr)
    return EXIT_FINDINGS if found and not args.exit_zero else EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    budget = load_budget(args.target if Path(args.target).exists() else None).merged(
        {key: getattr(args, f"max_{key}") for key in LIMITS}
    )
    if not budget.limits:
        flags = ", ".join(f"--max-{k.replace('_', '-')}" for k in LIMITS)
        raise UsageError(f"no budget: give limits ({flags}) or [tool.costmodel.budget] in pyproject.toml")
    if "predicted_ms" in budget.limits and not args.profile:
        raise UsageError("a predicted-time limit needs --profile PROFILE.json")
    profile = _profile(args)
    lines = [
        line
        for loaded in load_models(args.target, args.model)
        for line in budget.check(
            _report(loaded, args, profile=profile),
            allow_unsupported=args.allow_unsupported,
        )
    ]
    if args.format == "json":
        print(
            json.dumps(
                [
                    {
                        "model": x.model,
                        "figure": x.key,
                        "value": x.value,
                        "limit": x.limit,
                        "over": x.over,
                        "unsupported": list(x.unsupported),
                    }
                    for x in lines
                ],
                indent=2,
            )
        )
    else:
        print("\n".join(str(line) for line in lines))
        over = sum(line.over for line in lines)
        print(f"{'over budget' if over else 'within budget'}: {over} of {len(lines)} limits exceeded ({budget.where})")
    return EXIT_FINDINGS if any(line.over for line in lines) else EXIT_OK


def _cmd_diff(args: argparse.Namespace) -> int:
    pairs = pair_reports(load_reports(args.old), load_reports(args.new))
    diffs = [diff_reports(old, new, depth=args.depth) for old, new in pairs]
    if args.format == "json":
        print(
            json.dumps(
                [
                    {
                        "model": d.model,
                        "modules": [
                            {"module": m.path, "old": m.old, "new": m.new, **{k: m.delta(k) for k in d.keys}}
                            for m in d.modules
                        ],
                        "new_findings": [
                            dict(zip(("code", "module", "message"), f, strict=True)) for f in d.new_findings
                        ],
                        "fixed_findings": [
                            dict(zip(("code", "module", "message"), f, strict=True)) for f in d.fixed_findings
                        ],
                    }
                    for d in diffs
                ],
                indent=2,
            )
        )
    else:
        print("\n\n".join("\n".join(d.lines(all_modules=args.all)) for d in diffs))
    grew = [f"{d.model} {FIGURES[k]}" for d in diffs for k in d.grew()]
    if args.fail_on_increase and (grew or any(d.new_findings for d in diffs)):
        print(f"costmodel diff: increased: {', '.join(grew) or 'new findings'}", file=sys.stderr)
        return EXIT_FINDINGS
    return EXIT_OK


def _cmd_rules(args: argparse.Namespace) -> int:
    print(rule_catalog.list_rules(args.format))
    return EXIT_OK


def _cmd_explain(args: argparse.Namespace) -> int:
    text = rule_catalog.explain(args.code)
    if text is None:
        codes = ", ".join(r.code for r in rule_catalog.builtin_rules())
        raise UsageError(f"no rule '{args.code}' (codes: {codes})")
    print(text)
    return EXIT_OK


def _cmd_measure(args: argparse.Namespace) -> int:
    from costmodel.device.measure import measure  # loads the timing code only when timing

    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageError("--device cuda: torch sees no CUDA device here")
    results = [
        measure(
            loaded.model.to(args.device),
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
            print(report_formats.table.text(result.report, max_rows=args.max_rows, width=_width()))
    return EXIT_OK


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from costmodel.device.calibrate import calibrate  # loads the timing code only when calibrating

    dtype = dtype_named(args.dtype, "--dtype")
    log = logging.getLogger("costmodel.calibrate")
    said = logging.StreamHandler(sys.stderr)  # progress in words where no bar shows (a log, a pipe, CI)
    said.setFormatter(logging.Formatter("costmodel calibrate: %(message)s"))
    if not sys.stderr.isatty():
        log.addHandler(said)
        log.setLevel(logging.INFO)
    try:
        profile = calibrate(
            budget_s=args.budget, threads=args.threads, dtype=dtype, device=args.device, scale=args.scale
        )
    finally:
        log.removeHandler(said)
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


#: Command name -> its handler.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "report": _cmd_report,
    "check": _cmd_check,
    "diff": _cmd_diff,
    "lint": _cmd_lint,
    "rules": _cmd_rules,
    "explain": _cmd_explain,
    "measure": _cmd_measure,
    "calibrate": _cmd_calibrate,
    "prove": _cmd_prove,
}
