"""``oimi-conformance fuzz``: property-based fuzzing of every operation of specs/openapi.yaml with schemathesis.

It runs the ``suites/fuzz`` pytest suite, the way ``run`` runs the other suites: the target (or the embedded
sandbox) is started and the schema loaded before pytest starts, so a bad option or an unreachable target is
one line and exit 2. Exit 0: no finding; 1: a fuzz check failed or errored.
"""

from __future__ import annotations

import argparse
from pathlib import Path

# The run options fuzzing takes from `oimi-conformance run` (flag -> help override)
TARGET_FLAGS = ("--base-url", "--api-key", "--models", "--profile", "--expectations", "--timeout", "--max-requests",
                "--report-dir", "--target-name", "--sandbox-deviation", "--header", "--secret-header")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from ..fuzz.plugin import FUZZ_OPTIONS
    from ..run_options import RUN_OPTIONS

    p = subparsers.add_parser(
        "fuzz", help="fuzz every operation of specs/openapi.yaml with schemathesis (negative by default)",
        description="Generate requests from specs/openapi.yaml with schemathesis and judge every answer with the "
                    "harness's checks. Negative by default (invalid input must get a clean 4xx); --positive sends "
                    "valid requests with tiny outputs within --max-requests. Deterministic by --seed.")
    options = dict(RUN_OPTIONS)
    for flag in TARGET_FLAGS:
        kwargs = dict(options[flag])
        if flag == "--report-dir":
            kwargs.update(default="reports/fuzz", help="where results.json goes (default: reports/fuzz)")
        if flag == "--max-requests":
            kwargs["help"] = "hard budget of requests for the whole run (default: none; 50 with --positive)"
        p.add_argument(flag, **kwargs)
    for _, flag, kwargs in FUZZ_OPTIONS:
        p.add_argument(flag, **kwargs)
    p.add_argument("--alluredir", metavar="DIR", help="also write Allure results into DIR (emptied first)")
    p.add_argument("-q", "--quiet", action="store_true", help="less output")
    p.add_argument("pytest_args", nargs="*", help="after --: arguments passed to pytest")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import pytest

    from .. import pytest_argv
    from ..exits import from_pytest
    from ..fuzz.plugin import PreparedFuzz, fuzz_options
    from ..fuzz.session import FuzzSession
    from ..reporters import AllureResults, JUnitXml, PytestReport
    from ..run_options import Options, split_list

    target = Options(base_url=args.base_url, api_key=args.api_key, models=split_list(args.models),
                     profile=args.profile, expectations=args.expectations, timeout=args.timeout,
                     max_requests=args.max_requests, report_dir=args.report_dir, target=args.target_name,
                     sandbox_deviations=list(args.sandbox_deviation or []), headers=list(args.header or []),
                     secret_headers=list(args.secret_header or []))
    session = FuzzSession(target, fuzz_options(lambda name: getattr(args, name), args.max_requests, args.timeout))
    folder = pytest_argv.suites_folder("fuzz", marker="test_fuzz.py")
    # like `run`: JUnit XML beside results.json (-- ARGS may override); Allure results only with --alluredir DIR
    reports: list[PytestReport] = [JUnitXml("oimi-conformance-fuzz"),
                                   *([AllureResults(args.alluredir)] if args.alluredir else [])]
    try:
        session.prepare()
        argv = pytest_argv.build(folder, quiet=args.quiet, report_dir=Path(args.report_dir), reports=reports,
                                 options=["--report-dir", args.report_dir], pytest_args=args.pytest_args)
        code = pytest.main(argv, plugins=[PreparedFuzz(session)])
    finally:
        session.close()
    return from_pytest(code, "no operation selected (see --operations)")
