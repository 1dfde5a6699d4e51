"""Error paths beyond status and envelope: unknown models, rate limits."""

from __future__ import annotations

from .registry import CheckContext, check, has_tag

SPEC = "oimi-api-reference.md#Error Format; gateway-facts.md#Error bodies"


@check("errors.unknown-model-status", "An unknown model gets a client error (4xx) or 503, never 2xx or another 5xx",
       spec=SPEC, applies=has_tag("unknown-model"))
def unknown_model_status(ctx: CheckContext) -> None:
    """The request names a model that does not exist."""
    status = ctx.exchange.status or 0
    if not (400 <= status < 500 or status == 503):
        ctx.fail(f"an unknown model was answered with HTTP {status}")


@check("errors.unknown-model-not-retryable", "An unknown model is not answered 503 (which SDKs retry)",
       spec=SPEC + " (503 model_not_found)", severity="warning", applies=has_tag("unknown-model"))
def unknown_model_not_retryable(ctx: CheckContext) -> None:
    """new-api answers 503 model_not_found; the OpenAI, Anthropic and Google SDKs retry 503 with back-off,
    so a typo in a model name costs seconds of retries before the user sees the error."""
    if ctx.exchange.status == 503:
        ctx.fail("an unknown model was answered 503; SDKs retry 503, so expect 400 or 404")


@check("errors.retry-after", "A 429's Retry-After, when sent, is valid; a profile may demand it",
       spec="RFC 6585 section 4 (Retry-After MAY be sent); RFC 9110 section 10.2.3 (its syntax)",
       applies=has_tag("rate-limited"))
def retry_after(ctx: CheckContext) -> None:
    """Without Retry-After clients fall back to their own back-off; with a malformed one they may retry at
    once. RFC 6585 makes the header optional and neither the Oimi reference nor new-api promises it
    (new-api's limiter sends none: middleware/model-rate-limit.go), so its absence fails only under a
    profile with ``errors.require_retry_after`` (strict-native); elsewhere the check is skipped, saying so."""
    if ctx.exchange.status != 429:
        ctx.skip("not answered 429; see http.expected-status")
    value = ctx.exchange.response_headers.get("retry-after")
    if value is None:
        if ctx.profile.require_retry_after:
            ctx.fail("HTTP 429 without a Retry-After header (this profile requires one)")
        ctx.skip("HTTP 429 without Retry-After: optional (RFC 6585 section 4), clients use their own back-off")
    if not value.strip().isdigit():
        from email.utils import parsedate_to_datetime

        try:
            parsedate_to_datetime(value)
        except (TypeError, ValueError):
            ctx.fail(f"Retry-After {value!r} is neither seconds nor an HTTP date")
