"""Authentication: each documented credential style works, every bad credential gets 401 in the
documented envelope, undocumented styles are treated as the profile says, and no key is echoed."""

from __future__ import annotations

from .common import envelope_problems
from .registry import CheckContext, check, every_case, has_tag

SPEC = "oimi-api-reference.md#Authentication"


@check("auth.documented-style-accepted", "Each documented credential style is accepted with a valid key",
       spec=SPEC, applies=has_tag("auth-valid"))
def documented_style_accepted(ctx: CheckContext) -> None:
    """Bearer on OpenAI routes; x-api-key + anthropic-version (and Bearer) on /v1/messages;
    x-goog-api-key and ?key= on Gemini routes."""
    status = ctx.exchange.status
    _route_missing(ctx)
    if status is None or not 200 <= status < 300:
        ctx.fail(f"a valid key presented as {ctx.auth_label} was refused: HTTP {status} "
                 f"{ctx.exchange.body_text(160)!r}")


@check("auth.invalid-credential-refused", "A missing, wrong, empty or wrongly-schemed credential gets 401",
       spec=f"{SPEC}; gateway-facts.md#Authentication", applies=has_tag("auth-negative"))
def invalid_credential_refused(ctx: CheckContext) -> None:
    """Anything but a valid key must be refused with 401 (not 403, not 200, not 5xx)."""
    source = _negative_source(ctx.auth_label)
    if not ctx.profile.judges(source):
        ctx.skip(f"{ctx.auth_label}: a rule of the {source} reference only; profile {ctx.profile.name} judges "
                 f"the rules of {', '.join(ctx.profile.rule_sources)}")
    status = ctx.exchange.status
    _route_missing(ctx)
    if status != 401:
        verdict = "accepted" if status and 200 <= status < 300 else "answered"
        ctx.fail(f"credential {ctx.auth_label!r} was {verdict} with HTTP {status}, expected 401")


@check("auth.undocumented-style-refused", "A credential style the reference does not document for a route "
       "is refused", spec=f"{SPEC}; gateway-facts.md#Authentication; specs/profiles (auth.undocumented_style)",
       applies=has_tag("auth-undocumented"))
def undocumented_style_refused(ctx: CheckContext) -> None:
    """E.g. x-api-key alone on /v1/chat/completions: new-api honours it only on /v1/messages and /v1/models,
    so a conforming gateway answers 401. Profile `report` turns acceptance into a note, not a failure."""
    status = ctx.exchange.status
    if status == 401:
        return
    if status is not None and 200 <= status < 300:
        if ctx.profile.undocumented_style == "report":
            ctx.skip(f"{ctx.auth_label} accepted on this route; profile {ctx.profile.name} only reports this")
        ctx.fail(f"{ctx.auth_label} is not documented for this route but was accepted (HTTP {status}); "
                 "expected 401")
    ctx.fail(f"{ctx.auth_label} on an undocumented route answered HTTP {status}, expected 401")


@check("auth.key-not-echoed", "The presented key never appears in a response header or body",
       spec="gateway-facts.md#Error bodies (sensitive values are masked)", applies=every_case)
def key_not_echoed(ctx: CheckContext) -> None:
    """An echoed key ends up in client logs and error trackers. Checked before the harness redacts."""
    for name, exchange in ctx.exchanges.items():
        if exchange.key_echoes:
            ctx.fail(f"step {name}: the answer contains {', '.join(exchange.key_echoes)} presented by this run "
                     "(redacted in this report)")


def _negative_source(label: str) -> str:
    """Whose rule a negative credential is (specs/auth.yaml `source`): "official" unless it says otherwise."""
    from ..plan import auth_spec

    name = label.split(":", 1)[1] if label.startswith("negative:") else ""
    return str(auth_spec()["negative"].get(name, {}).get("source", "official"))


def _route_missing(ctx: CheckContext) -> None:
    """A 404 in none of the family's error envelopes is the gateway's bare "no such route": the endpoint is
    an unsupported capability of this gateway, and says nothing about how it treats credentials."""
    exchange = ctx.exchange
    if exchange.status == 404 and envelope_problems(exchange, ctx.profile.envelopes_for(ctx.case.family)):
        ctx.skip(f"unsupported capability: {exchange.method} {exchange.url.split('?')[0]} answered HTTP 404 in no "
                 f"error envelope ({exchange.body_text(80)!r}), a route this gateway does not have",
                 {"by": "gateway", "status": 404, "said": exchange.body_text(80)})
