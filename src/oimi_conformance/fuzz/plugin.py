"""The pytest side of fuzzing: ``suites/fuzz/conftest.py`` delegates its hooks and fixtures here.

``suites/fuzz`` is collected only when named on the command line (``pytest suites/fuzz``,
``oimi-conformance fuzz``, or ``oimi-conformance run -- suites/fuzz``): a plain ``pytest suites`` or
``oimi-conformance run`` never fuzzes. It takes the same target options as the other suites
(``--base-url``, ``--api-key``, ``--models``, ``--profile``, ``--expectations``, ``--max-requests``,
``--report-dir``, ``--sandbox-deviation``, ...) plus the ``--fuzz-*`` options below.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ..exceptions import HarnessError
from .session import BudgetExhausted, FuzzSession
from .settings import DEFAULT_MAX_EXAMPLES, DEFAULT_SEED, FuzzOptions

FUZZ_KEY = pytest.StashKey[FuzzSession]()
_OWNED = pytest.StashKey[bool]()
_STARTED = pytest.StashKey[float]()
_CONFIGS: list[pytest.Config] = []  # the active sessions' configs (in-process runs nest), for logreport

# (pytest flag, `oimi-conformance fuzz` flag, argparse/pytest kwargs)
FUZZ_OPTIONS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("--fuzz-seed", "--seed", {"type": int, "default": DEFAULT_SEED,
                               "help": f"seed: the same seed generates the same cases (default {DEFAULT_SEED})"}),
    ("--fuzz-max-examples", "--max-examples",
     {"type": int, "default": DEFAULT_MAX_EXAMPLES,
      "help": f"generated cases per operation, before shrinking (default {DEFAULT_MAX_EXAMPLES})"}),
    ("--fuzz-positive", "--positive", {"action": "store_true",
                                       "help": "generate valid requests (they cost money: outputs are pinned tiny, "
                                               "and --max-requests defaults to 50)"}),
    ("--fuzz-operations", "--operations", {"help": "comma-separated operationId globs (default: every operation)"}),
    ("--fuzz-no-shrink", "--no-shrink", {"action": "store_true",
                                         "help": "report the first failing request instead of shrinking it to a "
                                                 "minimal one (fewer requests)"}),
    ("--fuzz-coverage", "--coverage", {"action": "store_true",
                                       "help": "add schemathesis's coverage phase: every field's boundary and type "
                                               "violations, systematically (many more requests)"}),
)


def fuzz_options(get: Any, max_requests: int | None, timeout: float) -> FuzzOptions:
    from ..run_options import split_list

    return FuzzOptions(seed=get("seed"), max_examples=get("max_examples"), positive=bool(get("positive")),
                       max_requests=max_requests, operations=split_list(get("operations")),
                       shrink=not get("no_shrink"), coverage=bool(get("coverage")), timeout=timeout)


def addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("oimi-conformance-fuzz", "oimi-conformance fuzz (suites/fuzz)")
    for flag, _, kwargs in FUZZ_OPTIONS:
        group.addoption(flag, **kwargs)


def ignore_collect(collection_path: Path, config: pytest.Config, fuzz_dir: Path) -> bool | None:
    """Collect suites/fuzz only when the command line names it (or something in it)."""
    if not _inside(collection_path, fuzz_dir):
        return None
    return None if requested(config, fuzz_dir) else True


def requested(config: pytest.Config, fuzz_dir: Path) -> bool:
    base = Path(config.invocation_params.dir)
    return any(_inside((base / str(arg).split("::")[0]).resolve(), fuzz_dir) for arg in config.args)


def _inside(path: Path, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def configure(config: pytest.Config, fuzz_dir: Path) -> None:
    config.stash[_STARTED] = time.time()
    _CONFIGS.append(config)
    # The suite's module builds its tests from this session's schema when imported: an earlier in-process
    # session must not leave it cached.
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and name.startswith("test_") and _inside(Path(file), fuzz_dir):
            del sys.modules[name]
    if requested(config, fuzz_dir):
        session_of(config)  # start the target now: a bad option or an unreachable target is one line


def active_schema() -> Any:
    """The schema of the session being collected (suites/fuzz/test_fuzz.py parametrizes with it)."""
    if not _CONFIGS:
        raise RuntimeError("suites/fuzz is collected by pytest with oimi_conformance's fuzz plugin")
    return session_of(_CONFIGS[-1]).schema


def session_of(config: pytest.Config) -> FuzzSession:
    """The run's fuzz session: the one `oimi-conformance fuzz` prepared, or one built from the options."""
    found = config.stash.get(FUZZ_KEY, None)
    if found is None:
        target = _target_options(config)
        opts = fuzz_options(lambda name: config.getoption(f"fuzz_{name}"), target.max_requests, target.timeout)
        found = FuzzSession(target, opts)
        config.stash[FUZZ_KEY] = found
        config.stash[_OWNED] = True
    if not found.prepared:
        try:
            found.prepare()
        except HarnessError as exc:
            pytest.exit(f"oimi-conformance: error: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    return found


def _target_options(config: pytest.Config) -> Any:
    """The target of this session's other suites when `oimi-conformance run` prepared one (so both judge the
    same gateway, sandbox included, and write one report), else the pytest options."""
    from dataclasses import replace

    from ..prepared_run import options_from_pytest
    from ..prepared_run import prepared as prepared_run

    prepared = prepared_run(config)
    engine = getattr(prepared, "engine", None)
    if prepared is None or engine is None:
        return options_from_pytest(config)
    run = engine.config
    expectations = getattr(run.expectations, "source", "") or None
    return replace(prepared.options, base_url=run.base_url, api_key=run.keys.get("main"), target=run.target,
                   expectations=expectations, sandbox_deviations=[])


def run_case(session: FuzzSession, case: Any) -> None:
    """The body of the fuzz test: one generated case, sent and judged (skipped once the budget is spent)."""
    try:
        session.exercise(case)
    except BudgetExhausted as exc:
        pytest.skip(str(exc))


def name_items(items: list[pytest.Item]) -> None:
    """One node id per operation, ``test_fuzz[POST /v1/chat/completions]``, as schemathesis intends: under
    pytest 9.2 its items all get the bare function name, which reporters (Allure, JUnit, -k) would merge."""
    for item in items:
        label = getattr(item, "operation_label", None)
        if not label:
            continue
        item.user_properties.append(("operation", label))
        node_id = getattr(item, "_id", None)
        if (node_id is not None and item.parent is not None and "[" not in item.nodeid
                and hasattr(node_id, "with_params")):
            item._id = item.parent.id.child(getattr(item, "originalname", None) or item.name).with_params(label)


def _operation_of(report: pytest.TestReport, session: FuzzSession) -> str | None:
    label = dict(report.user_properties).get("operation")
    if label is None and "[" in report.nodeid:
        label = report.nodeid[report.nodeid.rindex("[") + 1:].rstrip("]")
    return session.by_label.get(str(label)) if label else None


def logreport(report: pytest.TestReport) -> None:
    """Before any reporter sees a fuzz report: replace Hypothesis's falsifying example (a repr of the case,
    credentials included) by the harness's redacted diagnosis of the operation's findings."""
    if not _CONFIGS:
        return
    session = _CONFIGS[-1].stash.get(FUZZ_KEY, None)
    if session is None or not session.prepared:
        return
    op = _operation_of(report, session)
    findings = session.findings_of(op) if op else []
    if findings and report.when == "call" and report.outcome in ("failed", "skipped"):
        report.outcome = "failed"
        report.longrepr = diagnosis(session, op or "", findings)
    elif report.longrepr is not None and not isinstance(report.longrepr, tuple):
        report.longrepr = session.redactor.text(str(report.longrepr))
    report.sections = [(title, session.redactor.text(text)) for title, text in report.sections]


def diagnosis(session: FuzzSession, op: str, findings: list[Any]) -> str:
    from ..diagnosis import format_failure

    by_check = {r.check_id: r for r in session.results() if r.operation == op}
    parts = []
    for finding in findings:
        result = by_check.get(finding.check_id)
        if result is None:
            continue
        shown = type(result)(**{**result.as_dict(), "title": f"{result.title} [{finding.title}]",
                                "message": finding.message, "model": finding.model,
                                "violations": finding.violations})
        parts.append(format_failure(shown, finding.exchange.as_dict()))
    return session.redactor.text("\n\n".join(parts))


def allure_label(item: pytest.Item, session: FuzzSession) -> None:
    """Allure labels of a fuzz test (one per operation), when allure-pytest is listening."""
    from .. import allure_support

    if not allure_support.active(item.config):
        return
    import allure

    from ..endpoints import family_titles
    from .operations import endpoint_of, family_of

    op = session.by_label.get(str(getattr(item, "operation_label", "")), "")
    allure.dynamic.epic(family_titles().get(family_of().get(op, "openai"), "OpenAI-compatible"))
    allure.dynamic.feature(endpoint_of().get(op, "models"))
    allure.dynamic.story(f"fuzz.{session.options.mode}")
    allure.dynamic.tag("fuzz")
    allure.dynamic.label("case_id", f"fuzz.{op}")
    allure.dynamic.parameter("operation", op)
    allure.dynamic.parameter("mode", session.options.mode)
    allure.dynamic.parameter("seed", str(session.options.seed))
    allure.dynamic.parameter("model", session.models.get(op, "-"))


def allure_describe(item: pytest.Item) -> None:
    """Title, description and the redacted exchange of each finding, once the fuzz test ran."""
    from .. import allure_support

    session = item.config.stash.get(FUZZ_KEY, None)
    if session is None or not session.prepared or not allure_support.active(item.config):
        return
    import json

    import allure

    op = session.by_label.get(str(getattr(item, "operation_label", "")), "")
    info = session.operations.get(op)
    allure.dynamic.title(f"fuzz.{session.options.mode} @ {op}")
    lines = [f"**schemathesis, {session.options.mode} mode**, seed {session.options.seed}, "
             f"{info.cases if info else 0} case(s) judged", ""]
    for result in session.results():
        if result.operation == op:
            lines.append(f"- `{result.check_id}`: **{result.outcome}** {result.message}")
    allure.dynamic.description(session.redactor.text("\n".join(lines)))
    for finding in session.findings_of(op):
        exchange = finding.exchange.as_dict()
        from ..diagnosis import curl

        exchange["curl"] = curl(exchange)
        allure.attach(session.redactor.text(json.dumps(exchange, indent=2, ensure_ascii=False)),
                      name=f"{finding.check_id}: {finding.title} (minimal request, redacted)",
                      attachment_type=allure.attachment_type.JSON)


def sessionfinish(session: pytest.Session) -> None:
    config = session.config
    fuzz = config.stash.get(FUZZ_KEY, None)
    if fuzz is None or not fuzz.prepared:
        return
    fuzz.finished = time.time()
    path = fuzz.write(Path(fuzz.target_options.report_dir), merge_since=config.stash.get(_STARTED, None))
    from ..html_report import write_report

    page = write_report(path.parent)  # with the other suites' results when they ran in this session
    from ..results import RunRecord, judged_nothing

    results = fuzz.results()
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "oimi-conformance fuzz")
        reporter.write_line(fuzz.redactor.text(fuzz.summary(results)))
        reporter.write_line(f"results: {path}; report: {page}")
    nothing = judged_nothing(RunRecord(meta={}, results=results, exchanges={}))
    if nothing is not None and session.exitstatus == pytest.ExitCode.OK:  # as a run: judging nothing is no pass
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter is not None:
            reporter.write_line(f"oimi-conformance fuzz: {nothing}", red=True)


def unconfigure(config: pytest.Config) -> None:
    if config in _CONFIGS:
        _CONFIGS.remove(config)
    fuzz = config.stash.get(FUZZ_KEY, None)
    if fuzz is not None and config.stash.get(_OWNED, False):
        fuzz.close()


class PreparedFuzz:
    """Handed to pytest by ``oimi-conformance fuzz``, which prepared the session before pytest started."""

    def __init__(self, session: FuzzSession) -> None:
        self.session = session

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[FUZZ_KEY] = self.session
