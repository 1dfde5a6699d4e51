"""The official SDKs (openai, anthropic, google-genai) as clients of the target: one test per SDK check.
Live only, and only when asked: `oimi-conformance run --sdk` (or `--checks 'sdk.*'`); see README."""

from oimi_conformance.pytest_plugin import assert_check
from oimi_conformance.sdk import pytest_sdk_checks, pytest_sdk_result


def pytest_generate_tests(metafunc):
    if "oimi_sdk_check" in metafunc.fixturenames:
        checks = pytest_sdk_checks(metafunc.config)
        metafunc.parametrize("oimi_sdk_check", checks, ids=[c.id for c in checks])


def test_sdk(request, oimi_sdk_check):
    assert_check(pytest_sdk_result(request.config, oimi_sdk_check))
