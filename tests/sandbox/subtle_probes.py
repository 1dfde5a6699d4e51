"""Probes of the issue-16 deviations (answers well formed but wrong), merged into PROBES of
test_sandbox_deviations.py: for each, a request whose answer shows the fault."""

from __future__ import annotations

from typing import Any

from .helpers import bearer, chat_body
from .test_sandbox_deviations import (
    GEMINI,
    MESSAGES,
    RERANK,
    STREAM_CHAT,
    STREAM_RESPONSES,
    TOOL,
    Answer,
    Probe,
    _chunks,
)

RESTRICTED = "sk-sandbox-restricted"
COUNT = "Count from one to five in words, with commas."
WEATHER = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                   "required": ["city"]}}


def _deltas(a: Answer) -> list[str]:
    return [c["choices"][0]["delta"]["content"] for c in _chunks(a)
            if c.get("choices") and isinstance(c["choices"][0].get("delta", {}).get("content"), str)]


def _cumulative(a: Answer) -> bool:
    so_far = ""
    for piece in _deltas(a):
        if len(so_far) >= 4 and piece.startswith(so_far) and len(piece) > len(so_far):
            return True
        so_far += piece
    return False


def _gemini_parts(a: Answer) -> list[dict[str, Any]]:
    return [p for c in a.json().get("candidates", []) for p in c["content"]["parts"]]


def _responses_text(a: Answer) -> str:
    return "".join(p.get("text", "") for item in a.json()["output"] for p in item.get("content", []))


def _stream_usage(a: Answer) -> dict[str, Any]:
    return next(c["usage"] for c in _chunks(a) if c.get("usage"))


def _stream_stop(a: Answer) -> Any:
    return next(c["delta"]["stop_reason"] for c in _chunks(a) if c.get("type") == "message_delta")


SUBTLE_PROBES: dict[str, Probe] = {
    "messages.stream-stop-differs": Probe(
        "POST", "/v1/messages", {**MESSAGES, "max_tokens": 2, "stream": True},
        shows=lambda a: _stream_stop(a) != "max_tokens",
    ),
    "errors.stack-trace": Probe(
        "POST", "/v1/chat/completions", {"model": "sandbox-omni"}, shows=lambda a: "Traceback" in a.text
    ),
    "chat.stream.cumulative-deltas": Probe("POST", "/v1/chat/completions", STREAM_CHAT, shows=_cumulative),
    "chat.stream.no-role": Probe(
        "POST", "/v1/chat/completions", STREAM_CHAT,
        shows=lambda a: not any("role" in ch.get("delta", {}) for c in _chunks(a) for ch in c.get("choices", [])),
    ),
    "chat.stream.upstream-model": Probe(
        "POST", "/v1/chat/completions", STREAM_CHAT,
        shows=lambda a: any(c.get("model") != "sandbox-omni" for c in _chunks(a)),
    ),
    "responses.no-event-lines": Probe(
        "POST", "/v1/responses", STREAM_RESPONSES, shows=lambda a: b"event:" not in a.raw
    ),
    "chat.usage-zero-output": Probe(
        "POST", "/v1/chat/completions", chat_body(), shows=lambda a: a.json()["usage"]["completion_tokens"] == 0
    ),
    "messages.usage-zero-input": Probe(
        "POST", "/v1/messages", MESSAGES, shows=lambda a: a.json()["usage"]["input_tokens"] == 0
    ),
    "chat.stream.usage-inflated": Probe(
        "POST", "/v1/chat/completions", STREAM_CHAT, shows=lambda a: _stream_usage(a)["completion_tokens"] >= 1000
    ),
    "rerank.raw-scores": Probe(
        "POST", "/v1/rerank", RERANK,
        shows=lambda a: any(not 0 <= r["relevance_score"] <= 1 for r in a.json()["results"]),
    ),
    "responses.previous-id-rejected": Probe(
        "POST", "/v1/responses", {"model": "sandbox-omni", "input": "hi", "previous_response_id": "resp_1"},
        shows=lambda a: a.status == 400 and "Unsupported parameter" in a.text,
    ),
    "auth.restricted-ignored-gemini": Probe(
        "POST", GEMINI, {"contents": [{"parts": [{"text": "hi"}]}]}, headers=bearer(RESTRICTED),
        shows=lambda a: a.status == 200,
    ),
    "auth.restricted-lists-everything": Probe(
        "GET", "/v1beta/models", headers={"x-goog-api-key": RESTRICTED}, shows=lambda a: len(a.json()["models"]) > 1
    ),
    "gemini.ignores-stop-sequences": Probe(
        "POST", GEMINI, {"contents": [{"parts": [{"text": COUNT}]}], "generationConfig": {"stopSequences": [","]}},
        shows=lambda a: any("," in p.get("text", "") for p in _gemini_parts(a)),
    ),
    "images.url-dead": Probe(
        "POST", "/v1/images/generations", {"model": "sandbox-image", "prompt": "cat", "response_format": "url"},
        shows=lambda a: "/sandbox-files/expired-" in a.json()["data"][0]["url"],
    ),
    "responses.json-mode-not-json": Probe(
        "POST", "/v1/responses",
        {"model": "sandbox-omni", "input": "a JSON object", "text": {"format": {"type": "json_object"}}},
        shows=lambda a: _responses_text(a).startswith("Sure!"),
    ),
    "gemini.json-mode-not-json": Probe(
        "POST", GEMINI,
        {"contents": [{"parts": [{"text": "a JSON object"}]}],
         "generationConfig": {"responseMimeType": "application/json"}},
        shows=lambda a: any(p.get("text", "").startswith("Sure!") for p in _gemini_parts(a)),
    ),
    "gemini.tool-args-invalid": Probe(
        "POST", GEMINI,
        {"contents": [{"parts": [{"text": "weather in Paris"}]}], "tools": [{"functionDeclarations": [WEATHER]}],
         "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}},
        shows=lambda a: any(p.get("functionCall", {}).get("args") == {} for p in _gemini_parts(a)),
    ),
    "chat.stream.tool-as-text": Probe(
        "POST", "/v1/chat/completions",
        chat_body(stream=True, tools=[TOOL], tool_choice={"type": "function", "function": {"name": "f"}}),
        shows=lambda a: not any(ch.get("delta", {}).get("tool_calls") for c in _chunks(a) for ch in c["choices"]),
    ),
}
