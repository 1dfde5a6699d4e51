"""The ``oimi-conformance`` command: a thin layer that parses arguments and calls the library.

Exit codes: 0 conforms / no check failed, 1 violations found, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import HarnessError, UsageError
from .kinds import get_kind, judge, kinds

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors already; keep its message to one line plus usage."""


def _cmd_validate(args: argparse.Namespace) -> int:
    if args.list_kinds:
        for name, kind in sorted(kinds().items()):
            print(f"{name:32} {kind.framing:10} {kind.title}")
        return EXIT_OK
    if not args.kind:
        raise UsageError("validate needs --kind KIND (see --list-kinds)")
    get_kind(args.kind)
    body = _read_input(args.file)
    request = json.loads(_read_input(args.request)) if args.request else None
    verdict = judge(args.kind, body, request)
    if args.json:
        print(json.dumps(verdict.as_dict(), indent=2))
    elif verdict.ok:
        print(f"conforms: {args.kind} ({verdict.events} event(s) judged)")
    else:
        print(f"{len(verdict.violations)} violation(s) of {args.kind}:")
        for v in verdict.violations:
            print(f"  {v}")
    return EXIT_OK if verdict.ok else EXIT_FAILED


def _read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    path = Path(name)
    if not path.is_file():
        raise UsageError(f"no such file: {name}")
    return path.read_bytes()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="oimi-conformance", description="Conformance harness for the Oimi API and its gateways.")
    parser.add_argument("--version", action="version", version=f"oimi-conformance {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="judge a captured response body (JSON or raw stream) against the spec")
    v.add_argument("file", nargs="?", default="-", help="the body to judge; - for standard input (default)")
    v.add_argument("--kind", help="the body's kind, e.g. openai.chat.completion.stream")
    v.add_argument("--request", help="the request body (JSON) that produced it, for request-dependent rules")
    v.add_argument("--json", action="store_true", help="print the verdict as JSON")
    v.add_argument("--list-kinds", action="store_true", help="list the kinds and exit")
    v.set_defaults(func=_cmd_validate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"oimi-conformance: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        print(f"oimi-conformance: error: the --request file is not JSON: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except HarnessError as exc:  # never a traceback for a problem the harness understands
        print(f"oimi-conformance: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
