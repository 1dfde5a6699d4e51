"""One answer of any generation protocol, reduced to what the semantic checks compare.

Accounting, stream increments and stream/non-stream agreement ask the same questions of chat, Responses,
Messages and Gemini answers: what text came out, in which pieces, how many tokens were billed for it, and
which model the answer names. This module reads those facts once per kind, from a parsed body or from a
stream's events, so the checks stay one rule each and run on recorded real traffic too
(tests/test_subtle_real_traffic.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..kinds import get_kind, reader_for
from ..stream_limits import read_all

GENERATION_KINDS = (
    "openai.chat.completion", "openai.chat.completion.stream", "openai.responses", "openai.responses.stream",
    "anthropic.messages", "anthropic.messages.stream", "gemini.generate_content", "gemini.stream.sse",
    "gemini.stream.json_array",
)
STREAM_KINDS = tuple(k for k in GENERATION_KINDS if ".stream" in k)


@dataclass
class Answer:
    """What one answer says. Token counts are None when the answer does not report them."""

    kind: str
    text: str = ""  # visible output: message text, tool arguments, thinking text
    deltas: dict[str, list[str]] = field(default_factory=dict)  # stream: text pieces per channel, in order
    input_tokens: int | None = None
    output_tokens: int | None = None
    hidden_tokens: int = 0  # reasoning billed as output but never shown (reasoning_tokens, thoughtsTokenCount)
    tool_calls: int = 0  # each costs framing tokens beyond its arguments' text
    tool_names: list[str] = field(default_factory=list)  # the tools called, in order
    finish: dict[str, Any] = field(default_factory=dict)  # choice / candidate -> why it ended (last word wins)
    opaque: bool = False  # output with no text to measure (images, audio, hosted tool calls)
    hidden_included: bool = True  # hidden_tokens is part of output_tokens (OpenAI), or billed beside it (Gemini)
    models: list[str] = field(default_factory=list)  # every model name the answer (or its events) states
    first_chunk_roles: dict[int, Any] = field(default_factory=dict)  # chat streams: choice -> delta.role
    event_lines: list[tuple[str | None, Any]] = field(default_factory=list)  # SSE: (event: line, data type)

    @property
    def stream(self) -> bool:
        return self.kind in STREAM_KINDS

    @property
    def said_nothing(self) -> bool:
        """Nothing was read: a body of ``{}``, or a stream with no event. No evidence for any comparison."""
        return not (self.text or self.deltas or self.tool_names or self.tool_calls or self.finish or self.models
                    or self.first_chunk_roles or self.event_lines or self.opaque
                    or self.input_tokens is not None or self.output_tokens is not None)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _sum(*values: Any) -> int | None:
    ints = [v for v in (_int(x) for x in values) if v is not None]
    return sum(ints) if ints else None


def _json_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def stream_values(kind: str, body: bytes) -> tuple[list[Any], list[str | None]]:
    """A recorded stream's events as JSON values, with each SSE event's ``event:`` line (None in JSON-array
    framing or when absent). Events that are not JSON ([DONE], garbage) are left out."""
    framing = get_kind(kind).framing
    transcript = read_all(body, reader_for(framing))
    values: list[Any] = []
    names: list[str | None] = []
    for item in transcript.items:
        if framing == "sse":
            try:
                values.append(json.loads(item.data))
            except (ValueError, TypeError, RecursionError):
                continue
            names.append(item.event)
        else:
            values.append(item.value)
            names.append(None)
    return values, names


def read_answer(kind: str, body: bytes | str) -> Answer | None:
    """The answer of a generation kind, or None for other kinds and bodies that are not what they claim."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    answer = Answer(kind)
    if kind in STREAM_KINDS:
        values, names = stream_values(kind, raw)
        answer.event_lines = [(n, v.get("type") if isinstance(v, dict) else None)
                              for n, v in zip(names, values, strict=True)]
        events = [v for v in values if isinstance(v, dict)]
        READERS[kind](answer, events)
    elif kind in GENERATION_KINDS:
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
        if not isinstance(value, dict):
            return None
        READERS[kind](answer, [value])
    else:
        return None
    answer.text = "".join("".join(pieces) for pieces in answer.deltas.values()) if answer.stream else answer.text
    return answer


def _tool_name(answer: Answer, name: Any) -> None:
    if isinstance(name, str) and name:
        answer.tool_names.append(name)


def _model(answer: Answer, value: Any) -> None:
    if isinstance(value, str) and value:
        answer.models.append(value)


# -- OpenAI chat ---------------------------------------------------------------------------------------------

def _chat_usage(answer: Answer, usage: Any) -> None:
    if isinstance(usage, dict):
        answer.input_tokens = _int(usage.get("prompt_tokens"))
        answer.output_tokens = _int(usage.get("completion_tokens"))
        details = usage.get("completion_tokens_details")
        if isinstance(details, dict):
            answer.hidden_tokens = sum(_int(details.get(k)) or 0 for k in ("reasoning_tokens", "audio_tokens"))


def _chat(answer: Answer, events: list[dict]) -> None:
    body = events[0]
    _model(answer, body.get("model"))
    parts = []
    for choice in body.get("choices") or []:
        message = (choice or {}).get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict):
            parts += [message[k] for k in ("content", "reasoning_content") if isinstance(message.get(k), str)]
            for call in message.get("tool_calls") or []:
                fn = call.get("function") if isinstance(call, dict) else None
                answer.tool_calls += 1
                if isinstance(fn, dict):
                    _tool_name(answer, fn.get("name"))
                    parts.append(_json_text(fn.get("arguments")))
            answer.opaque = answer.opaque or bool(message.get("audio") or message.get("images"))
    answer.text = "".join(parts)
    _chat_usage(answer, body.get("usage"))


def _chat_stream(answer: Answer, events: list[dict]) -> None:
    for data in events:
        _model(answer, data.get("model"))
        if data.get("usage"):
            _chat_usage(answer, data.get("usage"))
        for choice in data.get("choices") or []:
            if not isinstance(choice, dict) or not isinstance(choice.get("index"), int):
                continue
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                delta = {}
            idx = choice["index"]
            answer.first_chunk_roles.setdefault(idx, delta.get("role"))
            if isinstance(delta.get("content"), str):
                answer.deltas.setdefault(f"choice {idx}", []).append(delta["content"])
            if isinstance(delta.get("reasoning_content"), str):
                answer.deltas.setdefault(f"choice {idx} reasoning", []).append(delta["reasoning_content"])
            for call in delta.get("tool_calls") or []:
                fn = call.get("function") if isinstance(call, dict) else None
                answer.tool_calls += bool(isinstance(call, dict) and call.get("id"))
                _tool_name(answer, fn.get("name") if isinstance(fn, dict) else None)
                if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                    answer.deltas.setdefault(f"choice {idx} tool {call.get('index')}", []).append(fn["arguments"])


# -- OpenAI Responses ----------------------------------------------------------------------------------------

def _responses_usage(answer: Answer, usage: Any) -> None:
    if isinstance(usage, dict):
        answer.input_tokens = _int(usage.get("input_tokens"))
        answer.output_tokens = _int(usage.get("output_tokens"))
        details = usage.get("output_tokens_details")
        if isinstance(details, dict):
            answer.hidden_tokens = _int(details.get("reasoning_tokens")) or 0


def _responses_text(answer: Answer, response: dict) -> str:
    parts = []
    for item in response.get("output") or []:
        if not isinstance(item, dict):
            continue
        if item.get("type") not in ("message", "reasoning"):
            answer.tool_calls += 1
            _tool_name(answer, item.get("name"))
        if item.get("type") not in ("message", "reasoning", "function_call", "custom_tool_call"):
            answer.opaque = True  # hosted tools (image generation, search, code) bill tokens for work not shown
        for content in item.get("content") or []:
            if isinstance(content, dict) and isinstance(content.get("text"), str):
                parts.append(content["text"])
        for summary in item.get("summary") or []:
            if isinstance(summary, dict) and isinstance(summary.get("text"), str):
                parts.append(summary["text"])
        if isinstance(item.get("arguments"), str):
            parts.append(item["arguments"])
        if isinstance(item.get("input"), str):
            parts.append(item["input"])
    return "".join(parts)


def _responses(answer: Answer, events: list[dict]) -> None:
    body = events[0]
    _model(answer, body.get("model"))
    answer.text = _responses_text(answer, body)
    _responses_usage(answer, body.get("usage"))


DELTA_EVENTS = ("response.output_text.delta", "response.function_call_arguments.delta",
                "response.reasoning_summary_text.delta", "response.reasoning_text.delta")


def _responses_stream(answer: Answer, events: list[dict]) -> None:
    for data in events:
        kind = data.get("type")
        response = data.get("response")
        if isinstance(response, dict):
            _model(answer, response.get("model"))
            if response.get("usage"):
                _responses_usage(answer, response.get("usage"))
        if kind == "response.output_item.added" and isinstance(data.get("item"), dict):
            _responses_text(answer, {"output": [data["item"]]})
        if kind in DELTA_EVENTS and isinstance(data.get("delta"), str):
            part = data.get("content_index", data.get("summary_index"))
            channel = f"{kind.rsplit('.', 1)[0]} {data.get('output_index')}/{part}"
            answer.deltas.setdefault(channel, []).append(data["delta"])


# -- Anthropic Messages --------------------------------------------------------------------------------------

def _messages_usage(answer: Answer, usage: Any, *, output_only: bool = False) -> None:
    if not isinstance(usage, dict):
        return
    # prompt caching moves input tokens into the cache counts: billed input is the sum
    total_in = _sum(usage.get("input_tokens"), usage.get("cache_creation_input_tokens"),
                    usage.get("cache_read_input_tokens"))
    if total_in is not None and not (output_only and total_in == 0):
        answer.input_tokens = total_in
    if _int(usage.get("output_tokens")) is not None:
        answer.output_tokens = _int(usage.get("output_tokens"))


def _messages(answer: Answer, events: list[dict]) -> None:
    body = events[0]
    _model(answer, body.get("model"))
    if body.get("stop_reason") is not None:
        answer.finish["message"] = body.get("stop_reason")
    parts = []
    for block in body.get("content") or []:
        if not isinstance(block, dict):
            continue
        for key in ("text", "thinking"):
            if isinstance(block.get(key), str):
                parts.append(block[key])
        if block.get("type") in ("tool_use", "server_tool_use") and "input" in block:
            answer.tool_calls += 1
            _tool_name(answer, block.get("name"))
            parts.append(_json_text(block.get("input")))
        if block.get("type") not in ("text", "thinking", "tool_use", "redacted_thinking"):
            answer.opaque = True
    answer.text = "".join(parts)
    _messages_usage(answer, body.get("usage"))


def _messages_stream(answer: Answer, events: list[dict]) -> None:
    for data in events:
        kind = data.get("type")
        if kind == "message_start" and isinstance(data.get("message"), dict):
            _model(answer, data["message"].get("model"))
            _messages_usage(answer, data["message"].get("usage"))
        elif kind == "message_delta":
            if isinstance(data.get("delta"), dict) and data["delta"].get("stop_reason") is not None:
                answer.finish["message"] = data["delta"]["stop_reason"]
            # message_delta's usage is cumulative; its input counts, when present, restate message_start's
            _messages_usage(answer, data.get("usage"), output_only=True)
        elif kind == "content_block_start" and isinstance(data.get("content_block"), dict):
            block = data["content_block"]
            answer.tool_calls += block.get("type") in ("tool_use", "server_tool_use")
            if block.get("type") in ("tool_use", "server_tool_use"):
                _tool_name(answer, block.get("name"))
            answer.opaque = answer.opaque or block.get("type") not in ("text", "thinking", "tool_use",
                                                                          "redacted_thinking")
            for key in ("text", "thinking"):
                if isinstance(block.get(key), str) and block[key]:
                    answer.deltas.setdefault(f"block {data.get('index')}", []).append(block[key])
        elif kind == "content_block_delta" and isinstance(data.get("delta"), dict):
            delta = data["delta"]
            for key in ("text", "thinking", "partial_json"):
                if isinstance(delta.get(key), str):
                    answer.deltas.setdefault(f"block {data.get('index')} {key}", []).append(delta[key])


# -- Gemini --------------------------------------------------------------------------------------------------

def _gemini_chunk(answer: Answer, data: dict, stream: bool) -> None:
    _model(answer, data.get("modelVersion"))
    for n, candidate in enumerate(data.get("candidates") or []):
        if not isinstance(candidate, dict):
            continue
        content = candidate.get("content")
        if not isinstance(content, dict):
            content = {}
        idx = candidate.get("index", n)
        if candidate.get("finishReason") is not None:
            answer.finish[f"candidate {idx}"] = candidate["finishReason"]
        for part in content.get("parts") or []:
            if not isinstance(part, dict) or part.get("thought"):
                continue  # thought summaries are billed as thoughtsTokenCount, not candidatesTokenCount
            piece = part.get("text")
            if not isinstance(piece, str):
                piece = ""
            if "functionCall" in part:
                answer.tool_calls += 1
                _tool_name(answer, (part.get("functionCall") or {}).get("name"))
                piece += _json_text((part.get("functionCall") or {}).get("args"))
            if not ({"text", "functionCall"} & part.keys()):
                answer.opaque = True  # inlineData, executableCode, codeExecutionResult...
            if stream:
                answer.deltas.setdefault(f"candidate {idx}", []).append(piece)
            else:
                answer.text += piece
    usage = data.get("usageMetadata")
    if isinstance(usage, dict):
        # each streamed chunk restates the running totals: the last one wins
        if _int(usage.get("promptTokenCount")) is not None:
            answer.input_tokens = _int(usage.get("promptTokenCount"))
        if "candidatesTokenCount" in usage or answer.output_tokens is None:
            answer.output_tokens = _int(usage.get("candidatesTokenCount"))
        answer.hidden_tokens = _int(usage.get("thoughtsTokenCount")) or 0
        answer.hidden_included = False


def _gemini(answer: Answer, events: list[dict]) -> None:
    _gemini_chunk(answer, events[0], stream=False)


def _gemini_stream(answer: Answer, events: list[dict]) -> None:
    for data in events:
        _gemini_chunk(answer, data, stream=True)


READERS = {
    "openai.chat.completion": _chat, "openai.chat.completion.stream": _chat_stream,
    "openai.responses": _responses, "openai.responses.stream": _responses_stream,
    "anthropic.messages": _messages, "anthropic.messages.stream": _messages_stream,
    "gemini.generate_content": _gemini, "gemini.stream.sse": _gemini_stream,
    "gemini.stream.json_array": _gemini_stream,
}
