"""What every stream owes its client beyond its protocol's grammar: no error after a 200 began it.

One test item per (check, case, model); see docs/checks.md."""

from oimi_conformance.pytest_plugin import assert_check

OIMI_AREAS = ('stream',)


def test_stream(oimi_result, oimi_exchanges):
    assert_check(oimi_result, oimi_exchanges)
