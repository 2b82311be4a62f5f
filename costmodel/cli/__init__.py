"""Command line: ``costmodel {report,lint,check,diff,rules,explain,measure,calibrate,prove}``.

Exit status: 0 success (and, for ``lint`` and ``check``, nothing found), 1 findings
or over budget, 2 usage, input or any other error. Errors are one line on stderr;
``--traceback`` shows the cause. Output piped into a reader that stops early
(``| head``) ends quietly. Text tables fit the terminal (``COLUMNS``) and are full
width in files and pipes.

``arguments`` holds the grammar, ``commands`` the handlers, ``loader`` finds models in
files, ``budget`` and ``diff`` are the CI gates.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from costmodel._version import __version__
from costmodel.cli import rule_catalog
from costmodel.cli.status import EXIT_ERROR, EXIT_OK

__all__ = ["main", "parse_shapes"]

_FORMATS = {"text": "text", "table": "text", "default": "text", "json": "json"}


def __getattr__(name: str) -> Any:
    if name == "parse_shapes":
        from costmodel.cli.arguments import parse_shapes

        return parse_shapes
    raise AttributeError(f"module 'costmodel.cli' has no attribute {name!r}")


def _quick(argv: list[str]) -> Callable[[], int] | None:
    """``--version``, ``rules`` and ``explain CODE``, answered without importing torch (a second and more); ``None``
    for everything else, and for anything unusual about these (the full command line then answers or errs)."""
    if argv == ["--version"]:
        return lambda: print(f"costmodel {__version__}") or EXIT_OK
    if argv[:1] == ["rules"]:
        rest = argv[1:]
        fmt = "text" if not rest else rest[1] if len(rest) == 2 and rest[0] == "--format" else None
        if len(rest) == 1 and rest[0].startswith("--format="):
            fmt = rest[0].partition("=")[2]
        if fmt in _FORMATS:
            return lambda: print(rule_catalog.list_rules(_FORMATS[fmt])) or EXIT_OK
        return None
    if len(argv) == 2 and argv[0] == "explain" and not argv[1].startswith("-"):
        text = rule_catalog.explain(argv[1])
        return None if text is None else (lambda: print(text) or EXIT_OK)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    quick = _quick(argv)
    if quick is not None:
        return _quietly(quick)
    from costmodel.cli.arguments import build_parser

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)

    def one_line(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
        print(f"costmodel {args.command}: warning: {message}", file=sys.stderr)

    def run() -> int:
        from costmodel.cli.commands import COMMANDS

        with warnings.catch_warnings():
            warnings.showwarning = one_line  # the library's warnings as one line each, no source echo
            status = int(COMMANDS[args.command](args))
            sys.stdout.flush()  # a closed pipe shows here, inside the handler below
            if getattr(args, "cache_info", False):
                from costmodel.cache import cache_info

                print(*cache_info(), sep="\n", file=sys.stderr)
            return status

    return _quietly(run, args)


def _quietly(run: Callable[[], int], args: Any = None) -> int:
    """Run a command: a reader that stops early (``| head``) ends it quietly, an error is one line on stderr
    (``--traceback`` raises it) and exit status 2."""
    try:
        status = run()
        sys.stdout.flush()
        return status
    except BrokenPipeError:  # the reader stopped early (| head): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's flush at exit must not fail again
        return EXIT_OK
    except KeyboardInterrupt:
        print("costmodel: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if getattr(args, "traceback", False):
            raise
        from costmodel.errors import CostModelError

        command = getattr(args, "command", "")
        what = "error" if isinstance(error, CostModelError) else f"error: {type(error).__name__}"
        message = str(error).strip().splitlines()[0] if str(error).strip() else "(no message)"
        print(f"costmodel {command}: {what}: {message}", file=sys.stderr)
        return EXIT_ERROR
