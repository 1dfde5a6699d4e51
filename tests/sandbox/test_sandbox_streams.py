"""The faithful sandbox's streams: framing, event order, cross-event rules, and real incremental delivery."""

from __future__ import annotations

import json

from .helpers import chat_body, parse_sse, timed_post
from .test_sandbox_endpoints import WEATHER_TOOL


def test_chat_stream_layout(client, lockstep):
    body = chat_body("one two three", stream=True, stream_options={"include_usage": True})
    got = lockstep.post(client, "/v1/chat/completions", body)
    assert got.status == 200 and got.headers["content-type"].startswith("text/event-stream")
    assert got.headers["x-oneapi-request-id"]
    events, comments = parse_sse(got.text)
    assert comments == ["PING"]
    assert events[-1].data == "[DONE]" and sum(e.data == "[DONE]" for e in events) == 1
    chunks = [e.json for e in events[:-1]]
    assert len({c["id"] for c in chunks}) == 1 and all(c["object"] == "chat.completion.chunk" for c in chunks)
    content = [c for c in chunks if c["choices"]]
    assert "role" in content[0]["choices"][0]["delta"]
    assert all("role" not in c["choices"][0]["delta"] for c in content[1:])
    assert [c["choices"][0]["finish_reason"] for c in content] == [None] * (len(content) - 1) + ["stop"]
    text = "".join(c["choices"][0]["delta"]["content"] for c in content)
    assert text == "Sandbox reply: one two three"
    usage = chunks[-1]
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 5
    assert usage["usage"]["total_tokens"] == usage["usage"]["prompt_tokens"] + usage["usage"]["completion_tokens"]
    # Real incremental delivery: read in lock-step, every event is its own read, not one burst.
    assert len(got.chunks) >= len(events)


def test_chat_stream_without_include_usage_has_no_usage_chunk(client):
    events, _ = parse_sse(timed_post(client, "/v1/chat/completions", chat_body("x", stream=True)).text)
    assert all(e.json["choices"] for e in events[:-1]) and all("usage" not in e.json for e in events[:-1])


def test_chat_stream_tool_call_deltas(client):
    got = timed_post(client, "/v1/chat/completions", chat_body("weather", stream=True, tools=[WEATHER_TOOL]))
    events, _ = parse_sse(got.text)
    deltas = [e.json["choices"][0] for e in events[:-1]]
    first = deltas[0]["delta"]["tool_calls"][0]
    assert first["index"] == 0 and first["id"].startswith("call_") and first["type"] == "function"
    assert first["function"] == {"name": "get_weather", "arguments": ""}
    later = [d["delta"]["tool_calls"][0] for d in deltas[1:]]
    assert all(set(t) == {"index", "function"} and t["index"] == 0 for t in later)
    arguments = json.loads("".join(t["function"]["arguments"] for t in later))
    assert arguments["unit"] == "celsius"
    assert deltas[-1]["finish_reason"] == "tool_calls"


def test_flaky_chat_stream_is_broken(client):
    events, _ = parse_sse(
        timed_post(client, "/v1/chat/completions", chat_body("a b c", model="sandbox-flaky", stream=True)).text
    )
    assert events and events[-1].data != "[DONE]"
    assert all(c["finish_reason"] is None for e in events for c in e.json["choices"])


def test_responses_stream(client, lockstep):
    got = lockstep.post(client, "/v1/responses", {"model": "sandbox-omni", "input": "alpha beta", "stream": True})
    events, comments = parse_sse(got.text)
    assert comments == ["PING"]
    types = [e.event for e in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    data = [e.json for e in events]
    assert [d["sequence_number"] for d in data] == list(range(len(data)))
    assert all(e.event == d["type"] for e, d in zip(events, data, strict=True))
    deltas = "".join(d["delta"] for d in data if d["type"] == "response.output_text.delta")
    completed = data[-1]["response"]
    assert completed["status"] == "completed" and completed["output"][0]["content"][0]["text"] == deltas
    assert deltas == "Sandbox reply: alpha beta" and completed["usage"]["output_tokens"] == 4
    assert len(got.chunks) >= len(events)  # read in lock-step: incremental delivery, one read per event


def test_responses_stream_incomplete_and_function_call(client):
    cut = parse_sse(
        timed_post(
            client, "/v1/responses", {"model": "sandbox-omni", "input": "a b c", "stream": True, "max_output_tokens": 1}
        ).text
    )[0]
    assert (
        cut[-1].event == "response.incomplete"
        and cut[-1].json["response"]["incomplete_details"]["reason"] == "max_output_tokens"
    )
    tool = {"type": "function", "name": "get_weather", "parameters": WEATHER_TOOL["function"]["parameters"]}
    events = parse_sse(
        timed_post(
            client, "/v1/responses", {"model": "sandbox-omni", "input": "w", "stream": True, "tools": [tool]}
        ).text
    )[0]
    data = [e.json for e in events]
    pieces = "".join(d["delta"] for d in data if d["type"] == "response.function_call_arguments.delta")
    done = next(d for d in data if d["type"] == "response.function_call_arguments.done")
    assert pieces == done["arguments"] == data[-1]["response"]["output"][0]["arguments"]


def test_messages_stream(client, lockstep):
    body = {"model": "sandbox-omni", "max_tokens": 50, "stream": True, "messages": [{"role": "user", "content": "a b"}]}
    got = lockstep.post(client, "/v1/messages", body)
    events, _ = parse_sse(got.text)
    types = [e.event for e in events]
    assert types[:3] == ["message_start", "content_block_start", "ping"]
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    data = [e.json for e in events]
    assert all(e.event == d["type"] for e, d in zip(events, data, strict=True))
    assert data[0]["message"]["usage"]["input_tokens"] == 2
    blocks = {d["index"] for d in data if d["type"].startswith("content_block")}
    assert blocks == {0}
    text = "".join(d["delta"]["text"] for d in data if d["type"] == "content_block_delta")
    assert text == "Sandbox reply: a b"
    assert data[-2]["delta"]["stop_reason"] == "end_turn" and data[-2]["usage"]["output_tokens"] == 4
    assert len(got.chunks) >= len(events)  # read in lock-step: incremental delivery, one read per event


def test_messages_stream_tool_use(client):
    tool = {"name": "get_weather", "input_schema": WEATHER_TOOL["function"]["parameters"]}
    body = {
        "model": "sandbox-omni",
        "max_tokens": 50,
        "stream": True,
        "tools": [tool],
        "messages": [{"role": "user", "content": "w"}],
    }
    data = [e.json for e in parse_sse(timed_post(client, "/v1/messages", body).text)[0]]
    start = next(d for d in data if d["type"] == "content_block_start")
    assert start["content_block"]["type"] == "tool_use" and start["content_block"]["input"] == {}
    partial = "".join(d["delta"]["partial_json"] for d in data if d["type"] == "content_block_delta")
    assert json.loads(partial)["unit"] == "celsius"
    assert next(d for d in data if d["type"] == "message_delta")["delta"]["stop_reason"] == "tool_use"


def test_messages_stream_needs_the_capability(client):
    body = {"model": "sandbox-chat", "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "x"}]}
    r = client.post("/v1/messages", json=body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "model_not_supported"


def test_gemini_alt_sse(client, lockstep):
    body = {"contents": [{"parts": [{"text": "p q"}]}]}
    got = lockstep.post(client, "/v1beta/models/sandbox-omni:streamGenerateContent", body, params={"alt": "sse"})
    assert got.headers["content-type"].startswith("text/event-stream")
    assert "\r\n\r\n" in got.text and "[DONE]" not in got.text
    events, comments = parse_sse(got.text)
    assert comments == []  # Google sends none, and google-genai cannot parse one (deviation gemini.ping-comment)
    chunks = [e.json for e in events]
    text = "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks)
    assert text == "Sandbox reply: p q"
    assert all(c["candidates"][0]["content"]["role"] == "model" for c in chunks)
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    usage = chunks[-1]["usageMetadata"]
    assert usage["promptTokenCount"] + usage["candidatesTokenCount"] == usage["totalTokenCount"]
    assert len(got.chunks) >= len(events)  # read in lock-step: incremental delivery, one read per event


def test_gemini_json_array_framing(client):
    body = {"contents": [{"parts": [{"text": "p q"}]}]}
    got = timed_post(client, "/v1beta/models/sandbox-omni:streamGenerateContent", body)
    assert got.headers["content-type"].startswith("application/json")
    assert got.text.startswith("[{") and got.text.endswith("\n]") and "\n,\r\n{" in got.text
    chunks = json.loads(got.text)
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks) == "Sandbox reply: p q"
    assert len(got.chunks) >= len(chunks)  # one element per write


def test_gemini_stream_flaky_and_capability(client):
    body = {"contents": [{"parts": [{"text": "x"}]}]}
    flaky = client.post("/v1beta/models/sandbox-flaky:streamGenerateContent?alt=sse", json=body)
    assert flaky.status_code == 200 and "error" in flaky.json()
    chat_only = client.post("/v1beta/models/sandbox-chat:streamGenerateContent?alt=sse", json=body)
    assert chat_only.status_code == 400 and chat_only.json()["error"]["code"] == "model_not_supported"
