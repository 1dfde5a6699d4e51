"""The sandbox gateway as an ASGI app: the route table and the one dispatcher every request goes through.

Order of checks for a request (each step can answer instead of the next):
robustness deviations -> route (404 / 405) -> key (401) -> rate limit (429) -> body (413 / 400) ->
the handler (model, quota, capability, fields, then the answer). Routing is done here rather than by
Starlette's router so unknown routes and wrong methods get the gateway's own JSON envelopes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route as StarletteRoute
from starlette.types import Receive, Scope, Send

from . import chat, faults, gemini, listing, messages, resources, responses
from .access import authenticate, check_rate_limit
from .context import RequestContext, SandboxState
from .error_bodies import REQUEST_ID_HEADER, SandboxError, render_error

if TYPE_CHECKING:
    from .server import SandboxConfig

logger = logging.getLogger("oimi_conformance.sandbox")

MAX_BODY_BYTES = 1024 * 1024
SLOW_HEADERS_SECONDS = 60.0
HUGE_BODY_BYTES = 50 * 1024 * 1024

Handler = Callable[[RequestContext, Request, dict[str, Any], dict[str, str]], Awaitable[Response]]


@dataclass(frozen=True)
class Route:
    pattern: str
    methods: dict[str, Handler]  # "*" answers every method
    endpoint: str
    relay: bool = True  # rate limit applies and the JSON body is read
    auth: bool = True
    shape: str = "openai"  # the envelope of relay errors on this route

    def match(self, path: str) -> dict[str, str] | None:
        found = re.fullmatch(self.pattern, path)
        return found.groupdict() if found else None


def _body_only(fn: Callable[[RequestContext, dict[str, Any]], Awaitable[Response]]) -> Handler:
    async def handler(ctx: RequestContext, request: Request, body: dict[str, Any], params: dict[str, str]) -> Response:
        return await fn(ctx, body)

    return handler


def _gemini(streaming: bool) -> Handler:
    async def handler(ctx: RequestContext, request: Request, body: dict[str, Any], params: dict[str, str]) -> Response:
        return await gemini.handle(ctx, params["model"], body, streaming, request.query_params.get("alt"))

    return handler


async def _list(ctx: RequestContext, request: Request, body: dict[str, Any], params: dict[str, str]) -> Response:
    return listing.list_models(ctx, request.headers, request.query_params)


async def _retrieve(ctx: RequestContext, request: Request, body: dict[str, Any], params: dict[str, str]) -> Response:
    return listing.retrieve_model(ctx, params["model"], request.headers, request.query_params)


async def _file(ctx: RequestContext, request: Request, body: dict[str, Any], params: dict[str, str]) -> Response:
    return await resources.image_file(ctx, params["name"])


async def _not_implemented(
    ctx: RequestContext, request: Request, body: dict[str, Any], params: dict[str, str]
) -> Response:
    raise SandboxError(501, "API not implemented", kind="not_implemented", code="api_not_implemented",
                       request_id_suffix=False)


ROUTES: tuple[Route, ...] = (
    Route(r"/v1/chat/completions", {"POST": _body_only(chat.handle)}, "chat"),
    Route(r"/v1/responses", {"POST": _body_only(responses.handle)}, "responses"),
    Route(r"/v1/responses/compact", {"POST": _body_only(responses.compact)}, "responses.compact"),
    Route(r"/v1/messages", {"POST": _body_only(messages.handle)}, "messages", shape="anthropic"),
    Route(r"/v1/embeddings", {"POST": _body_only(resources.embeddings)}, "embeddings"),
    Route(r"/v1/rerank", {"POST": _body_only(resources.rerank)}, "rerank"),
    Route(r"/v1/images/generations", {"POST": _body_only(resources.images)}, "images"),
    Route(r"/v1/models", {"GET": _list}, "models.list", relay=False),
    Route(r"/v1/models/(?P<model>.+)", {"GET": _retrieve}, "models.retrieve", relay=False),
    Route(r"/v1beta/models", {"GET": _list}, "models.list", relay=False),
    Route(r"/v1beta/models/(?P<model>[^/:]+):generateContent", {"POST": _gemini(False)}, "gemini"),
    Route(r"/v1beta/models/(?P<model>[^/:]+):streamGenerateContent", {"POST": _gemini(True)}, "gemini"),
    Route(r"/v1beta/models/(?P<model>[^/:]+)", {"GET": _retrieve}, "models.retrieve", relay=False),
    Route(r"/v1/files(?:/.*)?", {"*": _not_implemented}, "files", relay=False),
    Route(r"/v1/fine-tunes(?:/.*)?", {"*": _not_implemented}, "files", relay=False),
    Route(r"/v1/images/variations", {"*": _not_implemented}, "files", relay=False),
    Route(r"/sandbox-files/(?P<name>[A-Za-z0-9-]+)\.png", {"GET": _file}, "files", relay=False, auth=False),
)


DASHBOARD_PAGE = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>New API</title></head>"
                  "<body><div id=\"root\"></div><script type=\"module\" src=\"/assets/index.js\"></script>"
                  "</body></html>")
# new-api's router/web-router.go: NoRoute answers JSON 404 only under these prefixes; the rest is the dashboard
API_PREFIXES = ("/v1", "/api", "/assets")


def _match(ctx: RequestContext, method: str, path: str) -> tuple[Route, Handler, dict[str, str]]:
    allowed: list[str] = []
    for route in ROUTES:
        params = route.match(path)
        if params is None:
            continue
        handler = route.methods.get(method) or route.methods.get("*")
        if handler is not None:
            return route, handler, params
        allowed += list(route.methods)
    if allowed and not ctx.has("errors.wrong-method-404"):
        raise SandboxError(
            405,
            f"Method {method} is not allowed on {path}",
            kind="method",
            code="method_not_allowed",
            error_type="invalid_request_error",
            headers={"Allow": ", ".join(sorted(set(allowed)))},
        )
    raise SandboxError(404, f"Invalid URL ({method} {path})", kind="route", error_type="invalid_request_error",
                       request_id_suffix=False)


async def _read_json(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length", "")
    size, chunks = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        if size <= MAX_BODY_BYTES:
            chunks.append(chunk)
    # The whole body is drained even when too large, so the client can read the 413 cleanly.
    if size > MAX_BODY_BYTES or (declared.isdigit() and int(declared) > MAX_BODY_BYTES):
        raise SandboxError(
            413, f"request body is larger than {MAX_BODY_BYTES} bytes", kind="too_large", code="request_body_too_large"
        )
    try:
        body = json.loads(b"".join(chunks).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SandboxError(
            400, f"request body is not valid JSON: {exc}", kind="malformed", code="bad_request_body"
        ) from None
    if not isinstance(body, dict):
        raise SandboxError(400, "request body must be a JSON object", kind="malformed", code="bad_request_body")
    return body


async def _huge_body(ctx: RequestContext) -> AsyncIterator[bytes]:
    head = json.dumps({"id": ctx.make_id("chatcmpl-"), "object": "chat.completion", "padding": ""})[:-2]
    yield head.encode()
    block = b"x" * (1024 * 1024)
    for _ in range(HUGE_BODY_BYTES // len(block)):
        yield block
        await asyncio.sleep(0)
    yield b'"}'


async def _robustness(ctx: RequestContext, request: Request) -> Response | None:
    """The robustness.* deviations, which act before any routing."""
    if ctx.has("robustness.reset") and ctx.drop is not None:
        ctx.drop(True)
        await asyncio.sleep(0.05)  # let the server see the closed socket; what follows is never sent
        return Response(status_code=500)
    if ctx.has("robustness.slow-headers"):
        await request.body()  # read first: polling for a disconnect must not swallow the body
        await ctx.state.hold(SLOW_HEADERS_SECONDS, request.is_disconnected)
    headers = {REQUEST_ID_HEADER: ctx.request_id}
    if ctx.has("robustness.html-200"):
        page = "<!DOCTYPE html><html><head><title>Welcome</title></head><body><h1>It works!</h1></body></html>"
        return HTMLResponse(page, status_code=200, headers=headers)
    if ctx.has("robustness.huge-body") and request.method == "POST":
        return StreamingResponse(_huge_body(ctx), media_type="application/json", headers=headers)
    return None


async def dispatch(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    path = request.url.path
    ctx = RequestContext(
        state=state,
        request_id=state.next_request_id(),
        deviations=state.deviations,
        stream_interval_s=state.stream_interval_s,
        port=int(request.scope.get("server", ("", 0))[1] or 0),
        path=path,
        drop=request.scope.get("sandbox.drop"),
    )
    try:
        if state.latency_s > 0:
            await asyncio.sleep(state.latency_s)
        early = await _robustness(ctx, request)
        if early is not None:
            return early
        # /sandbox-files/ plays the image provider's CDN, which is not behind the gateway's router
        if ctx.has("robustness.html-fallback") and not path.startswith((*API_PREFIXES, "/sandbox-files/")):
            # new-api's RequestId middleware is global: the dashboard page carries the header too
            return HTMLResponse(DASHBOARD_PAGE, status_code=200,
                                headers={"Cache-Control": "no-cache", REQUEST_ID_HEADER: ctx.request_id})
        route, handler, params = _match(ctx, request.method, path)
        unrouted = path.startswith("/v1beta/") and ctx.has("models.gemini-get-unrouted")
        if route.endpoint == "models.retrieve" and unrouted:
            raise SandboxError(404, f"Invalid URL ({request.method} {path})", kind="route",
                               error_type="invalid_request_error", request_id_suffix=False)
        ctx.endpoint, ctx.route_shape = route.endpoint, route.shape
        if route.auth:
            ctx.key = authenticate(ctx, request.headers, request.query_params)
        body: dict[str, Any] = {}
        if route.relay:
            assert ctx.key is not None
            check_rate_limit(ctx.key)
            body = faults.apply("request", ctx, await _read_json(request))
            ctx.body = body
        response = await handler(ctx, request, body, params)
    except SandboxError as err:
        return render_error(err, ctx)
    except Exception:  # a sandbox bug: still answer the gateway's JSON envelope, and say so in the log
        logger.exception("sandbox: unhandled error on %s %s", request.method, path)
        return render_error(SandboxError(500, "internal sandbox error", kind="internal", code="internal_error"), ctx)
    if ctx.has("errors.no-request-id"):
        if REQUEST_ID_HEADER in response.headers:
            del response.headers[REQUEST_ID_HEADER]
    else:
        response.headers.setdefault(REQUEST_ID_HEADER, ctx.request_id)
    return response


def _dropper(transport: Any) -> Callable[[bool], None]:
    def drop(reset: bool) -> None:
        if reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                # SO_LINGER with a zero timeout turns close() into a TCP RST.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()

    return drop


class SandboxApp(Starlette):
    """The Starlette app, plus a handle to drop the TCP connection (for the reset and truncation faults),
    which ASGI itself cannot express. It uses uvicorn's per-request transport, reached through ``send``
    before any middleware wraps it; without it the faults fall back to raising."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if transport is not None:
                scope["sandbox.drop"] = _dropper(transport)
        await super().__call__(scope, receive, send)


# Every method reaches the dispatcher, which answers the gateway's JSON 405 (not Starlette's text/plain one).
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "QUERY"]


async def _dispatch_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    response = await dispatch(Request(scope, receive))
    await response(scope, receive, send)


def build_app(config: SandboxConfig) -> Starlette:
    """The sandbox gateway for ``config``; ``app.state.sandbox`` holds its live state."""
    app = SandboxApp(
        routes=[StarletteRoute("/{path:path}", dispatch, methods=_METHODS)]
    )
    # Starlette's `{path:path}` does not match a path with a newline (%0A) in it: such a request still gets the
    # gateway's own JSON answer, never Starlette's text/plain "Not Found".
    app.router.default = _dispatch_asgi
    app.state.sandbox = SandboxState(
        deviations=config.deviations,
        mode=config.mode,
        models=config.models,
        extra_models=config.extra_models,
        latency_s=config.latency_s,
        stream_interval_s=config.stream_interval_s,
        first_event_delay_s=config.first_event_delay_s,
    )
    return app
