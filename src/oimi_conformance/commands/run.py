"""``oimi-conformance run``: run the conformance suites against a gateway (default: the embedded sandbox).

The target is started, the models discovered and the plan made before pytest starts (``PreparedRun``), so a
bad option or an unreachable target is one line and exit 2; then pytest runs the suites, one item per check
and case run. Exit 0: no check failed; 1: a check failed or errored; 2: usage error, or nothing selected.
"""

from __future__ import annotations

import argparse
import gc
from pathlib import Path
from typing import Any

from ..exceptions import HarnessError


def add_parser(subparsers: Any) -> None:
    from ..run_options import RUN_OPTIONS

    r = subparsers.add_parser("run", help="run the conformance suites against a gateway (default: the embedded "
                                          "sandbox)")
    for flag, kwargs in RUN_OPTIONS:
        r.add_argument(flag, **kwargs)
    r.add_argument("--record", action="store_true", help="record every exchange into --cassette-dir")
    r.add_argument("--replay", metavar="DIR", help="judge the cassettes in DIR offline, network blocked")
    r.add_argument("-k", dest="keyword", help="pytest -k expression over test ids (check@case[model])")
    r.add_argument("--alluredir", metavar="DIR", help="also write Allure results into DIR (emptied first), e.g. "
                                                     "REPORT_DIR/allure-results for `oimi-conformance report`")
    r.add_argument("-q", "--quiet", action="store_true", help="less output")
    r.add_argument("pytest_args", nargs="*", help="after --: arguments passed to pytest (e.g. -- -k chat -x)")
    r.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import pytest

    from .. import pytest_argv
    from ..exits import from_pytest
    from ..prepared_run import PreparedRun
    from ..reporters import AllureResults, JUnitXml, PytestReport
    from ..run_options import options_from

    options = options_from(lambda name: getattr(args, name))
    if args.replay:  # --replay DIR: offline, from that folder
        options.record_mode, options.cassette_dir = "none", args.replay
    elif args.record:  # --record: everything, into cassettes/<target>
        options.record_mode = "all"
    suites = pytest_argv.suites_folder(marker="test_http.py")
    prepared = PreparedRun(options, progress=not args.quiet)
    try:
        prepared.prepare()  # start the target, discover models, plan: a usage problem stops here, in one line
    except HarnessError:
        prepared.close()
        raise
    # the specs and the plan live until the end: out of the collector's sight, so the full collections that
    # thousands of test items trigger do not walk them again each time (about a tenth of a replay's CPU);
    # unfrozen after, for a caller that runs main() again in the same process
    gc.freeze()
    reports: list[PytestReport] = [] if options.dry_run else [
        JUnitXml("oimi-conformance"), *([AllureResults(args.alluredir)] if args.alluredir else [])]
    # start-up: the suites assert nothing themselves (assert_check skips, xfails or fails), so no assertion
    # rewriting, which would recompile every module of every installed pytest plugin's distribution; and
    # none of the installed plugins the suites never use (allure-pytest only when asked), nor pytest's
    # logging and warnings capture around every item. Not when -- ARGS name more tests (e.g. suites/fuzz,
    # which needs schemathesis's plugin): those keep pytest's defaults.
    asked = args.alluredir or any(a.startswith("--alluredir") for a in args.pytest_args)  # also after --
    stock = not any(Path(a.split("::")[0]).exists() for a in args.pytest_args if not a.startswith("-"))
    unused = [*(pytest_argv.SUITES_UNUSED_PLUGINS if stock else ()),
              *(pytest_argv.per_item_plugins_unused(args.pytest_args) if stock else ()),
              *([] if asked else ["allure_pytest"])]
    argv = pytest_argv.build(suites, quiet=args.quiet, report_dir=Path(options.report_dir), reports=reports,
                             options=["-k", args.keyword] if args.keyword else [], disabled_plugins=unused,
                             plain_assert=stock, pytest_args=args.pytest_args)
    try:
        code = pytest.main(argv, plugins=[prepared])
    finally:
        prepared.close()
        gc.unfreeze()
    return from_pytest(code, "no check selected (see --checks / --cases / -k)")
