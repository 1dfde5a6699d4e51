"""What the fuzzer needs to know about each operation of ``specs/openapi.yaml`` beyond its schemas: the
endpoint and error-envelope family it belongs to, the gateway's name for it in ``supported_endpoint_types``,
and the request fields that bound how much a generated request can cost."""

from __future__ import annotations

from typing import Any

# operationId -> the endpoint name of results.json (specs/schemas/report/results.json)
ENDPOINT: dict[str, str] = {
    "createChatCompletion": "chat", "createResponse": "responses", "compactResponse": "compact",
    "createMessage": "messages", "generateContent": "gemini", "streamGenerateContent": "gemini",
    "createEmbedding": "embeddings", "createRerank": "rerank", "createImage": "images",
    "listModels": "models", "retrieveModel": "models", "listGeminiModels": "models",
}

# operationId -> the auth family whose error envelopes the profile accepts (profile [errors])
FAMILY: dict[str, str] = {
    **{op: "openai" for op in ENDPOINT},
    "createMessage": "anthropic",
    "generateContent": "gemini", "streamGenerateContent": "gemini", "listGeminiModels": "gemini",
}

# The security scheme schemathesis applies to an operation is the first alternative of its `security`
# list whose schemes are all configured; the harness configures all four, so it is the first one.
SCHEME_STYLE = {"bearerAuth": "bearer", "anthropicKey": "x-api-key", "googApiKey": "x-goog-api-key",
                "googQueryKey": "query-key"}

# The output-size fields of each operation, pinned to their smallest useful value in every generated
# request (schemathesis `[parameters]` body overrides; `body.a.b` creates `a` when it is missing). A
# pinned field is never the mutated one, so a case stays negative for another reason or is not sent.
TINY = 16
OUTPUT_PINS: dict[str, dict[str, Any]] = {
    "createChatCompletion": {"body.max_tokens": TINY, "body.max_completion_tokens": TINY, "body.n": 1},
    "createResponse": {"body.max_output_tokens": TINY},  # the schema's minimum is 16
    "createMessage": {"body.max_tokens": TINY},
    "generateContent": {"body.generationConfig.maxOutputTokens": TINY, "body.generationConfig.candidateCount": 1},
    "streamGenerateContent": {"body.generationConfig.maxOutputTokens": TINY,
                              "body.generationConfig.candidateCount": 1},
    "createImage": {"body.n": 1},
}
# Gemini accepts snake_case too; negative cases pin both spellings (they are meant to be refused anyway),
# positive cases pin camelCase and drop a generated `generation_config` so the request is unambiguous.
NEGATIVE_EXTRA_PINS: dict[str, dict[str, Any]] = {
    op: {"body.generation_config.max_output_tokens": TINY, "body.generation_config.candidate_count": 1}
    for op in ("generateContent", "streamGenerateContent")
}
DROPPED_IN_POSITIVE: dict[str, tuple[str, ...]] = {
    "generateContent": ("generation_config",), "streamGenerateContent": ("generation_config",),
}
# Positive mode asks Gemini streams for SSE, which the transport reads with a time and event limit.
POSITIVE_QUERY_PINS: dict[str, dict[str, Any]] = {"streamGenerateContent": {"query.alt": "sse"}}
# Operations whose body has a `stream` flag: positive mode draws it (a Hypothesis boolean, so it is seeded
# and shrinks) because generated bodies rarely set it, and streams are judged by the harness's stream
# readers and grammars.
STREAM_FLAG = ("createChatCompletion", "createResponse", "createMessage")

# The gateway's own endpoint names (new-api's supported_endpoint_types), to pick a model per operation.
CLAIM: dict[str, str] = {
    "createChatCompletion": "openai", "createResponse": "openai-response",
    "compactResponse": "openai-response-compact", "createMessage": "anthropic", "generateContent": "gemini",
    "streamGenerateContent": "gemini", "createEmbedding": "embeddings", "createRerank": "jina-rerank",
    "createImage": "image-generation", "retrieveModel": "openai",
}
# Operations that name a model (in the body, or in the path for these)
PATH_MODEL = frozenset({"generateContent", "streamGenerateContent", "retrieveModel"})


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
