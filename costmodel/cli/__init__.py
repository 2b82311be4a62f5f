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
from collections.abc import Sequence

from costmodel.cache import cache_info
from costmodel.cli.arguments import EXIT_ERROR, EXIT_OK, build_parser, parse_shapes
from costmodel.cli.commands import COMMANDS
from costmodel.errors import CostModelError

__all__ = ["main", "parse_shapes"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)

    def one_line(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
        print(f"costmodel {args.command}: warning: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = one_line  # the library's warnings as one line each, no source echo
            status = int(COMMANDS[args.command](args))
            sys.stdout.flush()  # a closed pipe shows here, inside the handler below
            if getattr(args, "cache_info", False):
                print(*cache_info(), sep="\n", file=sys.stderr)
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
        what = "error" if isinstance(error, CostModelError) else f"error: {type(error).__name__}"
        message = str(error).strip().splitlines()[0] if str(error).strip() else "(no message)"
        print(f"costmodel {args.command}: {what}: {message}", file=sys.stderr)
        return EXIT_ERROR
