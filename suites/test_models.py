"""Model listing and the gateway's claims. One test item per (check, case, model); see docs/checks.md."""

from oimi_conformance.pytest_plugin import assert_check

OIMI_AREAS = ('models',)


def test_models(oimi_result, oimi_exchanges):
    assert_check(oimi_result, oimi_exchanges)
