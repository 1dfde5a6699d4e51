"""Who may call what: key checks, rate limit, quota and model selection (all "pre-relay" errors).

The order follows new-api: key (401) -> rate limit (429) -> the key's model list (403) -> the model's
existence (404 here; new-api's real 503 is the ``errors.unknown-model-503`` deviation) -> quota (403)
-> the model's capability for this endpoint (400 ``model_not_supported``).
"""

from __future__ import annotations

from typing import Any

from .catalog import ENDPOINT_CAPABILITY, ModelSpec
from .context import RequestContext
from .error_bodies import SandboxError
from .keys import VALID_KEY, KeySpec, lookup, presented_key


def authenticate(ctx: RequestContext, headers: Any, query: Any) -> KeySpec:
    honour_query = not (ctx.has("gemini.query-key-ignored") and ctx.path.startswith("/v1beta/"))
    key = presented_key(
        ctx.path,
        headers,
        query,
        honour_goog_header=not ctx.has("auth.goog-key-ignored"),
        honour_query_key=honour_query,
        x_api_key_everywhere=ctx.has("auth.x-api-key-everywhere"),
        bearer_first=ctx.has("auth.bearer-wins"),
    )
    # auth.sk-prefix-required: a key sent without its "sk-" prefix is unknown (new-api strips the prefix)
    spec = None if key and ctx.has("auth.sk-prefix-required") and not key.startswith("sk-") else lookup(key)
    if spec is not None:
        return spec
    valid = lookup(VALID_KEY)
    assert valid is not None
    if (key and ctx.has("auth.accept-any-key")) or (not key and ctx.has("auth.missing-key-accepted")):
        return valid
    # The faithful message never repeats the key; auth.echo-key is the leak a harness must catch.
    message = f"Invalid token {key}" if key and ctx.has("auth.echo-key") else "Invalid token"
    status = 403 if key and ctx.has("auth.bad-key-403") else 401
    raise SandboxError(status, message, kind="auth")


def check_rate_limit(key: KeySpec) -> None:
    if key.state == "ratelimited":
        raise SandboxError(
            429,
            "Too many requests: the key's rate limit is reached, retry after 1 second",
            kind="rate_limit",
            code="rate_limit_exceeded",
            headers={"Retry-After": "1"},
        )


def select_model(ctx: RequestContext, model_id: Any, endpoint: str | None = None) -> ModelSpec:
    """The requested model, checked against the key, the catalogue, the quota and the endpoint."""
    if not isinstance(model_id, str) or not model_id:
        raise SandboxError(400, "field model is required", kind="missing_model", code="invalid_request", param="model")
    key = ctx.key
    if key is not None and not key.allows(model_id):
        raise SandboxError(403, f"This key is not allowed to use model {model_id}", kind="access", code="access_denied")
    model = ctx.state.catalog.get(model_id)
    if model is None:
        raise SandboxError(
            404, f"No available channel for model {model_id}", kind="unknown_model", code="model_not_found"
        )
    if key is not None and key.state == "noquota":
        # raised inside new-api's relay (service pre-consume billing), so Anthropic-shaped on /v1/messages
        raise SandboxError(403, "User quota is insufficient", kind="quota", code="insufficient_user_quota",
                           stage="relay")
    ctx.model = model
    if endpoint is not None:
        capability, path = ENDPOINT_CAPABILITY[endpoint]
        require(ctx, capability, f"{path.replace('{model}', model.id)}")
    return model


def require(ctx: RequestContext, capability: str, what: str) -> None:
    """A clean 400 (never a 5xx) when the chosen model lacks a capability the request needs."""
    model = ctx.model
    if model is not None and not model.supports(capability):
        raise SandboxError(
            400,
            f"model {model.id} does not support {what} (capability {capability})",
            kind="unsupported",
            code="model_not_supported",
            param="model",
        )
