"""Gemini generateContent and streamGenerateContent (SSE and JSON-array framing).
One test item per (check, case, model); see docs/checks.md."""

from oimi_conformance.pytest_plugin import assert_check

OIMI_AREAS = ('gemini',)


def test_gemini(oimi_result, oimi_exchanges):
    assert_check(oimi_result, oimi_exchanges)
