"""What the gateway hands back must work on the next call: a previous_response_id it returned."""

from __future__ import annotations

from .registry import CheckContext, check, has_tag

SPEC = "https://platform.openai.com/docs/api-reference/responses/create#responses-create-previous_response_id"


@check("responses.previous-response-accepted", "A response id the gateway returned is accepted as "
       "previous_response_id on the next call", spec=SPEC, applies=has_tag("previous-response"))
def previous_response_accepted(ctx: CheckContext) -> None:
    """Conversation state is the point of the Responses API: the id of a stored response, sent back as
    previous_response_id, must get a normal response, not a 400 "not found" because the follow-up reached
    another channel or the gateway rewrote the id."""
    first = ctx.require_object()
    if not isinstance(first.get("id"), str) or first.get("store") is False:
        ctx.skip("the first response has no id, or was not stored (store: false); nothing to chain")
    follow = ctx.exchange_of("next")
    sent = follow.request_json.get("previous_response_id") if isinstance(follow.request_json, dict) else None
    if sent != first["id"]:
        ctx.skip("the follow-up did not carry the first response's id (see the case's $from template)")
    status = follow.status or 0
    if not 200 <= status < 300:
        ctx.fail(f"previous_response_id {sent!r}, returned by this gateway one call earlier, was refused: "
                 f"HTTP {status} {follow.body_text(200)!r}")
    body = follow.json
    if not isinstance(body, dict) or body.get("object") != "response":
        ctx.fail(f"the follow-up answered HTTP {status} but not with a response object: {follow.body_text(160)!r}")
    if body.get("previous_response_id") not in (None, sent):
        ctx.fail(f"the follow-up names previous_response_id {body.get('previous_response_id')!r}, not {sent!r}")
