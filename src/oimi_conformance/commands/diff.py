"""``oimi-conformance diff OLD NEW``: compare two runs (report folders or results.json files).

Exit 0: nothing regressed; 1: something did; 2: usage error (a file missing or not a results.json).
"""

from __future__ import annotations

import argparse
from typing import Any

from ..exits import EXIT_FAILED, EXIT_OK


def add_parser(subparsers: Any) -> None:
    d = subparsers.add_parser("diff", help="compare two runs (report dirs or results.json); exit 1 when anything "
                                           "regressed")
    d.add_argument("old")
    d.add_argument("new")
    d.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    d.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..diff import diff_runs, format_diff, load_results

    result = diff_runs(load_results(args.old), load_results(args.new))
    print(format_diff(result, args.format))
    return EXIT_FAILED if result.regressed else EXIT_OK
