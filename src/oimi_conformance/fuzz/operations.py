"""What the fuzzer needs to know about each operation of ``specs/openapi.yaml`` beyond its schemas: the
endpoint and error-envelope family it belongs to, the gateway's name for it in ``supported_endpoint_types``,
and the request fields that bound how much a generated request can cost."""

from __future__ import annotations

from typing import Any

from ..endpoints import Operation, table

# The security scheme schemathesis applies to an operation is the first alternative of its `security`
# list whose schemes are all configured; the harness configures all four, so it is the first one.
SCHEME_STYLE = {"bearerAuth": "bearer", "anthropicKey": "x-api-key", "googApiKey": "x-goog-api-key",
                "googQueryKey": "query-key"}

# The per-operation tables below are read from `operations:` of specs/endpoints.yaml. The output-size
# fields of each operation are pinned to their smallest useful value in every generated request
# (schemathesis `[parameters]` body overrides; `body.a.b` creates `a` when it is missing). A pinned field is
# never the mutated one, so a case stays negative for another reason or is not sent.


def _ops() -> tuple[Operation, ...]:
    return table().operations()


def endpoint_of() -> dict[str, str]:
    """operationId -> the endpoint name of results.json (specs/schemas/report/results.json)."""
    return {o.id: o.endpoint for o in _ops()}


def family_of() -> dict[str, str]:
    """operationId -> the auth family whose error envelopes the profile accepts (profile [errors])."""
    return {o.id: o.family for o in _ops()}


def claim_of() -> dict[str, str]:
    """operationId -> the gateway's endpoint name (supported_endpoint_types), to pick a model for it."""
    return {o.id: o.claim for o in _ops() if o.claim}


def output_pins() -> dict[str, dict[str, Any]]:
    return {o.id: dict(o.output_pins) for o in _ops() if o.output_pins}


def negative_extra_pins() -> dict[str, dict[str, Any]]:
    """Pinned in negative mode only (the request is meant to be refused anyway)."""
    return {o.id: dict(o.negative_pins) for o in _ops() if o.negative_pins}


def dropped_in_positive() -> dict[str, tuple[str, ...]]:
    """Top-level body fields dropped from a positive request, so it is unambiguous."""
    return {o.id: o.positive_drops for o in _ops() if o.positive_drops}


def positive_query_pins() -> dict[str, dict[str, Any]]:
    return {o.id: dict(o.positive_query_pins) for o in _ops() if o.positive_query_pins}


def stream_flag() -> frozenset[str]:
    """Operations whose body has a `stream` flag: positive mode draws it (a Hypothesis boolean, so it is
    seeded and shrinks) because generated bodies rarely set it, and streams are judged by the harness's
    stream readers and grammars."""
    return frozenset(o.id for o in _ops() if o.stream_flag)


def path_model() -> frozenset[str]:
    """Operations that name their model in the path, not in the body."""
    return frozenset(o.id for o in _ops() if o.path_model)


def spec_pointer(path: str, method: str) -> str:
    """``specs/openapi.yaml#/paths/~1v1~1chat~1completions/post``."""
    escaped = path.replace("~", "~0").replace("/", "~1")
    return f"specs/openapi.yaml#/paths/{escaped}/{method.lower()}"


def kinds_of(definition: dict[str, Any]) -> dict[str, str]:
    """Media type -> body kind of an operation's 200 answer (its ``x-oimi-kind`` extensions)."""
    ok = (definition.get("responses") or {}).get("200") or {}
    return {media: entry["x-oimi-kind"] for media, entry in (ok.get("content") or {}).items()
            if isinstance(entry, dict) and "x-oimi-kind" in entry}


def kind_variants(definition: dict[str, Any], media: str) -> list[dict[str, str]]:
    ok = (definition.get("responses") or {}).get("200") or {}
    entry = (ok.get("content") or {}).get(media) or {}
    return list(entry.get("x-oimi-kind-variants") or [])
