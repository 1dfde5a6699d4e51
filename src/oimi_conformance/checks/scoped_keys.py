"""A restricted key is restricted everywhere: the model it is refused is in none of its model listings.

The cases (specs/cases/subtle.yaml, ``--restricted-key``) send a generation request with the restricted key
on the run's model, and list models with the same key in each protocol's form: OpenAI (Bearer), Anthropic
(x-api-key + anthropic-version) and Gemini (/v1beta/models with x-goog-api-key). The generation
refusals on /v1/messages and the Gemini routes are judged by http.expected-status and errors.envelope.
"""

from __future__ import annotations

from typing import Any

from .registry import CheckContext, check, has_tag

SPEC = "oimi-api-reference.md#Models; gateway-facts.md#Listing models"
LISTINGS = ("openai", "anthropic", "gemini")


def listed_ids(body: Any) -> set[str] | None:
    """Model ids of a listing in any of the three forms; None when the body is not a listing."""
    if not isinstance(body, dict):
        return None
    entries = body.get("data") if isinstance(body.get("data"), list) else body.get("models")
    if not isinstance(entries, list):
        return None
    ids = set()
    for entry in entries:
        if isinstance(entry, dict):
            name = entry.get("id") or entry.get("name")
            if isinstance(name, str):
                ids.add(name.removeprefix("models/"))
    return ids


@check("scoped.listing-restricted", "A restricted key's model listings, in every protocol form, leave out the "
       "models it is refused", spec=SPEC, applies=has_tag("restricted-listings"))
def listing_restricted(ctx: CheckContext) -> None:
    """A client picks from GET /v1/models; a listing that offers a model the key then gets 403 for sends
    users into errors. Each form is its own code path in a gateway (new-api filters the OpenAI form and the
    others separately), so each is judged."""
    refused = ctx.exchange
    if refused.status not in (401, 403):
        ctx.skip(f"the restricted key was not refused model {ctx.model!r} (HTTP {refused.status}): nothing "
                 "to compare the listings with; http.expected-status judges the refusal")
    if not isinstance(refused.json, dict) or not refused.json:
        # a bare 401/403 with no error in it may come from anything in front of the gateway (a WAF, a proxy)
        ctx.skip(f"the refusal (HTTP {refused.status}) carries no error body: nothing shows the gateway refused "
                 f"the key model {ctx.model!r}; errors.envelope judges the body")
    judged = []
    for form in LISTINGS:
        exchange = ctx.exchanges.get(form)
        if exchange is None or exchange.status is None or not 200 <= exchange.status < 300:
            continue
        ids = listed_ids(exchange.json)
        if ids is None:
            continue
        judged.append(form)
        if ctx.model in ids:
            ctx.fail(f"the {form} listing ({exchange.method} {exchange.url.split('?')[0]}) offers the restricted "
                     f"key model {ctx.model!r}, which the same key was refused with HTTP {refused.status}")
    if not judged:
        ctx.skip("no listing answered a list with this key; http.expected-status reports it")
