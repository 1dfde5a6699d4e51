"""Rerank: sorted, valid indices, top_n, return_documents.
One test item per (check, case, model); see docs/checks.md."""

from oimi_conformance.pytest_plugin import assert_check

OIMI_AREAS = ('rerank',)


def test_rerank(oimi_result, oimi_exchanges):
    assert_check(oimi_result, oimi_exchanges)
