"""Authentication, per endpoint family and credential style.

One test item per (check, case, model); see docs/checks.md."""

from oimi_conformance.pytest_plugin import assert_check

OIMI_AREAS = ('auth',)


def test_auth(oimi_result, oimi_exchanges):
    assert_check(oimi_result, oimi_exchanges)
