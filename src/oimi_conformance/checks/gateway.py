"""What a gateway adds around the protocols, and what users of one hit: a request id support can trace,
an API path answered by the API (not the gateway's web page), and an error sent after a 200 stream began.
Each names new-api's behaviour it was modelled on (docs/new-api-behaviour.md)."""

from __future__ import annotations

import json
from typing import Any

from ..exchange import REQUEST_ID_HEADERS
from ..judging import stream_items
from .common import stream_objects
from .registry import CheckContext, check

MAX_QUOTE = 200  # characters of an error message quoted in a failure


def _every_case(case: Any) -> bool:
    return True


@check("http.request-id", "Every answer carries a request id that support can trace", severity="warning",
       spec="new-api middleware/request-id.go (X-Oneapi-Request-Id); OpenAI x-request-id; Anthropic request-id",
       applies=_every_case)
def has_request_id(ctx: CheckContext) -> None:
    """A failure reported without a request id cannot be traced in the gateway's logs."""
    for name, exchange in ctx.exchanges.items():
        if exchange.status is None or (exchange.replayed and not exchange.response_headers):
            continue
        if exchange.request_id is None:
            ctx.fail(f"step {name}: HTTP {exchange.status} without a request id (no {', '.join(REQUEST_ID_HEADERS)} "
                     "header, no '(request id: ...)' in the body)")


WEB_PAGE = ("this is the gateway's web page, not its API: check the base URL (a new-api gateway serves its "
            "dashboard on every path outside /v1; the openai SDK needs https://host/v1, anthropic and "
            "google-genai https://host)")


@check("http.not-web-page", "An API path is answered by the API, not by the gateway's HTML web page",
       spec="new-api router/web-router.go (NoRoute serves the dashboard); RFC 9110 section 8.3",
       applies=_every_case)
def not_web_page(ctx: CheckContext) -> None:
    """A 200 text/html answer to an API call looks like success to a careless client and means the base
    URL is wrong (or a proxy's page stands in front of the gateway)."""
    for name, exchange in ctx.exchanges.items():
        if exchange.status is not None and 200 <= exchange.status < 300 and exchange.content_type == "text/html":
            ctx.fail(f"step {name}: HTTP {exchange.status} text/html: {WEB_PAGE}")


def _error_in(payload: Any) -> str | None:
    """The message of an error object (OpenAI's {"error": ...}, Anthropic's {"type": "error", ...})."""
    if not isinstance(payload, dict):
        return None
    error = payload.get("error")
    if payload.get("type") == "error" or isinstance(error, (dict, str)):
        if isinstance(error, dict):
            return str(error.get("message") or error.get("type") or error)[:MAX_QUOTE]
        return str(error)[:MAX_QUOTE]
    return None


def _trailing_json_error(body: bytes) -> str | None:
    """An error body appended after the events, outside SSE framing (new-api's controller/relay.go writes
    a relay error with c.JSON even after the 200 stream has begun)."""
    text = body.decode("utf-8", "replace")
    tail = text[text.rfind("\n\n") + 2:] if "\n\n" in text else ""
    tail = tail.strip()
    if not tail.startswith("{"):
        return None
    try:
        return _error_in(json.loads(tail))
    except (ValueError, RecursionError):
        return None


def _is_sse_stream(case: Any) -> bool:
    return bool(case.steps[0].stream)


@check("stream.no-error-after-start", "A stream that began with HTTP 200 does not end in an error",
       spec="https://platform.openai.com/docs/api-reference/responses-streaming/error; "
            "https://docs.anthropic.com/en/docs/build-with-claude/streaming#error-events; "
            "new-api controller/relay.go (errors written after the stream began)",
       applies=_is_sse_stream)
def no_error_after_start(ctx: CheckContext) -> None:
    """Once the status line said 200, an error can only travel inside the stream: as an error event, or
    (new-api) as a JSON body appended to it. The answer the client got is then incomplete, whatever the
    status said; this check names that, so the failure is not mistaken for a framing bug."""
    exchange = ctx.require_success()
    if not exchange.is_event_stream:
        ctx.skip("not an event stream: see the framing checks")
    items, _ = stream_items(exchange, "sse")
    if not items:
        ctx.skip("the stream carried no event to judge")
    for position, data in stream_objects(items):
        message = _error_in(data)
        if message is not None:
            ctx.fail(f"HTTP 200, then event {position} of the stream is an error: {message}")
    appended = _trailing_json_error(exchange.body)
    if appended is not None:
        ctx.fail(f"HTTP 200, then after {len(items)} events an error body was appended to the stream "
                 f"outside SSE framing: {appended}")


def _chat_stream(case: Any) -> bool:
    return case.steps[0].stream and case.steps[0].expect.kind == "openai.chat.completion.stream"


@check("chat.stream.usage-only-when-asked", "A chat stream sends its usage chunk only when stream_options asks",
       severity="warning",
       spec="https://platform.openai.com/docs/api-reference/chat/create#chat-create-stream_options "
            "(include_usage: an additional chunk, choices empty, only if set)",
       applies=_chat_stream)
def usage_only_when_asked(ctx: CheckContext) -> None:
    """A client that did not ask for usage may read ``choices[0]`` of every chunk; a chunk whose
    ``choices`` is empty breaks it. Legal where asked; harmful where not."""
    body = ctx.exchange.request_json
    options = body.get("stream_options") if isinstance(body, dict) else None
    if isinstance(options, dict) and options.get("include_usage"):
        ctx.skip("the request asked for usage (stream_options.include_usage)")
    exchange = ctx.require_success()
    items, stop = stream_items(exchange, "sse")
    if not items:
        ctx.skip("the stream carried no event to judge")
    ended = stop is None and any(getattr(item, "data", None) == "[DONE]" for item in items)
    for position, chunk in stream_objects(items):
        if chunk.get("choices") == [] and chunk.get("usage"):
            ctx.fail(f"event {position} is a usage chunk with choices [] although the request did not ask for "
                     "usage (stream_options.include_usage)")
    if not ended:  # the usage chunk comes last: a cut stream shows nothing of whether it would have come
        why = f"it was stopped ({stop.reason}: {stop.detail})" if stop is not None else "no [DONE] came"
        ctx.skip(f"the stream did not end properly ({why}): no evidence of when usage is sent")
