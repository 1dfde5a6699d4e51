"""HTTP status, content type and body schema of every answer.

One test item per (check, case, model); see docs/checks.md."""

from oimi_conformance.pytest_plugin import assert_check

OIMI_AREAS = ('http', 'body')


def test_http(oimi_result, oimi_exchanges):
    assert_check(oimi_result, oimi_exchanges)
