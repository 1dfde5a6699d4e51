"""Image generation: n, b64_json images, urls.
One test item per (check, case, model); see docs/checks.md."""

from oimi_conformance.pytest_plugin import assert_check

OIMI_AREAS = ('images',)


def test_images(oimi_result, oimi_exchanges):
    assert_check(oimi_result, oimi_exchanges)
