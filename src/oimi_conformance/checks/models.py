"""Model listing: unique ids, one model retrievable, and the gateway's claims against what its
endpoints actually do."""

from __future__ import annotations

from .registry import CheckContext, check, has_tag

SPEC = "oimi-api-reference.md#Models; gateway-facts.md#Listing models"


@check("models.unique-ids", "Every model is listed once", spec=SPEC, applies=has_tag("models-list"))
def unique_ids(ctx: CheckContext) -> None:
    """A duplicated id makes clients show, bill or route a model twice."""
    body = ctx.require_json()
    ids = [m.get("id") for m in body.get("data", []) if isinstance(m, dict)] if isinstance(body, dict) else []
    dupes = sorted({i for i in ids if ids.count(i) > 1}, key=str)
    if dupes:
        ctx.fail(f"listed more than once: {', '.join(map(str, dupes))}")
    if not ids:
        ctx.fail("the list has no models")


@check("models.retrieve-matches", "GET /v1/models/{model} answers the model asked for", spec=SPEC,
       applies=has_tag("models-retrieve"))
def retrieve_matches(ctx: CheckContext) -> None:
    """The retrieved object's id is the requested id."""
    body = ctx.require_json()
    if body.get("id") != ctx.model:
        ctx.fail(f"asked for {ctx.model!r}, got a model with id {body.get('id')!r}")


@check("models.claimed-endpoint-works", "An endpoint a model claims in supported_endpoint_types works for it",
       spec=SPEC + " (supported_endpoint_types)", severity="warning",
       applies=has_tag("base", "base-stream"))
def claimed_endpoint_works(ctx: CheckContext) -> None:
    """The gateway's own claim is what dashboards and clients route by; a claim the endpoint refuses
    sends traffic to a dead end."""
    if not ctx.profile.check_claims:
        ctx.skip(f"profile {ctx.profile.name} does not compare claims")
    if ctx.claimed is None:
        ctx.skip("the gateway makes no claim for this model")
    status = ctx.exchange.status or 0
    # a 4xx refusal, or new-api's 503 model_not_found (listed and claimed, yet no channel serves it)
    if ctx.claimed and (400 <= status < 500 or ctx.exchange.no_channel):
        ctx.fail(f"{ctx.model} claims the {ctx.case.endpoint} endpoint but {ctx.case.id} answered HTTP {status}: "
                 f"{ctx.exchange.body_text(160)!r}")
