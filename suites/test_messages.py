"""Claude Messages, plain and streamed. One test item per (check, case, model); see docs/checks.md."""

from oimi_conformance.pytest_plugin import assert_check

OIMI_AREAS = ('messages',)


def test_messages(oimi_result, oimi_exchanges):
    assert_check(oimi_result, oimi_exchanges)
