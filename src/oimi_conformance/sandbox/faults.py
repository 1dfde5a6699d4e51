"""How the body- and stream-level deviations behave: one small function per deviation.

Handlers call three hooks, once each, and never test a deviation name themselves:
- ``apply("request", ctx, body)``  rewrites the request before it is read (the "ignores X" faults);
- ``apply("body", ctx, body)``     edits a non-streamed answer;
- ``apply("events", ctx, frames)`` edits a stream's frames before they are encoded.
A function runs only when its deviation is active and ``ctx.endpoint`` is one it is registered for.
Deviations about auth, error envelopes, delivery and robustness live in ``access.py``, ``errors.py``,
``wire.py`` and ``app.py``, where they apply.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

from .context import RequestContext
from .wire import Frame

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


# --- responses -----------------------------------------------------------------------------------------

hook("responses.usage-missing", "body", "responses")(_dropping("usage"))


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


for _name, _edit in (
    ("gemini.role-assistant", _role_assistant),
    ("gemini.usage-arithmetic", _usage_off_by_one),
    ("gemini.no-finish-reason", _no_finish_reason),
):
    _on_body, _on_events = _per_chunk(_edit)
    hook(_name, "body", "gemini")(_on_body)
    hook(_name, "events", "gemini")(_on_events)


# --- embeddings, rerank, images, model listing -----------------------------------------------------------


@hook("embeddings.wrong-index", "body", "embeddings")
def _embedding_index(ctx: RequestContext, body: dict[str, Any]) -> None:
    for item in body["data"]:
        item["index"] += 1


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


@hook("models.duplicate-ids", "body", "models.list")
def _duplicate_ids(ctx: RequestContext, body: dict[str, Any]) -> None:
    entries = body.get("data", body.get("models"))
    if entries:
        entries.append(dict(entries[0]))


@hook("models.bad-shape", "body", "models.list")
def _bad_shape(ctx: RequestContext, body: dict[str, Any]) -> None:
    body.pop("object", None)
