"""Error envelopes, as new-api sends them (gateway-facts.md, "Error bodies").

Errors raised before relaying (auth, model selection, rate limit, quota, malformed body) use the OpenAI
envelope on every route, Claude and Gemini included. Errors raised while relaying (request validation)
use Anthropic's shape on ``/v1/messages`` and the OpenAI envelope everywhere else. Every message ends
with `` (request id: <id>)``, and the ``errors.*`` deviations are applied here, in one place.
"""

from __future__ import annotations

import html
from typing import Any

from starlette.responses import HTMLResponse, JSONResponse, Response

from .context import RequestContext

REQUEST_ID_HEADER = "X-Oneapi-Request-Id"

# Anthropic names its error types by status; new-api's relay errors on /v1/messages follow that shape.
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
}


class SandboxError(Exception):
    """An error answer. ``stage`` is "pre" (before relaying) or "relay"; ``kind`` lets deviations target it.

    kinds: auth, quota, access, rate_limit, route, method, too_large, not_implemented, malformed,
    missing_model, unknown_model, unsupported, invalid.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str,
        code: str = "",
        param: str = "",
        stage: str = "pre",
        error_type: str = "new_api_error",
        headers: dict[str, str] | None = None,
        request_id_suffix: bool = True,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.code = code
        self.param = param
        self.stage = stage
        self.error_type = error_type
        self.headers = dict(headers or {})
        # new-api's 404 Invalid URL, 501 and RetrieveModel errors carry no "(request id: ...)" suffix
        self.request_id_suffix = request_id_suffix
        self.upstream = False  # set by invalid(): a provider's validation error, passed through


def invalid(message: str, param: str = "", *, upstream: bool = False) -> SandboxError:
    """A request-validation error (relay stage: Anthropic-shaped on /v1/messages); ``upstream``: the
    provider's rule, not the gateway's (its 400 passes through new-api unchanged)."""
    err = SandboxError(400, message, kind="invalid", code="invalid_request", param=param, stage="relay")
    err.upstream = upstream
    return err


def _status(err: SandboxError, ctx: RequestContext) -> int:
    status = err.status
    if err.kind in ("malformed", "missing_model", "invalid") and ctx.has("errors.server-error-on-bad-input"):
        status = 500
    # new-api: a relay-stage validation error keeps NewAPIError's default status, 500; a Gemini body is
    # parsed only inside the relay (the model comes from the path), so malformed JSON there is one too
    if ctx.has("errors.validation-500") and (
            (err.kind == "invalid" and not err.upstream) or (err.kind == "malformed" and ctx.endpoint == "gemini")):
        status = 500
    if err.kind == "unknown_model":
        if ctx.endpoint == "models.retrieve" and ctx.has("models.unknown-200"):
            status = 200
        elif ctx.has("errors.unknown-model-503"):
            status = 503
        elif ctx.has("errors.unknown-model-500"):
            status = 500
    if ctx.has("errors.error-with-200"):
        status = 200
    return status


def envelope(err: SandboxError, ctx: RequestContext, message: str) -> dict[str, Any]:
    if err.stage == "relay" and ctx.route_shape == "anthropic":
        inner: dict[str, Any] = {"type": _ANTHROPIC_TYPES.get(err.status, "api_error"), "message": message}
        if ctx.has("errors.bare-envelope"):
            return inner
        return {"type": "error", "error": inner}
    inner = {"message": message, "type": err.error_type, "param": err.param, "code": err.code}
    if ctx.has("errors.bare-envelope"):
        return inner
    return {"error": inner}


def render_error(err: SandboxError, ctx: RequestContext) -> Response:
    status = _status(err, ctx)
    no_id = ctx.has("errors.no-request-id")
    message = err.message if no_id or not err.request_id_suffix else f"{err.message} (request id: {ctx.request_id})"
    if ctx.has("errors.stack-trace"):  # issue 16: an error that discloses server internals
        from .subtle_faults import with_stack_trace

        message = with_stack_trace(ctx, message)
    headers = {**({} if no_id else {REQUEST_ID_HEADER: ctx.request_id}), **err.headers}
    if ctx.has("errors.no-retry-after"):
        headers.pop("Retry-After", None)
    elif ctx.has("errors.retry-after-malformed") and "Retry-After" in headers:
        headers["Retry-After"] = "soon"
    if err.kind == "rate_limit" and ctx.has("errors.rate-limit-empty-body"):
        headers.pop("Retry-After", None)
        return Response(b"", status_code=status, headers=headers)
    if ctx.has("errors.html-body"):
        page = (
            f"<!DOCTYPE html><html><head><title>{status} Error</title></head>"
            f"<body><h1>{status} Error</h1><p>{html.escape(message)}</p></body></html>"
        )
        return HTMLResponse(page, status_code=status, headers=headers)
    return JSONResponse(envelope(err, ctx, message), status_code=status, headers=headers)
