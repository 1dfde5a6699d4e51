"""Property-based fuzzing of the target from specs/openapi.yaml (schemathesis), as a pytest suite.

Collected only when named: ``pytest suites/fuzz [--base-url URL ...]`` or ``oimi-conformance fuzz``; a plain
``pytest suites`` / ``oimi-conformance run`` leaves it out. The hooks live in ``oimi_conformance.fuzz.plugin``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from oimi_conformance.fuzz import plugin

HERE = Path(__file__).resolve().parent


def pytest_addoption(parser: pytest.Parser) -> None:
    plugin.addoption(parser)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    return plugin.ignore_collect(collection_path, config, HERE)


def pytest_configure(config: pytest.Config) -> None:
    plugin.configure(config, HERE)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    plugin.name_items(items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_logreport(report: pytest.TestReport):
    plugin.logreport(report)
    return (yield)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    plugin.sessionfinish(session)


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin.unconfigure(config)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    plugin.allure_describe(item)


@pytest.fixture(scope="session")
def oimi_fuzz(pytestconfig: pytest.Config):
    """The fuzz run: target, budget, findings."""
    return plugin.session_of(pytestconfig)


@pytest.fixture(autouse=True)
def _oimi_fuzz_allure(request: pytest.FixtureRequest, oimi_fuzz) -> None:
    plugin.allure_label(request.node, oimi_fuzz)
