"""Small valid bodies of every kind, and helpers to frame streams, for rule-by-rule tests.

Each body is the smallest one that conforms; a test breaks exactly one rule of it.
"""

from __future__ import annotations

import copy
import json
from typing import Any


def sse(events: list[Any], *, named: bool = False, done: bool = False) -> str:
    """Frame events as SSE text: ``event:`` lines when ``named`` (from each event's type), [DONE] when ``done``."""
    out = []
    for event in events:
        data = event if isinstance(event, str) else json.dumps(event)
        if named and isinstance(event, dict):
            out.append(f"event: {event['type']}\ndata: {data}\n\n")
        else:
            out.append(f"data: {data}\n\n")
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out)


def json_array(events: list[Any]) -> str:
    return "[" + ",\r\n".join(json.dumps(e, indent=1) for e in events) + "]"


USAGE = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}

CHAT_COMPLETION = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there"},
                 "finish_reason": "stop", "logprobs": None}],
    "usage": USAGE,
}


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, *, index: int = 0,
          cid: str = "chatcmpl-1") -> dict[str, Any]:
    return {"id": cid, "object": "chat.completion.chunk", "created": 1700000000, "model": "m",
            "choices": [{"index": index, "delta": delta or {}, "finish_reason": finish}]}


def usage_chunk(cid: str = "chatcmpl-1") -> dict[str, Any]:
    return {"id": cid, "object": "chat.completion.chunk", "created": 1700000000, "model": "m",
            "choices": [], "usage": USAGE}


def chat_stream_events() -> list[Any]:
    return [chunk({"role": "assistant", "content": ""}), chunk({"content": "Hel"}), chunk({"content": "lo"}),
            chunk({}, "stop"), usage_chunk()]


def tool_call(index: int, *, cid: str | None = "call_1", name: str | None = "get_weather",
              args: str = "") -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": args}}
    if cid is not None:
        call["id"] = cid
        call["type"] = "function"
    if name is not None:
        call["function"]["name"] = name
    return call


def chat_tool_stream_events() -> list[Any]:
    return [chunk({"role": "assistant", "content": None, "tool_calls": [tool_call(0)]}),
            chunk({"tool_calls": [tool_call(0, cid=None, name=None, args='{"city"')]}),
            chunk({"tool_calls": [tool_call(0, cid=None, name=None, args=': "Paris"}')]}),
            chunk({}, "tool_calls")]


ANTHROPIC_MESSAGE = {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
    "content": [{"type": "text", "text": "Hello"}], "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 5, "output_tokens": 1},
}


def anthropic_stream_events(tool: bool = False) -> list[dict[str, Any]]:
    start = copy.deepcopy(ANTHROPIC_MESSAGE)
    start.update(content=[], stop_reason=None)
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}},
        {"type": "content_block_stop", "index": 0},
    ]
    if tool:
        events += [
            {"type": "content_block_start", "index": 1,
             "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}},
            {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"ci'}},
            {"type": "content_block_delta", "index": 1,
             "delta": {"type": "input_json_delta", "partial_json": 'ty": "Paris"}'}},
            {"type": "content_block_stop", "index": 1},
        ]
    events += [
        {"type": "message_delta", "delta": {"stop_reason": "tool_use" if tool else "end_turn", "stop_sequence": None},
         "usage": {"output_tokens": 2}},
        {"type": "message_stop"},
    ]
    return events


def _response(status: str, output: list[Any], usage: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "resp_1", "object": "response", "created_at": 1700000000, "status": status, "model": "m",
        "output": output, "error": None, "incomplete_details": None,
    }
    body["usage"] = ({"input_tokens": 5, "output_tokens": 2, "total_tokens": 7,
                      "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens_details": {"reasoning_tokens": 0}} if usage else None)
    return body


def message_item(text: str, status: str = "completed") -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": []}] if status == "completed" else []
    return {"id": "msg_1", "type": "message", "role": "assistant", "status": status, "content": content}


RESPONSE = _response("completed", [message_item("Hello")], usage=True)


def responses_stream_events() -> list[dict[str, Any]]:
    part = {"type": "output_text", "text": "", "annotations": []}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response("in_progress", [], usage=False)},
        {"type": "response.in_progress", "response": _response("in_progress", [], usage=False)},
        {"type": "response.output_item.added", "output_index": 0, "item": message_item("", "in_progress")},
        {"type": "response.content_part.added", "item_id": "msg_1", "output_index": 0, "content_index": 0,
         "part": part},
        {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0,
         "delta": "Hel", "logprobs": []},
        {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0,
         "delta": "lo", "logprobs": []},
        {"type": "response.output_text.done", "item_id": "msg_1", "output_index": 0, "content_index": 0,
         "text": "Hello", "logprobs": []},
        {"type": "response.content_part.done", "item_id": "msg_1", "output_index": 0, "content_index": 0,
         "part": {**part, "text": "Hello"}},
        {"type": "response.output_item.done", "output_index": 0, "item": message_item("Hello")},
        {"type": "response.completed", "response": copy.deepcopy(RESPONSE)},
    ]
    for n, event in enumerate(events):
        event["sequence_number"] = n
    return events


GEMINI_RESPONSE = {
    "candidates": [{"content": {"role": "model", "parts": [{"text": "Hello"}]}, "finishReason": "STOP", "index": 0}],
    "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1, "totalTokenCount": 6},
    "modelVersion": "gemini-x", "responseId": "r1",
}


def gemini_stream_events() -> list[dict[str, Any]]:
    first = copy.deepcopy(GEMINI_RESPONSE)
    first["candidates"][0].pop("finishReason")
    first["candidates"][0]["content"]["parts"] = [{"text": "Hel"}]
    last = copy.deepcopy(GEMINI_RESPONSE)
    last["candidates"][0]["content"]["parts"] = [{"text": "lo"}]
    return [first, last]


EMBEDDINGS = {"object": "list", "model": "m", "usage": {"prompt_tokens": 2, "total_tokens": 2},
              "data": [{"object": "embedding", "index": 0, "embedding": [0.1, -0.2, 0.3]}]}
IMAGES = {"created": 1700000000, "data": [{"b64_json": "iVBORw0KGgo="}]}
MODELS = {"object": "list", "success": True, "data": [
    {"id": "m", "object": "model", "created": 1700000000, "owned_by": "oimi",
     "supported_endpoint_types": ["openai"]}]}
MODEL = {"id": "m", "object": "model", "created": 1700000000, "owned_by": "oimi"}
RERANK = {"results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.1}],
          "usage": {"total_tokens": 10}}
COMPACT = {"id": "resp_1", "object": "response.compaction", "created_at": 1700000000,
           "output": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                      {"type": "compaction", "id": "cmp_1", "encrypted_content": "gAAAA"}],
           "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7,
                     "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}}
ANTHROPIC_MODELS = {"data": [{"id": "claude-x", "type": "model", "display_name": "Claude X",
                              "created_at": "2025-01-01T00:00:00Z"}],
                    "first_id": "claude-x", "last_id": "claude-x", "has_more": False}
GEMINI_MODELS = {"models": [{"name": "models/gemini-x", "displayName": "Gemini X"}]}
ERROR_OPENAI = {"error": {"message": "Invalid token", "type": "new_api_error", "param": "", "code": ""}}
ERROR_ANTHROPIC = {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"}}
ERROR_GOOGLE = {"error": {"code": 400, "message": "API key not valid", "status": "INVALID_ARGUMENT"}}

VALID_JSON_BODIES: dict[str, dict[str, Any]] = {
    "openai.chat.completion": CHAT_COMPLETION,
    "openai.responses": RESPONSE,
    "openai.responses.compact": COMPACT,
    "openai.embeddings": EMBEDDINGS,
    "openai.images": IMAGES,
    "openai.models": MODELS,
    "openai.model": MODEL,
    "rerank": RERANK,
    "anthropic.messages": ANTHROPIC_MESSAGE,
    "anthropic.models": ANTHROPIC_MODELS,
    "gemini.generate_content": GEMINI_RESPONSE,
    "gemini.models": GEMINI_MODELS,
    "error.openai": ERROR_OPENAI,
    "error.anthropic": ERROR_ANTHROPIC,
    "error.google": ERROR_GOOGLE,
}


def valid_streams() -> dict[str, tuple[str, dict[str, Any] | None]]:
    """kind -> (body, request) of a small conforming stream."""
    return {
        "openai.chat.completion.stream": (sse(chat_stream_events(), done=True),
                                          {"stream_options": {"include_usage": True}}),
        "openai.responses.stream": (sse(responses_stream_events(), named=True), None),
        "anthropic.messages.stream": (sse(anthropic_stream_events(tool=True), named=True), None),
        "gemini.stream.sse": (sse(gemini_stream_events()), None),
        "gemini.stream.json_array": (json_array(gemini_stream_events()), None),
    }
