"""OpenAI Responses and Responses compaction, plain and streamed. One test item per (check, case, model);
see docs/checks.md."""

from oimi_conformance.pytest_plugin import assert_check

OIMI_AREAS = ('responses', 'compact')


def test_responses(oimi_result, oimi_exchanges):
    assert_check(oimi_result, oimi_exchanges)
