"""Deviations that keep every answer well formed but wrong: parameters dropped, accounting off, streams
cumulative, a restricted key that is not restricted everywhere, ids that do not work on the next call.

Registered with ``faults.hook`` like the others (this module is imported at the end of ``faults.py``);
``errors.stack-trace`` acts in ``errors.render_error``, with the text defined here.
"""

from __future__ import annotations

from typing import Any

from .context import RequestContext
from .error_bodies import invalid
from .faults import _data, hook
from .keys import VALID_KEY, lookup
from .wire import Frame

UPSTREAM_DEPLOYMENT = "azure-eastus2-gpt-deployment-0613"

# What LiteLLM's proxy appends to a 500 (shape copied from its answers; paths and link are its own).
STACK_TRACE = (
    "\n\nTraceback (most recent call last):\n"
    '  File "/usr/lib/python3.11/site-packages/litellm/proxy/proxy_server.py", line 3412, in chat_completion\n'
    "    responses = await llm_router.acompletion(**data)\n"
    "litellm.exceptions.BadRequestError: upstream rejected the request\n"
    "Received Model Group=sandbox\nAvailable Model Group Fallbacks=None\n"
    "If this keeps happening, file a bug: https://github.com/BerriAI/litellm/issues/new"
)


def with_stack_trace(ctx: RequestContext, message: str) -> str:
    return message + STACK_TRACE if ctx.has("errors.stack-trace") else message


# --- streams ----------------------------------------------------------------------------------------------

@hook("chat.stream.cumulative-deltas", "events", "chat")
def _cumulative(ctx: RequestContext, frames: list[Frame]) -> None:
    so_far: dict[int, str] = {}
    for data in _data(frames):
        for choice in data.get("choices") or []:
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str) and delta["content"]:
                so_far[choice["index"]] = so_far.get(choice["index"], "") + delta["content"]
                delta["content"] = so_far[choice["index"]]


@hook("chat.stream.no-role", "events", "chat")
def _no_role(ctx: RequestContext, frames: list[Frame]) -> None:
    for data in _data(frames):
        for choice in data.get("choices") or []:
            (choice.get("delta") or {}).pop("role", None)


@hook("chat.stream.upstream-model", "events", "chat")
def _upstream_model(ctx: RequestContext, frames: list[Frame]) -> None:
    for data in _data(frames):
        if "model" in data:
            data["model"] = UPSTREAM_DEPLOYMENT


@hook("responses.no-event-lines", "events", "responses")
def _no_event_lines(ctx: RequestContext, frames: list[Frame]) -> None:
    for frame in frames:
        frame.event = None


# --- accounting -------------------------------------------------------------------------------------------

@hook("chat.usage-zero-output", "body", "chat")
def _zero_output(ctx: RequestContext, body: dict[str, Any]) -> None:
    usage = body.get("usage") or {}
    usage["completion_tokens"] = 0
    usage["total_tokens"] = usage.get("prompt_tokens", 0)


def _zero_input(usage: Any) -> None:
    if isinstance(usage, dict) and "input_tokens" in usage:
        usage["input_tokens"] = 0


@hook("messages.usage-zero-input", "body", "messages")
def _zero_input_body(ctx: RequestContext, body: dict[str, Any]) -> None:
    _zero_input(body.get("usage"))


@hook("messages.usage-zero-input", "events", "messages")
def _zero_input_events(ctx: RequestContext, frames: list[Frame]) -> None:
    for data in _data(frames):
        _zero_input((data.get("message") or {}).get("usage"))
        _zero_input(data.get("usage"))


@hook("chat.stream.usage-inflated", "events", "chat")
def _inflated(ctx: RequestContext, frames: list[Frame]) -> None:
    for data in _data(frames):
        usage = data.get("usage")
        if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
            usage["completion_tokens"] *= 1000  # as if every chunk's running count were summed
            usage["total_tokens"] = usage.get("prompt_tokens", 0) + usage["completion_tokens"]


# --- rerank -----------------------------------------------------------------------------------------------

@hook("rerank.raw-scores", "body", "rerank")
def _raw_scores(ctx: RequestContext, body: dict[str, Any]) -> None:
    for result in body.get("results") or []:
        result["relevance_score"] = round(result["relevance_score"] * 16 - 8, 4)  # a logit, order kept


# --- state across calls -----------------------------------------------------------------------------------

@hook("responses.previous-id-rejected", "request", "responses")
def _refuse_previous(ctx: RequestContext, body: dict[str, Any]) -> None:
    # As gateways that relay Responses through a stateless channel do: the field is refused outright.
    if "previous_response_id" in body:
        raise invalid("Unsupported parameter: 'previous_response_id' is not supported with this model.",
                      "previous_response_id")


# --- a restricted key -------------------------------------------------------------------------------------

def _restricted(ctx: RequestContext) -> bool:
    return ctx.key is not None and ctx.key.allowed_models is not None


@hook("auth.restricted-ignored-gemini", "request", "gemini")
def _unrestrict(ctx: RequestContext, body: dict[str, Any]) -> None:
    # The key's model list is enforced by the OpenAI relay only; the Gemini routes forget it.
    if _restricted(ctx):
        ctx.key = lookup(VALID_KEY)


@hook("auth.restricted-lists-everything", "body", "models.list")
def _list_everything(ctx: RequestContext, body: dict[str, Any]) -> None:
    # Only the Gemini-form listing (/v1beta/models) ignores the key's model list.
    from .listing import gemini_model

    if _restricted(ctx) and isinstance(body.get("models"), list):
        body["models"] = [gemini_model(m) for m in ctx.state.catalog.values()]


# --- parameters -------------------------------------------------------------------------------------------

@hook("gemini.ignores-stop-sequences", "request", "gemini")
def _ignore_stop_sequences(ctx: RequestContext, body: dict[str, Any]) -> None:
    for key in ("generationConfig", "generation_config"):
        if isinstance(body.get(key), dict):
            body[key].pop("stopSequences", None)
            body[key].pop("stop_sequences", None)


# --- what the gateway hands back --------------------------------------------------------------------------

@hook("images.url-dead", "body", "images")
def _dead_url(ctx: RequestContext, body: dict[str, Any]) -> None:
    # As when the gateway rewrites upstream urls to its own file store and never writes the file.
    for n, item in enumerate(body.get("data") or []):
        if isinstance(item.get("url"), str):
            item["url"] = f"http://127.0.0.1:{ctx.port}/sandbox-files/expired-{n}.png"


def _prose(text: str) -> str:
    return "Sure! Here is the JSON: " + text


@hook("responses.json-mode-not-json", "body", "responses")
def _responses_prose(ctx: RequestContext, body: dict[str, Any]) -> None:
    if ((ctx.body.get("text") or {}).get("format") or {}).get("type") in ("json_object", "json_schema"):
        for item in body.get("output") or []:
            for part in item.get("content") or []:
                if part.get("type") == "output_text":
                    part["text"] = _prose(part["text"])


@hook("gemini.json-mode-not-json", "body", "gemini")
def _gemini_prose(ctx: RequestContext, body: dict[str, Any]) -> None:
    config = ctx.body.get("generationConfig") or {}
    if config.get("responseMimeType") == "application/json":
        for candidate in body.get("candidates") or []:
            for part in (candidate.get("content") or {}).get("parts") or []:
                if isinstance(part.get("text"), str):
                    part["text"] = _prose(part["text"])


@hook("gemini.tool-args-invalid", "body", "gemini")
def _gemini_args(ctx: RequestContext, body: dict[str, Any]) -> None:
    # As when a gateway translates a tool call and loses its arguments on the way.
    for candidate in body.get("candidates") or []:
        for part in (candidate.get("content") or {}).get("parts") or []:
            if isinstance(part.get("functionCall"), dict):
                part["functionCall"]["args"] = {}


@hook("chat.stream.tool-as-text", "events", "chat")
def _tool_as_text(ctx: RequestContext, frames: list[Frame]) -> None:
    # As when a gateway's stream translation drops tool-call deltas and keeps only text.
    for data in _data(frames):
        for choice in data.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.pop("tool_calls", None) is not None:
                delta.setdefault("content", "")
            if choice.get("finish_reason") == "tool_calls":
                choice["finish_reason"] = "stop"


@hook("messages.stream-stop-differs", "events", "messages")
def _stop_differs(ctx: RequestContext, frames: list[Frame]) -> None:
    # As when a gateway's stream translation maps the upstream's finish reason to a default.
    for data in _data(frames):
        delta = data.get("delta") if data.get("type") == "message_delta" else None
        if isinstance(delta, dict) and delta.get("stop_reason") is not None:
            delta["stop_reason"] = "end_turn" if delta["stop_reason"] == "max_tokens" else "max_tokens"
