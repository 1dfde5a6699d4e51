"""``oimi-conformance checks``: the check catalogue, as a list or as Markdown (``docs/checks.md``). Exit 0."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..exits import EXIT_OK


def add_parser(subparsers: Any) -> None:
    c = subparsers.add_parser("checks", help="list the check catalogue")
    c.add_argument("pattern", nargs="?", help="only checks matching these comma-separated globs")
    c.add_argument("--markdown", action="store_true", help="print the catalogue as Markdown (docs/checks.md)")
    c.add_argument("-o", "--output", help="with --markdown: write to this file")
    c.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..checks import select
    from ..docs import checks_markdown
    from ..run_options import split_list

    if args.markdown:
        text = checks_markdown()
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
        else:
            print(text)
        return EXIT_OK
    for c in select(split_list(args.pattern)):
        print(f"{c.id:44} {c.severity:8} {c.title}")
    return EXIT_OK
