"""Embeddings: one vector per input, dimensions, base64 encoding.
One test item per (check, case, model); see docs/checks.md."""

from oimi_conformance.pytest_plugin import assert_check

OIMI_AREAS = ('embeddings',)


def test_embeddings(oimi_result, oimi_exchanges):
    assert_check(oimi_result, oimi_exchanges)
