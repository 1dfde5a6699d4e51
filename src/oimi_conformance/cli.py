"""The ``oimi-conformance`` command: a thin layer that parses arguments and calls the library.

Exit codes: 0 conforms / no check failed, 1 violations found, 2 usage error.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import HarnessError, UsageError
from .kinds import get_kind, judge, kinds
from .safe_text import terminal
from .session import RUN_OPTIONS, options_from, split_list

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# pytest plugins (entry-point names) installed beside the harness that `run`'s suites never use: not loaded
# (schemathesis alone costs half a second of imports; pytest-timeout stays: the ini files name its option)
SUITES_UNUSED_PLUGINS = ("xdist", "xdist.looponfail", "hypothesispytest", "anyio", "schemathesis")


def _cmd_validate(args: argparse.Namespace) -> int:
    if args.list_kinds:
        for name, kind in sorted(kinds().items()):
            print(f"{name:32} {kind.framing:10} {kind.title}")
        return EXIT_OK
    if not args.kind:
        raise UsageError("validate needs --kind KIND (see --list-kinds)")
    get_kind(args.kind)
    body = _read_input(args.file)
    try:
        request = json.loads(_read_input(args.request)) if args.request else None
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


def _read_input(name: str) -> bytes:
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


def _suites_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here.parents[1] / "suites", here / "_suites"):
        if (candidate / "test_http.py").is_file():
            return candidate
    raise UsageError("the suites folder is missing from this installation")


def _cmd_run(args: argparse.Namespace) -> int:
    import pytest

    from .pytest_plugin import PreparedRun

    options = options_from(lambda name: getattr(args, name))
    if args.replay:  # --replay DIR: offline, from that folder
        options.record_mode, options.cassette_dir = "none", args.replay
    elif args.record:  # --record: everything, into cassettes/<target>
        options.record_mode = "all"
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
    # JUnit XML beside results.json (-- ARGS may override); Allure results only when asked (--alluredir DIR):
    # one or more files per check result, they cost more than the exchanges and the judging together
    report_dir = Path(options.report_dir)
    reports = [] if getattr(options, "dry_run", False) else [
        f"--junitxml={report_dir / 'junit.xml'}", "-o", "junit_suite_name=oimi-conformance",
        *(["--alluredir", args.alluredir, "--clean-alluredir"] if args.alluredir else [])]
    # start-up: the suites assert nothing themselves (assert_check skips, xfails or fails), so no assertion
    # rewriting, which would recompile every module of every installed pytest plugin's distribution; and
    # none of the installed plugins the suites never use (allure-pytest only when asked). Not when -- ARGS
    # name more tests (e.g. suites/fuzz, which needs schemathesis's plugin): those keep pytest's defaults.
    asked = args.alluredir or any(a.startswith("--alluredir") for a in args.pytest_args)  # also after --
    stock = not any(Path(a.split("::")[0]).exists() for a in args.pytest_args if not a.startswith("-"))
    unused = [*(SUITES_UNUSED_PLUGINS if stock else ()), *([] if asked else ["allure_pytest"])]
    argv = [str(_suites_dir()), "-p", "no:cacheprovider", *(f"-pno:{name}" for name in unused),
            *(["--assert=plain"] if stock else []),
            "--rootdir", str(_suites_dir()), "-o", "addopts=",
            "-q" if args.quiet else "-rfE", "--tb=short", "-W", "ignore::pytest.PytestAssertRewriteWarning",
            *reports, *(["-k", args.keyword] if args.keyword else []), *args.pytest_args]
    try:
        code = pytest.main(argv, plugins=[prepared])
    finally:
        prepared.close()
        gc.unfreeze()
    if code in (0, 1):
        return int(code)
    if code == 5:
        print("oimi-conformance: error: no check selected (see --checks / --cases / -k)", file=sys.stderr)
    return EXIT_USAGE


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from .sandbox.deviations import DEVIATIONS
    from .sandbox.server import SandboxConfig, serve_forever

    if args.list_deviations:
        for dev in DEVIATIONS:
            print(f"{dev.name:40} {dev.family:12} {dev.description}")
        return EXIT_OK
    try:
        config = SandboxConfig(deviations=frozenset(args.deviation or []), mode=args.mode,
                               latency_s=args.latency_ms / 1000,
                               extra_models=args.extra_models)
    except ValueError as exc:
        raise UsageError(str(exc).split(". Allowed")[0] + "; see `oimi-conformance sandbox --list-deviations`"
                         ) from None
    if not 0 < args.port <= 65535:
        raise UsageError(f"--port must be from 1 to 65535, got {args.port}")
    _check_port_free(args.port)  # before saying where it serves
    print(f"sandbox gateway ({args.mode}) on http://127.0.0.1:{args.port} (key sk-sandbox-valid); Ctrl-C stops it",
          flush=True)
    try:
        serve_forever(config, port=args.port)
    except OSError as exc:
        raise UsageError(f"cannot serve on 127.0.0.1:{args.port}: {exc.strerror or exc}") from None
    return EXIT_OK


def _check_port_free(port: int) -> None:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise UsageError(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc} (choose another --port)"
                             ) from None


def _cmd_checks(args: argparse.Namespace) -> int:
    from .checks import select
    from .docs import checks_markdown

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


def _cmd_diff(args: argparse.Namespace) -> int:
    from .diff import diff_runs, load_results, render

    result = diff_runs(load_results(args.old), load_results(args.new))
    print(render(result, args.format))
    return EXIT_FAILED if result.regressed else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oimi-conformance",
                                     description="Conformance harness for the Oimi API and its gateways.")
    parser.add_argument("--version", action="version", version=f"oimi-conformance {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="judge a captured response body (JSON or raw stream) against the spec")
    v.add_argument("file", nargs="?", default="-", help="the body to judge; - for standard input (default)")
    v.add_argument("--kind", help="the body's kind, e.g. openai.chat.completion.stream")
    v.add_argument("--request", help="the request body (JSON) that produced it, for request-dependent rules")
    v.add_argument("--json", action="store_true", help="print the verdict as JSON")
    v.add_argument("--list-kinds", action="store_true", help="list the kinds and exit")
    v.set_defaults(func=_cmd_validate)

    r = sub.add_parser("run", help="run the conformance suites against a gateway (default: the embedded sandbox)")
    for flag, kwargs in RUN_OPTIONS:
        r.add_argument(flag, **kwargs)
    r.add_argument("--record", action="store_true", help="record every exchange into --cassette-dir")
    r.add_argument("--replay", metavar="DIR", help="judge the cassettes in DIR offline, network blocked")
    r.add_argument("-k", dest="keyword", help="pytest -k expression over test ids (check@case[model])")
    r.add_argument("--alluredir", metavar="DIR", help="also write Allure results into DIR (emptied first), e.g. "
                                                     "REPORT_DIR/allure-results for `oimi-conformance report`")
    r.add_argument("-q", "--quiet", action="store_true", help="less output")
    r.add_argument("pytest_args", nargs="*", help="after --: arguments passed to pytest (e.g. -- -k chat -x)")
    r.set_defaults(func=_cmd_run)

    s = sub.add_parser("sandbox", help="serve the sandbox gateway on loopback")
    s.add_argument("--port", type=int, default=8787)
    s.add_argument("--mode", choices=["new-api", "reference"], default="new-api",
                   help="new-api (default): behave as a healthy new-api does; reference: the protocol references' "
                        "ideal gateway (e.g. as the providers' upstream behind a real gateway)")
    s.add_argument("--deviation", action="append", help="switch on a named deviation (repeatable)")
    s.add_argument("--latency-ms", type=float, default=0.0, help="injected latency per request")
    s.add_argument("--extra-models", type=int, default=0,
                   help="add N clones of sandbox-omni (sandbox-omni-01...), e.g. for a matrix benchmark")
    s.add_argument("--list-deviations", action="store_true", help="list the deviations and exit")
    s.set_defaults(func=_cmd_sandbox)

    d = sub.add_parser("diff", help="compare two runs (report dirs or results.json); exit 1 when anything regressed")
    d.add_argument("old")
    d.add_argument("new")
    d.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    d.set_defaults(func=_cmd_diff)

    c = sub.add_parser("checks", help="list the check catalogue")
    c.add_argument("pattern", nargs="?", help="only checks matching these comma-separated globs")
    c.add_argument("--markdown", action="store_true", help="print the catalogue as Markdown (docs/checks.md)")
    c.add_argument("-o", "--output", help="with --markdown: write to this file")
    c.set_defaults(func=_cmd_checks)

    # Commands that live in their own module: oimi_conformance/commands/<name>.py defines
    # add_parser(subparsers) and sets `func`, so a new command never edits this file.
    import importlib
    import pkgutil

    from . import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"{commands.__name__}.{info.name}").add_parser(sub)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
