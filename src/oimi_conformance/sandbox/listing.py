"""Model listing: GET /v1/models, /v1/models/{model}, /v1beta/models, /v1beta/models/{model}.

The shape depends on how the caller authenticates, as in new-api (gateway-facts.md, "Listing models"):
``x-api-key`` + ``anthropic-version`` gets Anthropic's list, ``x-goog-api-key`` or ``?key=`` on /v1/models
gets Gemini's, anything else OpenAI's with new-api's ``success`` and ``supported_endpoint_types``.
Only the models the key may use are listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse, Response

from . import faults
from .catalog import MODEL_CREATED, MODEL_CREATED_ISO, ModelSpec
from .context import RequestContext
from .error_bodies import REQUEST_ID_HEADER, SandboxError


def _visible(ctx: RequestContext) -> list[ModelSpec]:
    return [m for m in ctx.state.catalog.values() if ctx.key is None or ctx.key.allows(m.id)]


def _style(headers: Mapping[str, str], query: Mapping[str, str], path: str) -> str:
    if path.startswith("/v1beta/"):
        return "gemini"
    if headers.get("x-api-key") and headers.get("anthropic-version"):
        return "anthropic"
    if headers.get("x-goog-api-key") or query.get("key"):
        return "gemini"
    return "openai"


def openai_model(m: ModelSpec) -> dict[str, Any]:
    return {
        "id": m.id,
        "object": "model",
        "created": MODEL_CREATED,
        "owned_by": m.owned_by,
        "supported_endpoint_types": list(m.claims),
    }


def anthropic_model(m: ModelSpec) -> dict[str, Any]:
    return {"id": m.id, "type": "model", "display_name": m.display_name, "created_at": MODEL_CREATED_ISO}


def gemini_model_new_api(m: ModelSpec) -> dict[str, Any]:
    """new-api's dto.GeminiModel: interface{} fields without omitempty, so every optional one is null, and
    the bare id as name (controller/model.go: ListModels, ChannelTypeGemini)."""
    nulls = ("baseModelId", "version", "description", "inputTokenLimit", "outputTokenLimit",
             "supportedGenerationMethods", "thinking", "temperature", "maxTemperature", "topP", "topK")
    return {"name": m.id, "displayName": m.id, **dict.fromkeys(nulls)}


def gemini_model(m: ModelSpec) -> dict[str, Any]:
    methods = [
        name
        for cap, name in (("gemini", "generateContent"), ("gemini.stream", "streamGenerateContent"))
        if m.supports(cap)
    ]
    return {
        "name": f"models/{m.id}",
        "version": "001",
        "displayName": m.display_name,
        "description": f"{m.display_name}, a deterministic model of the oimi-conformance sandbox",
        "inputTokenLimit": 32768,
        "outputTokenLimit": 8192,
        "supportedGenerationMethods": methods,
    }


def list_models(ctx: RequestContext, headers: Mapping[str, str], query: Mapping[str, str]) -> Response:
    models = _visible(ctx)
    style = _style(headers, query, ctx.path)
    body: dict[str, Any]
    if style == "anthropic":
        data = [anthropic_model(m) for m in models]
        body = {"data": data, "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None}
        body["has_more"] = False
    elif style == "gemini" and ctx.path == "/v1/models" and ctx.has("models.unknown-200"):
        # new-api's router sends x-goog-api-key / ?key= on GET /v1/models to RetrieveModel with an empty id
        ctx.endpoint = "models.retrieve"
        return retrieve_model(ctx, "", headers, query)
    elif style == "gemini" and ctx.has("models.gemini-list-nulls"):
        body = {"models": [gemini_model_new_api(m) for m in models], "nextPageToken": None}
    elif style == "gemini":
        body = {"models": [gemini_model(m) for m in models]}
    else:
        body = {"object": "list", "success": True, "data": [openai_model(m) for m in models]}
    return JSONResponse(faults.apply("body", ctx, body), headers={REQUEST_ID_HEADER: ctx.request_id})


def retrieve_model(
    ctx: RequestContext, model_id: str, headers: Mapping[str, str], query: Mapping[str, str]
) -> Response:
    model = next((m for m in _visible(ctx) if m.id == model_id.removeprefix("models/")), None)
    if ctx.has("models.retrieve-builtin-only"):
        model = None  # the catalogue is the operator's: none of it is in new-api's built-in adaptor lists
    if model is None:
        raise SandboxError(404, f"The model '{model_id}' does not exist", kind="unknown_model", code="model_not_found",
                           param="model", error_type="invalid_request_error", request_id_suffix=False)
    style = _style(headers, query, ctx.path)
    make = {"anthropic": anthropic_model, "gemini": gemini_model}.get(style, openai_model)
    return JSONResponse(faults.apply("body", ctx, make(model)), headers={REQUEST_ID_HEADER: ctx.request_id})
