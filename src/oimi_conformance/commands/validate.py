"""``oimi-conformance validate``: judge one captured response body (JSON or a raw stream) against the spec.

Exit 0: it conforms; 1: it breaks a rule (each violation printed); 2: usage error (unknown kind, unreadable file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..exceptions import UsageError
from ..exits import EXIT_FAILED, EXIT_OK


def add_parser(subparsers: Any) -> None:
    v = subparsers.add_parser("validate", help="judge a captured response body (JSON or raw stream) against the "
                                               "spec")
    v.add_argument("file", nargs="?", default="-", help="the body to judge; - for standard input (default)")
    v.add_argument("--kind", help="the body's kind, e.g. openai.chat.completion.stream")
    v.add_argument("--request", help="the request body (JSON) that produced it, for request-dependent rules")
    v.add_argument("--json", action="store_true", help="print the verdict as JSON")
    v.add_argument("--list-kinds", action="store_true", help="list the kinds and exit")
    v.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..kinds import get_kind, judge, kinds
    from ..safe_text import terminal

    if args.list_kinds:
        for name, kind in sorted(kinds().items()):
            print(f"{name:32} {kind.framing:10} {kind.title}")
        return EXIT_OK
    if not args.kind:
        raise UsageError("validate needs --kind KIND (see --list-kinds)")
    get_kind(args.kind)
    body = read_input(args.file)
    try:
        request = json.loads(read_input(args.request)) if args.request else None
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"the --request file is not JSON: {exc}") from None
    verdict = judge(args.kind, body, request)
    if args.json:
        print(json.dumps(verdict.as_dict(), indent=2))
    elif verdict.ok:
        print(f"conforms: {args.kind} ({verdict.events} event(s) judged)")
    else:
        print(f"{len(verdict.violations)} violation(s) of {args.kind}:")
        for v in verdict.violations:
            print(terminal(f"  {v}"))
    return EXIT_OK if verdict.ok else EXIT_FAILED


def read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    path = Path(name)
    if path.is_dir():
        raise UsageError(f"{name} is a folder; give the file holding the body (or - for standard input)")
    if not path.exists():
        raise UsageError(f"no such file: {name}")
    try:  # a regular file, /dev/null or a pipe (/dev/fd/N from process substitution) alike
        with path.open("rb") as handle:
            return handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None
