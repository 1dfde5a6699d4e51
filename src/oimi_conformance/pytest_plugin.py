"""The pytest surface of oimi-conformance, registered through the ``pytest11`` entry point.

* Suites (``suites/test_*.py``) declare ``OIMI_AREAS`` and one test taking ``oimi_result``: the
  plugin makes one item of it per (check, case, model) pair of those areas (``suite_items.CheckItem``),
  sends every planned request once before the first item, and judges one check per item.
* Application teams get the ``oimi_conforms`` fixture to judge bodies their own tests capture.

Precedence of settings: command-line options, then ``OIMI_API_KEY`` for the key, then defaults
(the embedded sandbox when no ``--base-url`` is given).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import pytest

from . import allure_support as _allure
from .exceptions import ContractViolation, UsageError
from .kinds import Verdict, judge
from .prepared_run import prepared, run_of
from .results import CheckResult, Outcome, judged_nothing, summary_table
from .safe_text import terminal
from .suite_items import ALLURE_ITEM, CheckItem, areas_pairs, exchange_dicts, make_items
from .suite_items import judge as judge_item


class Conforms(Protocol):
    def __call__(self, kind: str, body: bytes | str, request: dict[str, Any] | None = None) -> Verdict: ...


def assert_conforms(kind: str, body: bytes | str, request: dict[str, Any] | None = None) -> Verdict:
    """Judge ``body`` as ``kind``; raise ContractViolation naming every broken rule."""
    verdict = judge(kind, body, request)
    if not verdict.ok:
        lines = "\n".join(f"  {v}" for v in verdict.violations)
        raise ContractViolation(f"body does not conform to {kind}:\n{lines}", verdict.violations)
    return verdict


@pytest.fixture
def oimi_conforms() -> Conforms:
    """``oimi_conforms(kind, body, request=None)`` asserts that a captured body conforms to the spec."""
    return assert_conforms


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("oimi-conformance", "oimi-conformance: the target and what to check")
    from .run_options import RUN_OPTIONS

    for flag, kwargs in RUN_OPTIONS:
        group.addoption("--oimi-timeout" if flag == "--timeout" else flag, **kwargs)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> list[Any] | None:
    """A suite's test function becomes one lean item per (check, case run) (``suite_items``)."""
    return make_items(collector, name, obj)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The suite functions ``make_items`` leaves to pytest: parametrized with the same pairs."""
    if "oimi_item" not in metafunc.fixturenames:
        return
    pairs = areas_pairs(run_of(metafunc.config), metafunc.module)
    metafunc.parametrize("oimi_item", pairs, ids=[f"{c.id}@{r.id}" for c, r in pairs])


def pytest_collection_finish(session: pytest.Session) -> None:
    run = prepared(session.config)
    if run is None or run.engine is None:
        return
    run.selected = set()
    for item in session.items:
        if isinstance(item, CheckItem):
            run.selected.add(id(item.case_run))
        elif hasattr(item, "callspec"):
            pair = item.callspec.params.get("oimi_item")
            if isinstance(pair, tuple):  # an empty parametrization gives NotSet
                run.selected.add(id(pair[1]))
    if run.engine.config.dry_run:  # the plan of what -k and the options left selected; nothing else is sent
        from .matrix import plan_lines

        run.engine.runs = [r for r in run.engine.runs if id(r) in run.selected]
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        for line in plan_lines(run.engine, matrix=False):
            (reporter.write_line if reporter is not None else print)(terminal(line))
        pytest.exit("dry run: the plan above, nothing sent", returncode=0)


@pytest.fixture
def oimi_result(request: pytest.FixtureRequest, oimi_item: Any) -> CheckResult:
    """The judged result of this item's check on its case; a transport fault is a pytest *error*."""
    check, case_run = oimi_item
    return judge_item(request.node, check, case_run)


_ALLURE_CACHE = pytest.StashKey[dict[str, Any]]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Title, description and the redacted exchanges of an Allure result, once the test ran."""
    described = item.stash.get(ALLURE_ITEM, None)
    if described is not None:
        _allure.describe(*described, item.config.stash.setdefault(_ALLURE_CACHE, {}))


def assert_check(result: CheckResult, exchanges: dict[str, Any] | None = None) -> None:
    """Turn a judged result into the pytest outcome: pass, fail with a diagnosis, skip or xfail."""
    from .diagnosis import format_failure

    if result.outcome == Outcome.SKIPPED:
        pytest.skip(terminal(result.message))
    if result.outcome == Outcome.XFAILED:
        pytest.xfail(terminal(f"known deviation: {result.expected_reason} ({result.message})"))
    if result.outcome == Outcome.FAILED:
        pytest.fail(format_failure(result, (exchanges or {}).get(result.exchange or "")), pytrace=False)


@pytest.fixture
def oimi_exchanges(request: pytest.FixtureRequest) -> dict[str, Any]:
    return exchange_dicts(run_of(request.config))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = prepared(session.config)
    if run is None or run.engine is None or run.engine.config.dry_run:
        return
    record = run.engine.record(list(run.results.values()))
    from .reporters import write_reports

    written = write_reports(record, Path(run.options.report_dir))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "oimi-conformance")
        reporter.write_line(terminal(f"target {record.meta['target']} ({record.meta['base_url']}), profile "
                                     f"{record.meta['profile']}: {record.meta['requests']} requests, "
                                     f"tokens {json.dumps(record.meta['tokens'])}"))
        for line in summary_table(record).splitlines():
            reporter.write_line(line)
        from .plan import api_root

        # the base URL each official SDK needs for this gateway: a new-api gateway answers its web page on
        # paths outside /v1 (http.not-web-page), so the openai SDK needs /v1 and the others the root
        root = api_root(str(record.meta["base_url"]))
        reporter.write_line(terminal(f"SDK base URLs: openai {root}/v1; anthropic {root}; "
                                     f"google-genai {root} (api_version v1beta)"))
        reporter.write_line(f"results: {written['results']}; capability matrix: {written['matrix']}")
        reporter.write_line(f"report: {written['html']} (open it in a browser; `oimi-conformance report` builds the "
                            "Allure one)")
    nothing = judged_nothing(record)
    if nothing is not None and session.exitstatus == pytest.ExitCode.OK:
        # pytest calls an all-skipped session a success; a conformance gate must not
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter is not None:
            reporter.write_line(terminal(f"oimi-conformance: {nothing}"), red=True)


def pytest_unconfigure(config: pytest.Config) -> None:
    run = prepared(config)
    if run is not None:
        run.close()


__all__ = ["UsageError", "assert_check", "assert_conforms"]
