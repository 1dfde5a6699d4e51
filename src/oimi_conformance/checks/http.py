"""HTTP-level properties every answer must have: the status the case expects, a body in the
declared content type, and a body that conforms to the kind the step asked for."""

from __future__ import annotations

from ..kinds import get_kind
from .common import envelope_problems, fail_on_rules
from .registry import CheckContext, check, expects_success

REFERENCE = "oimi-api-reference.md"


@check("http.expected-status", "The answer has the status the request calls for",
       spec="specs/cases (expect.status); specs/openapi.yaml responses",
       applies=lambda case: not case.tags & {"auth-negative", "auth-undocumented", "auth-valid", "unknown-model"})
def expected_status(ctx: CheckContext) -> None:
    """A valid request gets 2xx; an invalid one gets the 4xx the case names (never 5xx, never 2xx)."""
    for step in ctx.case.steps:
        exchange = ctx.exchanges.get(step.name)
        if exchange is None:
            continue
        expect = step.expect
        named = ctx.profile.statuses.get(expect.profile_status or "", ())
        if not expect.allows(exchange.status or 0, named):
            wanted = ", ".join(map(str, expect.status or named)) or ("2xx" if expect.success else "4xx")
            detail = ""
            if isinstance(exchange.json, dict) and isinstance(exchange.json.get("error"), dict):
                detail = f": {str(exchange.json['error'].get('message', ''))[:160]}"
            ctx.fail(f"step {step.name}: expected HTTP {wanted}, got {exchange.status}{detail}")


@check("http.no-server-error", "No request the harness sends is answered with a 5xx",
       spec=f"{REFERENCE}#Error Format; gateway-facts.md#Error bodies",
       applies=lambda case: "unknown-model" not in case.tags)
def no_server_error(ctx: CheckContext) -> None:
    """5xx means the gateway failed; for a client error it is also the wrong signal (SDKs retry 5xx)."""
    for name, exchange in ctx.exchanges.items():
        if exchange.status is not None and exchange.status >= 500:
            ctx.fail(f"step {name}: HTTP {exchange.status} for a request whose answer should be "
                     f"{'2xx' if ctx.case.step(name).expect.success else '4xx'}")


@check("http.json-content-type", "A JSON answer says Content-Type: application/json",
       spec="RFC 8259 section 11; specs/openapi.yaml", applies=expects_success)
def json_content_type(ctx: CheckContext) -> None:
    """Clients pick a parser by Content-Type; a JSON body sent as text/html or text/plain breaks them."""
    exchange = ctx.require_success()
    kind = get_kind(ctx.step.expect.kind) if ctx.step.expect.kind else None
    if kind is None or kind.framing == "sse" or (ctx.step.stream and exchange.is_event_stream):
        # a stream request answered as an event stream: the framing checks judge its framing, once
        ctx.skip("a stream: see the framing checks")
    if exchange.content_type != "application/json":
        ctx.fail(f"expected Content-Type application/json, got {exchange.content_type or 'none'}")


@check("body.schema", "A successful answer conforms to its schema",
       spec="specs/schemas (per kind, see specs/kinds.yaml)",
       applies=lambda case: case.steps[0].expect.success and case.steps[0].expect.kind is not None
       and get_kind(case.steps[0].expect.kind).framing == "json")
def body_schema(ctx: CheckContext) -> None:
    """Every field the protocol guarantees is there, with the right type and value."""
    fail_on_rules(ctx, ("schema.", "framing."), f"the body is not a valid {ctx.step.expect.kind}")


@check("errors.envelope", "An error is answered in a documented error envelope, as JSON",
       spec=f"{REFERENCE}#Error Format; specs/profiles (errors.<family>)",
       applies=lambda case: any(not s.expect.success for s in case.steps))
def error_envelope(ctx: CheckContext) -> None:
    """The reference documents {"error":{"message","type","code"}}; Claude and Gemini routes may use their
    own SDK's envelope where the profile allows it. Never HTML, never an empty body."""
    if "undocumented-route" in ctx.case.tags and not ctx.profile.judges("oimi"):
        ctx.skip(f"no protocol reference documents the error body of {ctx.case.title!r}; only the Oimi reference "
                 f"does, and profile {ctx.profile.name} judges the rules of {', '.join(ctx.profile.rule_sources)}")
    accepted = ctx.profile.envelopes_for(ctx.case.family)
    for step in ctx.case.steps:
        exchange = ctx.exchanges.get(step.name)
        if exchange is None or step.expect.success or exchange.status is None or exchange.status < 400:
            continue
        problems = envelope_problems(exchange, accepted)
        if problems:
            ctx.fail(f"step {step.name} (HTTP {exchange.status}): {problems[0].message}", problems)
