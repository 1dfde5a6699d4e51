"""How the body- and stream-level deviations behave: one small function per deviation.

Handlers call three hooks, once each, and never test a deviation name themselves:
- ``apply("request", ctx, body)``  rewrites the request before it is read (the "ignores X" faults);
- ``apply("body", ctx, body)``     edits a non-streamed answer;
- ``apply("events", ctx, frames)`` edits a stream's frames before they are encoded.
A function runs only when its deviation is active and ``ctx.endpoint`` is one it is registered for.
Deviations about auth, error envelopes, delivery and robustness live in ``access.py``, ``error_bodies.py``,
``wire.py`` and ``app.py``, where they apply.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Iterator
from typing import Any

from .catalog import ENDPOINT_TYPES
from .context import RequestContext
from .error_bodies import invalid
from .wire import Frame, dumps

Hook = Callable[[RequestContext, Any], Any]
_HOOKS: list[tuple[str, str, frozenset[str], Hook]] = []


def hook(name: str, stage: str, *endpoints: str) -> Callable[[Hook], Hook]:
    def register(fn: Hook) -> Hook:
        _HOOKS.append((name, stage, frozenset(endpoints), fn))
        return fn

    return register


def apply(stage: str, ctx: RequestContext, payload: Any) -> Any:
    for name, hook_stage, endpoints, fn in _HOOKS:
        if hook_stage == stage and ctx.endpoint in endpoints and ctx.has(name):
            result = fn(ctx, payload)
            payload = payload if result is None else result
    return payload


def registered_names() -> frozenset[str]:
    return frozenset(name for name, *_ in _HOOKS)


def _data(frames: list[Frame]) -> Iterator[dict[str, Any]]:
    return (f.data for f in frames if isinstance(f.data, dict))


def _dropping(key: str) -> Hook:
    def drop(ctx: RequestContext, body: dict[str, Any]) -> None:
        body.pop(key, None)

    return drop


# --- request rewrites: the "ignores X" family --------------------------------------------------------

hook("chat.ignores-n", "request", "chat")(_dropping("n"))
hook("chat.ignores-stop", "request", "chat")(_dropping("stop"))
hook("embeddings.base64-ignored", "request", "embeddings")(_dropping("encoding_format"))
hook("embeddings.dimensions-ignored", "request", "embeddings")(_dropping("dimensions"))
hook("rerank.top-n-ignored", "request", "rerank")(_dropping("top_n"))
hook("images.n-ignored", "request", "images")(_dropping("n"))
hook("responses.ignores-max-output-tokens", "request", "responses")(_dropping("max_output_tokens"))


@hook("gemini.ignores-max-output-tokens", "request", "gemini")
def _ignore_max_output_tokens(ctx: RequestContext, body: dict[str, Any]) -> None:
    for key in ("generationConfig", "generation_config"):
        if isinstance(body.get(key), dict):
            body[key].pop("maxOutputTokens", None)
            body[key].pop("max_output_tokens", None)


@hook("responses.compaction-rejected", "request", "responses")
def _refuse_compaction(ctx: RequestContext, body: dict[str, Any]) -> None:
    # As when the gateway routes the follow-up to a channel whose upstream has no compaction support.
    items = body.get("input")
    for i, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict) and item.get("type") == "compaction":
            raise invalid("Invalid value: 'compaction'. Supported values are: 'message', 'function_call', "
                          "'function_call_output' and 'reasoning'.", f"input[{i}].type")


@hook("chat.ignores-max-tokens", "request", "chat")
def _ignore_max_tokens(ctx: RequestContext, body: dict[str, Any]) -> None:
    body.pop("max_tokens", None)
    body.pop("max_completion_tokens", None)


@hook("messages.max-tokens-optional", "request", "messages")
def _default_max_tokens(ctx: RequestContext, body: dict[str, Any]) -> None:
    body.setdefault("max_tokens", 4096)


# --- chat completions --------------------------------------------------------------------------------

hook("chat.usage-missing", "body", "chat")(_dropping("usage"))


@hook("chat.usage-arithmetic", "body", "chat")
def _chat_usage_sum(ctx: RequestContext, body: dict[str, Any]) -> None:
    body["usage"]["total_tokens"] += 1


@hook("chat.bad-finish-reason", "body", "chat")
def _chat_finish(ctx: RequestContext, body: dict[str, Any]) -> None:
    for choice in body["choices"]:
        choice["finish_reason"] = "finished"


@hook("chat.tool-args-not-json", "body", "chat")
def _chat_args(ctx: RequestContext, body: dict[str, Any]) -> None:
    for choice in body["choices"]:
        for call in choice["message"].get("tool_calls") or []:
            call["function"]["arguments"] = call["function"]["arguments"][:-1]


@hook("chat.json-mode-not-json", "body", "chat")
def _chat_json(ctx: RequestContext, body: dict[str, Any]) -> None:
    mode = (ctx.body.get("response_format") or {}).get("type")
    if mode in ("json_object", "json_schema"):
        for choice in body["choices"]:
            if choice["message"].get("content") is not None:
                choice["message"]["content"] = "Here is the JSON you asked for: " + choice["message"]["content"]


@hook("chat.stream.no-done", "events", "chat")
def _no_done(ctx: RequestContext, frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if f.data != "[DONE]"]


@hook("chat.stream.double-done", "events", "chat")
def _double_done(ctx: RequestContext, frames: list[Frame]) -> list[Frame]:
    return [*frames, Frame("[DONE]")]


@hook("chat.stream.error-after-start", "events", "chat")
def _error_after_start(ctx: RequestContext, frames: list[Frame]) -> list[Frame]:
    # new-api's controller/relay.go writes a relay error with c.JSON even when the 200 stream has begun:
    # the JSON body lands after the events already sent, outside SSE framing, with no [DONE]
    content = [f for f in frames if isinstance(f.data, dict) and f.data.get("choices")][:2]
    error = {"error": {"message": f"upstream stream broke off (request id: {ctx.request_id})",
                       "type": "new_api_error", "param": "", "code": "bad_response_body"}}
    return [*content, Frame(raw=dumps(error))]


@hook("chat.stream.changing-id", "events", "chat")
def _changing_id(ctx: RequestContext, frames: list[Frame]) -> None:
    for i, chunk in enumerate(_data(frames)):
        chunk["id"] = ctx.make_id("chatcmpl-", f"chunk-{i}")


@hook("chat.stream.no-finish-reason", "events", "chat")
def _no_finish(ctx: RequestContext, frames: list[Frame]) -> None:
    for chunk in _data(frames):
        for choice in chunk["choices"]:
            choice["finish_reason"] = None


@hook("chat.stream.no-usage-chunk", "events", "chat")
def _no_usage_chunk(ctx: RequestContext, frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if not (isinstance(f.data, dict) and f.data.get("choices") == [])]


@hook("chat.stream.tool-index-from-1", "events", "chat")
def _tool_index(ctx: RequestContext, frames: list[Frame]) -> None:
    for chunk in _data(frames):
        for choice in chunk["choices"]:
            for call in choice["delta"].get("tool_calls") or []:
                call["index"] += 1


@hook("chat.stream.role-every-chunk", "events", "chat")
def _role_everywhere(ctx: RequestContext, frames: list[Frame]) -> None:
    for chunk in _data(frames):
        for choice in chunk["choices"]:
            choice["delta"]["role"] = "assistant"


@hook("chat.stream.bad-chunk-field", "events", "chat")
def _string_created(ctx: RequestContext, frames: list[Frame]) -> None:
    for chunk in _data(frames):
        chunk["created"] = str(chunk["created"])


@hook("chat.stream.finish-differs", "events", "chat")
def _finish_differs(ctx: RequestContext, frames: list[Frame]) -> None:
    for chunk in _data(frames):
        for choice in chunk["choices"]:
            if choice["finish_reason"] == "stop":
                choice["finish_reason"] = "length"


@hook("chat.stream.tool-args-invalid", "events", "chat")
def _stream_args_dropped(ctx: RequestContext, frames: list[Frame]) -> None:
    # The call is announced with "{}" and the argument fragments that follow are emptied.
    for chunk in _data(frames):
        for choice in chunk["choices"]:
            for call in choice["delta"].get("tool_calls") or []:
                if "function" in call:
                    call["function"]["arguments"] = "{}" if "id" in call else ""


@hook("chat.hides-truncation", "body", "chat")
def _chat_hides_truncation(ctx: RequestContext, body: dict[str, Any]) -> None:
    for choice in body.get("choices", []):
        if choice.get("finish_reason") == "length":
            choice["finish_reason"] = "stop"


# --- responses -----------------------------------------------------------------------------------------


@hook("responses.hides-truncation", "body", "responses")
def _responses_hides_truncation(ctx: RequestContext, body: dict[str, Any]) -> None:
    if body.get("status") == "incomplete":
        body["status"], body["incomplete_details"] = "completed", None

hook("responses.usage-missing", "body", "responses")(_dropping("usage"))


@hook("responses.empty-output-text", "body", "responses")
def _empty_output_text(ctx: RequestContext, body: dict[str, Any]) -> None:
    for item in body.get("output", []):
        for part in item.get("content") or []:
            if part.get("type") == "output_text":
                part["text"] = ""


@hook("responses.tool-args-invalid", "body", "responses")
def _responses_args(ctx: RequestContext, body: dict[str, Any]) -> None:
    for item in body.get("output", []):
        if item.get("type") == "function_call":
            item["arguments"] = "{}"


@hook("responses.compact-wrong-object", "body", "responses.compact")
def _compact_object(ctx: RequestContext, body: dict[str, Any]) -> None:
    body["object"] = "response"


def _terminal(frames: list[Frame]) -> dict[str, Any]:
    """The response object of the stream's terminal event (response.completed / response.incomplete)."""
    for data in reversed(list(_data(frames))):
        if data.get("type") in ("response.completed", "response.incomplete"):
            return data["response"]
    return {}


@hook("responses.usage-missing", "events", "responses")
def _responses_stream_usage(ctx: RequestContext, frames: list[Frame]) -> None:
    _terminal(frames).pop("usage", None)


@hook("responses.seq-not-increasing", "events", "responses")
def _seq(ctx: RequestContext, frames: list[Frame]) -> None:
    first, second = list(_data(frames))[2:4]
    first["sequence_number"], second["sequence_number"] = second["sequence_number"], first["sequence_number"]


@hook("responses.completed-empty-output", "events", "responses")
def _empty_output(ctx: RequestContext, frames: list[Frame]) -> None:
    terminal = _terminal(frames)
    if terminal:
        terminal["output"] = []


@hook("responses.no-terminal-event", "events", "responses")
def _no_terminal(ctx: RequestContext, frames: list[Frame]) -> list[Frame]:
    terminal = ("response.completed", "response.incomplete")
    return [f for f in frames if not (isinstance(f.data, dict) and f.data.get("type") in terminal)]


@hook("responses.bad-event-field", "events", "responses")
def _string_output_index(ctx: RequestContext, frames: list[Frame]) -> None:
    for data in _data(frames):
        if data.get("type") == "response.output_text.delta":
            data["output_index"] = str(data["output_index"])


@hook("responses.changing-id", "events", "responses")
def _changing_response_id(ctx: RequestContext, frames: list[Frame]) -> None:
    # The gateway names the stream with its own id, and passes the upstream's id through at the end.
    terminal = _terminal(frames)
    if terminal:
        terminal["id"] = ctx.make_id("resp_", "upstream")


@hook("responses.text-mismatch", "events", "responses")
def _text_mismatch(ctx: RequestContext, frames: list[Frame]) -> None:
    for item in _terminal(frames).get("output", []):
        for part in item.get("content") or []:
            if part.get("type") == "output_text":
                part["text"] += " (edited)"


# --- messages ------------------------------------------------------------------------------------------

hook("messages.no-usage", "body", "messages")(_dropping("usage"))


@hook("messages.bad-stop-reason", "body", "messages")
def _stop_reason(ctx: RequestContext, body: dict[str, Any]) -> None:
    body["stop_reason"] = "stop"


@hook("messages.bad-stop-reason", "events", "messages")
def _stream_stop_reason(ctx: RequestContext, frames: list[Frame]) -> None:
    for data in _data(frames):
        if data["type"] == "message_delta":
            data["delta"]["stop_reason"] = "stop"


@hook("messages.no-usage", "events", "messages")
def _stream_no_usage(ctx: RequestContext, frames: list[Frame]) -> None:
    for data in _data(frames):
        if data["type"] == "message_start":
            data["message"].pop("usage", None)
        elif data["type"] == "message_delta":
            data.pop("usage", None)


@hook("messages.missing-stops", "events", "messages")
def _missing_stops(ctx: RequestContext, frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if f.event not in ("content_block_stop", "message_stop")]


@hook("messages.noncontiguous-index", "events", "messages")
def _block_index(ctx: RequestContext, frames: list[Frame]) -> None:
    for data in _data(frames):
        if data["type"].startswith("content_block_"):
            data["index"] += 1


@hook("messages.empty-text", "body", "messages")
def _empty_text(ctx: RequestContext, body: dict[str, Any]) -> None:
    for block in body["content"]:
        if block["type"] == "text":
            block["text"] = ""


@hook("messages.empty-text", "events", "messages")
def _stream_empty_text(ctx: RequestContext, frames: list[Frame]) -> None:
    for data in _data(frames):
        if data.get("delta", {}).get("type") == "text_delta":
            data["delta"]["text"] = ""


@hook("messages.stream-restarts", "events", "messages")
def _restart(ctx: RequestContext, frames: list[Frame]) -> list[Frame]:
    # A mid-stream channel retry: the partial answer is left standing and a second message follows.
    first_delta = next(i for i, f in enumerate(frames) if f.event == "content_block_delta")
    again = copy.deepcopy(frames)
    again[0].data["message"]["id"] = ctx.make_id("msg_", "retry")
    return [*frames[: first_delta + 1], *again]


@hook("messages.input-json-broken", "events", "messages")
def _broken_json(ctx: RequestContext, frames: list[Frame]) -> None:
    deltas = [d for d in _data(frames) if d.get("delta", {}).get("type") == "input_json_delta"]
    if deltas:
        deltas[-1]["delta"]["partial_json"] = deltas[-1]["delta"]["partial_json"][:-1]


# --- gemini (the same edit on a whole answer or on each streamed chunk) ---------------------------------


def _per_chunk(edit: Callable[[dict[str, Any]], None]) -> tuple[Hook, Hook]:
    def on_body(ctx: RequestContext, body: dict[str, Any]) -> None:
        edit(body)

    def on_events(ctx: RequestContext, frames: list[Frame]) -> None:
        for data in _data(frames):
            edit(data)

    return on_body, on_events


def _role_assistant(chunk: dict[str, Any]) -> None:
    for candidate in chunk.get("candidates", []):
        candidate.get("content", {})["role"] = "assistant"


def _usage_off_by_one(chunk: dict[str, Any]) -> None:
    if "usageMetadata" in chunk:
        chunk["usageMetadata"]["totalTokenCount"] += 1


def _no_finish_reason(chunk: dict[str, Any]) -> None:
    for candidate in chunk.get("candidates", []):
        candidate.pop("finishReason", None)


def _empty_parts_text(chunk: dict[str, Any]) -> None:
    for candidate in chunk.get("candidates", []):
        for part in candidate.get("content", {}).get("parts", []):
            if "text" in part:
                part["text"] = ""


def _hides_truncation(chunk: dict[str, Any]) -> None:
    for candidate in chunk.get("candidates", []):
        if candidate.get("finishReason") == "MAX_TOKENS":
            candidate["finishReason"] = "STOP"


for _name, _edit in (
    ("gemini.hides-truncation", _hides_truncation),
    ("gemini.role-assistant", _role_assistant),
    ("gemini.usage-arithmetic", _usage_off_by_one),
    ("gemini.no-finish-reason", _no_finish_reason),
    ("gemini.empty-text", _empty_parts_text),
):
    _on_body, _on_events = _per_chunk(_edit)
    hook(_name, "body", "gemini")(_on_body)
    hook(_name, "events", "gemini")(_on_events)




@hook("gemini.changing-response-id", "events", "gemini")
def _changing_response_id_gemini(ctx: RequestContext, frames: list[Frame]) -> None:
    for i, chunk in enumerate(_data(frames)):
        chunk["responseId"] = ctx.make_id("", f"gemini-response-{i}")


@hook("gemini.error-mid-stream", "events", "gemini")
def _error_mid_stream(ctx: RequestContext, frames: list[Frame]) -> list[Frame]:
    # An upstream error relayed as an element, then the chunks of a retry on another channel.
    error = {"error": {"code": 503, "message": "The model is overloaded. Please try again later.",
                       "status": "UNAVAILABLE"}}
    return [*frames[:1], Frame(error), *frames]


# --- embeddings, rerank, images, model listing -----------------------------------------------------------


@hook("embeddings.wrong-index", "body", "embeddings")
def _embedding_index(ctx: RequestContext, body: dict[str, Any]) -> None:
    for item in body["data"]:
        item["index"] += 1


@hook("embeddings.fewer-vectors", "body", "embeddings")
def _first_vector_only(ctx: RequestContext, body: dict[str, Any]) -> None:
    del body["data"][1:]


hook("embeddings.no-usage", "body", "embeddings")(_dropping("usage"))


@hook("rerank.unsorted", "body", "rerank")
def _unsorted(ctx: RequestContext, body: dict[str, Any]) -> None:
    body["results"].reverse()


@hook("rerank.duplicate-index", "body", "rerank")
def _duplicate_index(ctx: RequestContext, body: dict[str, Any]) -> None:
    if len(body["results"]) >= 2:
        body["results"][1]["index"] = body["results"][0]["index"]


@hook("images.b64-not-image", "body", "images")
def _not_image(ctx: RequestContext, body: dict[str, Any]) -> None:
    for item in body["data"]:
        if "b64_json" in item:
            item["b64_json"] = base64.b64encode(b"this is not an image").decode("ascii")


@hook("images.url-relative", "body", "images")
def _relative_url(ctx: RequestContext, body: dict[str, Any]) -> None:
    for item in body["data"]:
        if "url" in item:
            item["url"] = "/" + item["url"].split("/", 3)[3]


@hook("models.claims-everything", "body", "models.list", "models.retrieve")
def _claims_everything(ctx: RequestContext, body: dict[str, Any]) -> None:
    entries = body.get("data")
    if not isinstance(entries, list):
        entries = [body]
    for entry in entries:
        if isinstance(entry, dict) and "supported_endpoint_types" in entry:
            entry["supported_endpoint_types"] = list(ENDPOINT_TYPES)


@hook("models.retrieve-wrong-model", "body", "models.retrieve")
def _wrong_model(ctx: RequestContext, body: dict[str, Any]) -> None:
    asked = body.get("id") or str(body.get("name", "")).removeprefix("models/")
    other = next(m.id for m in ctx.state.catalog.values() if m.id != asked)
    if "id" in body:
        body["id"] = other
    if "name" in body:
        body["name"] = f"models/{other}"


@hook("models.duplicate-ids", "body", "models.list")
def _duplicate_ids(ctx: RequestContext, body: dict[str, Any]) -> None:
    entries = body.get("data", body.get("models"))
    if entries:
        entries.append(dict(entries[0]))


@hook("models.bad-shape", "body", "models.list")
def _bad_shape(ctx: RequestContext, body: dict[str, Any]) -> None:
    body.pop("object", None)


# The subtler faults (issue 16) register their hooks with ``hook`` above.
from . import subtle_faults  # noqa: E402,F401
