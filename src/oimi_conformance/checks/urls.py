"""What the gateway hands back must work: an image url resolves to an image.

The case (specs/cases/subtle.yaml, images.url.resolves) GETs the url of the answer once, with no key, as a
browser or SDK user would, read under the run's limits (16 MB, the run's timeout), no redirect followed.
``--no-follow-urls`` leaves it unsent (offline or firewalled runs); a replay judges the recorded answer, or
skips when the recording has none.
"""

from __future__ import annotations

from .images import image_format
from .registry import CheckContext, check, has_tag

SPEC = "https://platform.openai.com/docs/api-reference/images/object#images/object-url"


@check("images.url-resolves", "An image url in the answer resolves to an image", spec=SPEC,
       applies=has_tag("url-resolves"))
def url_resolves(ctx: CheckContext) -> None:
    """One GET of data[0].url answers 2xx with the bytes of a PNG, JPEG, WebP or GIF image: not a 404 of an
    expired or never-written file, not a login page, not a gateway error. A redirect is not followed (its
    target is not judged) and a body over the size cap is not judged: both skip with the reason."""
    data = ctx.require_object().get("data")
    first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
    if not isinstance(first.get("url"), str) or not first["url"]:
        ctx.skip("the answer carries no data[0].url to fetch; see body.schema")
    fetched = ctx.exchange_of("fetch")
    status = fetched.status or 0
    where = f"GET {fetched.url}"
    if fetched.fault:
        ctx.fail(f"{where}: no answer ({fetched.fault})")
    if 300 <= status < 400:
        ctx.skip(f"{where} redirects (HTTP {status}) to {fetched.response_headers.get('location', '?')!r}; "
                 "one bounded GET does not follow it")
    if not 200 <= status < 300:
        ctx.fail(f"{where} answered HTTP {status}, not the image: {fetched.body_text(120)!r}")
    if fetched.stop is not None and fetched.stop.reason == "byte-limit":
        ctx.skip(f"{where}: the image is larger than the size cap; not judged")
    fmt, why = image_format(fetched.body)
    if fmt is None:
        ctx.fail(f"{where} answered HTTP {status} ({fetched.content_type or 'no Content-Type'}) with bytes that "
                 f"are not an image: {why}")
