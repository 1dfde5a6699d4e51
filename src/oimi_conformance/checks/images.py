"""Image generation: n honoured, b64_json is a real image, url is an absolute http(s) URL.
No URL is fetched: the answer's shape is judged, not the file behind it."""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Any
from urllib.parse import urlsplit

from .registry import CheckContext, all_of, check, has_tag, main_kind

SPEC = "https://platform.openai.com/docs/api-reference/images"
IMAGES = main_kind("openai.images")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _data(ctx: CheckContext) -> list[dict[str, Any]]:
    body = ctx.require_json()
    data = body.get("data") if isinstance(body, dict) else None
    if data is None:
        ctx.fail("the answer has no data list of images")
    if not isinstance(data, list):
        ctx.skip("data is not a list; see body.schema")
    return [d for d in data if isinstance(d, dict)]


def image_format(raw: bytes) -> tuple[str | None, str]:
    """The image format of ``raw`` (png, jpeg, webp, gif) from its magic bytes, or None and why not.
    A PNG must also start with a valid IHDR chunk of non-zero width and height."""
    if raw.startswith(PNG_MAGIC):
        if len(raw) < 33 or raw[12:16] != b"IHDR" or struct.unpack(">I", raw[8:12])[0] != 13:
            return None, "PNG signature without a valid IHDR chunk"
        width, height = struct.unpack(">II", raw[16:24])
        if width == 0 or height == 0:
            return None, f"PNG IHDR with width {width} and height {height}"
        return "png", f"PNG {width}x{height}"
    if raw.startswith(b"\xff\xd8\xff"):
        return "jpeg", "JPEG"
    if len(raw) >= 12 and raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "webp", "WEBP"
    if raw[:6] in (b"GIF87a", b"GIF89a"):
        return "gif", "GIF"
    return None, f"no PNG/JPEG/WEBP/GIF signature; starts {raw[:12]!r}"


@check("images.n-honoured", "n asks for that many images", spec=f"{SPEC}/create#images-create-n",
       applies=IMAGES)
def n_honoured(ctx: CheckContext) -> None:
    """len(data) is the requested n (1 when absent). An empty data list also catches gateways that answer
    200 with no image (seen when response_format is sent to a model that does not take it)."""
    wanted = (ctx.request or {}).get("n", 1)
    got = len(_data(ctx))
    if got != wanted:
        ctx.fail(f"n={wanted} but {got} image(s) came back")


@check("images.b64-is-image", "response_format b64_json answers base64 of a real image",
       spec=f"{SPEC}/object#images/object-data", applies=all_of(IMAGES, has_tag("b64_json")))
def b64_is_image(ctx: CheckContext) -> None:
    """Every item has b64_json that decodes (strict base64) to PNG, JPEG, WEBP or GIF bytes; a PNG has a
    valid IHDR with width and height above 0."""
    data = _data(ctx)
    if not data:
        ctx.skip("no images to judge; see images.n-honoured")
    for i, item in enumerate(data):
        value = item.get("b64_json")
        if not isinstance(value, str) or not value:
            has = f"a url ({str(item.get('url'))[:60]!r})" if item.get("url") else f"keys {sorted(item)}"
            ctx.fail(f"data[{i}] has no b64_json although response_format is b64_json; it has {has}")
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            ctx.fail(f"data[{i}].b64_json is not valid base64: {exc}")
        fmt, detail = image_format(raw)
        if fmt is None:
            ctx.fail(f"data[{i}].b64_json decodes to {len(raw)} bytes that are not an image: {detail}")


@check("images.url-present", "response_format url answers an absolute http(s) URL per image",
       spec=f"{SPEC}/object#images/object-data", applies=all_of(IMAGES, has_tag("url")))
def url_present(ctx: CheckContext) -> None:
    """Every item has a url with scheme http or https and a host (not fetched)."""
    data = _data(ctx)
    if not data:
        ctx.skip("no images to judge; see images.n-honoured")
    for i, item in enumerate(data):
        url = item.get("url")
        if not isinstance(url, str) or not url:
            has = "b64_json instead" if item.get("b64_json") else f"keys {sorted(item)}"
            ctx.fail(f"data[{i}] has no url although response_format is url; it has {has}")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            ctx.fail(f"data[{i}].url is {url[:120]!r}; expected an absolute http(s) URL")
