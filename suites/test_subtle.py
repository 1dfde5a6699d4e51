"""Answers well formed but wrong: accounting, stream increments, disclosure in errors, restricted keys.
One test item per (check, case, model); see docs/checks.md."""

from oimi_conformance.pytest_plugin import assert_check

OIMI_AREAS = ('accounting', 'increments', 'disclosure', 'scoped')


def test_subtle(oimi_result, oimi_exchanges):
    assert_check(oimi_result, oimi_exchanges)
