"""``oimi-conformance fuzz``: property-based fuzzing of every operation of specs/openapi.yaml with schemathesis.

It runs the ``suites/fuzz`` pytest suite, the way ``run`` runs the other suites: the target (or the embedded
sandbox) is started and the schema loaded before pytest starts, so a bad option or an unreachable target is
one line and exit 2. Exit 0: no finding; 1: a fuzz check failed or errored.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# The run options fuzzing takes from `oimi-conformance run` (flag -> help override)
TARGET_FLAGS = ("--base-url", "--api-key", "--models", "--profile", "--expectations", "--timeout", "--max-requests",
                "--report-dir", "--target-name", "--sandbox-deviation", "--header", "--secret-header")


def fuzz_dir() -> Path:
    here = Path(__file__).resolve().parents[1]
    for candidate in (here.parents[1] / "suites" / "fuzz", here / "_suites" / "fuzz"):
        if (candidate / "test_fuzz.py").is_file():
            return candidate
    raise UsageError("the suites/fuzz folder is missing from this installation")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from ..fuzz.plugin import FUZZ_OPTIONS
    from ..session import RUN_OPTIONS

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

    from ..fuzz.plugin import PreparedFuzz, fuzz_options
    from ..fuzz.session import FuzzSession
    from ..session import Options, split_list

    target = Options(base_url=args.base_url, api_key=args.api_key, models=split_list(args.models),
                     profile=args.profile, expectations=args.expectations, timeout=args.timeout,
                     max_requests=args.max_requests, report_dir=args.report_dir, target=args.target_name,
                     sandbox_deviations=list(args.sandbox_deviation or []), headers=list(args.header or []),
                     secret_headers=list(args.secret_header or []))
    session = FuzzSession(target, fuzz_options(lambda name: getattr(args, name), args.max_requests, args.timeout))
    folder = fuzz_dir()
    # like `run`: JUnit XML beside results.json (-- ARGS may override); Allure results only with --alluredir DIR
    report_dir = Path(args.report_dir)
    reports = [f"--junitxml={report_dir / 'junit.xml'}", "-o", "junit_suite_name=oimi-conformance-fuzz",
               *(["--alluredir", args.alluredir, "--clean-alluredir"] if args.alluredir else [])]
    try:
        session.prepare()
        argv = [str(folder), "-p", "no:cacheprovider", "--rootdir", str(folder), "-o", "addopts=",
                "-q" if args.quiet else "-rfE", "--tb=short", "-W", "ignore::pytest.PytestAssertRewriteWarning",
                "--report-dir", args.report_dir, *reports, *args.pytest_args]
        code = pytest.main(argv, plugins=[PreparedFuzz(session)])
    finally:
        session.close()
    if code in (0, 1):
        return int(code)
    if code == 5:
        print("oimi-conformance: error: no operation selected (see --operations)", file=sys.stderr)
    return EXIT_USAGE
