"""The ``oimi-conformance`` command: builds the parser from the modules of ``commands/`` and dispatches.

Exit codes (``exits.py``): 0 conforms / no check failed, 1 violations found, 2 usage error. A problem the
harness understands is one line on standard error, never a traceback.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import json
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from . import __version__
from .commands import COMMANDS
from .exceptions import HarnessError, UsageError
from .exits import EXIT_FAILED, EXIT_USAGE
from .safe_text import terminal


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oimi-conformance",
                                     description="Conformance harness for the Oimi API and its gateways.")
    parser.add_argument("--version", action="version", version=f"oimi-conformance {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__package__}.commands.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(terminal(f"oimi-conformance: error: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        print(terminal(f"oimi-conformance: error: a file is not the JSON expected: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except HarnessError as exc:  # never a traceback for a problem the harness understands
        print(terminal(f"oimi-conformance: error: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader of the output went away (`| head`): nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


def console() -> NoReturn:
    """The console script (and ``python -m oimi_conformance.cli``): ``main()``, then ``leave``."""
    leave(main())


def leave(code: int) -> NoReturn:
    """End the process with ``code`` without the interpreter's teardown, when nothing is left to do.

    Once a command returns, its reports are written and its target stopped; what the interpreter's own exit
    still does is free every object of the run one by one (about a third of a second after a default run).
    So: flush the output, run the exit handlers (the spilled bodies' folder, logging's flush, temporary
    folders), and leave. A thread that is not a daemon still running keeps the ordinary exit, which waits for it.
    """
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing left to say
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    console()
