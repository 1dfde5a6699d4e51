"""``oimi-conformance matrix``: which model supports which capability, probed, next to what the gateway claims.

Every (model, capability) cell is one probe case (named in ``specs/endpoints.yaml``): at most one request
per cell, sent concurrently within the budget, judged by every check that applies to it. The models are
``--models`` or all that ``GET /v1/models`` lists; the claims are that list's ``supported_endpoint_types``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..exits import EXIT_OK

DESCRIPTION = """\
Probe every (model, capability) cell with one small request and report each cell supported (2xx and
valid), unsupported (a clean, documented 4xx), broken (5xx, invalid body, wrong envelope, timeout, a 200
carrying an error; the failing check is named) or not probed (budget, --claimed-only, or a feature of an
endpoint whose basic request the model refused), beside the gateway's own claim (supported_endpoint_types)
and every disagreement between the two.

Writes results.json, exchanges.json, matrix.json (schema specs/schemas/report/matrix.json), matrix.md (a
table for a pull-request comment) and report.html (the page of `run`, matrix first) to --report-dir, and prints
the table.

Exit codes: 0 whatever the verdicts (a matrix is information: broken cells do not fail it; gate on
`oimi-conformance run`), 2 usage error or unreachable target."""


def add_parser(subparsers: Any) -> None:
    from ..run_options import RUN_OPTIONS

    p = subparsers.add_parser("matrix", help="probe every model x capability once: supported, unsupported, broken "
                                             "or not probed, beside the gateway's claims (exit 0)",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag, kwargs in RUN_OPTIONS:
        if flag == "--report-dir":
            kwargs = {**kwargs, "help": "where results.json, matrix.json and matrix.md go (default: reports/latest)"}
        p.add_argument(flag, **kwargs)
    p.add_argument("--capabilities", help="comma-separated capabilities or globs (default: all 16 columns)")
    p.add_argument("--claimed-only", action="store_true",
                   help="probe only the cells whose endpoint the model claims; report the others not probed")
    p.add_argument("--exhaustive", action="store_true",
                   help="also probe the features (tools, JSON output, vision) of an endpoint whose basic request "
                        "the model refused")
    p.add_argument("--json", action="store_true", help="print matrix.json instead of the table")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run_matrix)


def run_matrix(args: argparse.Namespace) -> int:
    from ..engine import Engine
    from ..matrix import matrix_text, plan_lines, plan_matrix
    from ..run_options import options_from, split_list
    from ..safe_text import terminal
    from ..target import Target

    options = options_from(lambda name: getattr(args, name))
    capabilities = split_list(args.capabilities)
    with Target(options) as config:
        if not args.quiet:
            config.progress = lambda message: print(f"oimi-conformance: {message}", file=sys.stderr, flush=True)
        config.excuse_claimed_refusals = True
        engine = Engine(config)
        pairs = engine.prepare(lambda models: plan_matrix(
            models, config.keys, claimed_only=args.claimed_only, exhaustive=args.exhaustive,
            capabilities=capabilities, case_patterns=config.cases))
        if config.dry_run:
            print(terminal("\n".join(plan_lines(engine, matrix=True))))
            return EXIT_OK
        engine.exchange()
        results = [engine.judge_one(check, run, engine.facts) for check, run in pairs]
        record = engine.record(results)
        record.meta["mode"] = "matrix"
        report_dir = Path(options.report_dir)
        from ..reporters import write_reports

        page = write_reports(record, report_dir)["html"]  # the page's first section is the matrix
        matrix = json.loads((report_dir / "matrix.json").read_text(encoding="utf-8"))
    if args.json:
        print(json.dumps(matrix, indent=1, ensure_ascii=False))
    else:
        print(matrix_text(matrix))
        print(f"\nreport: {page}, {report_dir / 'matrix.md'}, {report_dir / 'matrix.json'}, "
              f"{report_dir / 'results.json'}")
    return EXIT_OK
