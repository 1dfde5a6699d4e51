"""The judging functions of the issue-16 checks on hand-made answers: each fails on the fault it names and
stays quiet on the look-alikes a healthy gateway sends."""

from __future__ import annotations

import json

from oimi_conformance.checks import accounting, disclosure, increments, parameters
from oimi_conformance.checks.answers import Answer, read_answer
from oimi_conformance.checks.scoped_keys import listed_ids
from oimi_conformance.scheduler import why_not_follow as _why_not_follow


def _sse(*events: dict, named: bool = False) -> bytes:
    out = []
    for event in events:
        head = f"event: {event['type']}\n" if named else ""
        out.append(f"{head}data: {json.dumps(event)}\n\n")
    return "".join(out).encode()


def _chat_chunks(*pieces: str, role: bool = True) -> bytes:
    chunks = []
    for n, piece in enumerate(pieces):
        delta = {"content": piece, **({"role": "assistant"} if role and n == 0 else {})}
        chunks.append({"id": "c", "object": "chat.completion.chunk", "model": "m",
                       "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    return _sse(*chunks) + b"data: [DONE]\n\n"


def test_disclosure_finds_each_kind_of_internal_and_spares_documentation_links():
    leaks = {
        'Traceback (most recent call last):\n  File "/app/main.py", line 3': "a Python traceback",
        "goroutine 17 [running]:\nmain.handler()": "a Go panic",
        "at com.example.Relay.send(Relay.java:42)": "a Java/Kotlin stack frame",
        "at handler (/srv/app/dist/index.js:10:5)": "a JavaScript stack frame",
        "failed in C:\\gateway\\relay\\openai.go": "a server file path",
        "see https://github.com/acme/gw/issues/new?title=500": "a prefilled bug-report link",
    }
    for text, what in leaks.items():
        body = json.dumps({"error": {"message": text}}).encode()
        assert any(p.startswith(what) for p in disclosure.disclosure_problems(500, body)), (text, what)
    clean = {"error": {"message": "Invalid value for 'model'. See https://platform.openai.com/docs/api-reference "
                                  "and /v1/chat/completions (request id: 2026120712)", "type": "invalid_request_error"}}
    assert disclosure.disclosure_problems(400, json.dumps(clean).encode()) == []
    assert disclosure.disclosure_problems(200, b'{"choices": []}') == []  # a success is not an error body


def test_cumulative_deltas_are_found_and_incremental_ones_are_not():
    cumulative = read_answer("openai.chat.completion.stream", _chat_chunks("Hello", "Hello there", "Hello there!"))
    assert "repeat all the text" in (increments.repeated_text_problem(cumulative) or "")
    # a model that says the same short word twice, or restates a 3-character prefix, is not cumulative
    healthy = read_answer("openai.chat.completion.stream", _chat_chunks("ha", "ha", "haha", " yes"))
    assert increments.repeated_text_problem(healthy) is None


def test_first_chunk_role():
    assert increments.first_role_problem(read_answer("openai.chat.completion.stream", _chat_chunks("a", "b"))) is None
    missing = read_answer("openai.chat.completion.stream", _chat_chunks("a", "b", role=False))
    assert "not 'assistant'" in (increments.first_role_problem(missing) or "")


def test_event_lines_on_responses_streams():
    events = ({"type": "response.created", "response": {"id": "r", "model": "m"}},
              {"type": "response.completed", "response": {"id": "r", "model": "m"}})
    assert increments.event_line_problem(read_answer("openai.responses.stream", _sse(*events, named=True))) is None
    bare = read_answer("openai.responses.stream", _sse(*events))
    assert "no 'event:' line" in (increments.event_line_problem(bare) or "")


def test_accounting_bounds():
    billed = Answer("openai.chat.completion", text="Hello there", input_tokens=0, output_tokens=0)
    assert accounting.output_problem(billed) and accounting.input_problem(billed, {"messages": [{"content": "hi"}]})
    inflated = Answer("openai.chat.completion", text="Hello there", output_tokens=2000)
    assert "tokens per character" in (accounting.plausibility_problem(inflated) or "")
    reasoning = Answer("openai.chat.completion", text="Hi", output_tokens=900, hidden_tokens=880)
    assert accounting.plausibility_problem(reasoning) is None  # hidden reasoning is set aside
    tool = Answer("anthropic.messages", text="{}", output_tokens=60, tool_calls=1)
    assert accounting.plausibility_problem(tool) is None  # a tool call's wrapper costs tokens
    image = Answer("gemini.generate_content", text="", output_tokens=1290, opaque=True)
    assert accounting.plausibility_problem(image) is None
    chars = Answer("openai.chat.completion", text="x" * 4000, output_tokens=10)
    assert "characters per token" in (accounting.plausibility_problem(chars) or "")


def test_stream_agreement_helpers():
    plain = Answer("anthropic.messages", models=["claude-x"], tool_names=["get_weather"],
                   finish={"message": "tool_use"})
    same = Answer("anthropic.messages.stream", models=["claude-x"], tool_names=["get_weather"],
                  finish={"message": "tool_use"})
    assert increments.model_problem(plain, same) is None and increments.tools_problem(plain, same) is None
    assert increments.finish_problem(plain, same) is None
    other = Answer("anthropic.messages.stream", models=["us.anthropic.claude-x-v1:0"], tool_names=[],
                   finish={"message": "end_turn"})
    assert increments.model_problem(plain, other) and increments.tools_problem(plain, other)
    assert increments.finish_problem(plain, other)


def test_parameter_helpers():
    assert parameters.stop_problem("one", [","]) is None and parameters.stop_problem("one, two", [","])
    assert parameters.json_problem('{"ok": true}', {"required": ["ok"]}) is None
    assert parameters.json_problem("Sure! {}", None) and parameters.json_problem('{"no": 1}', {"required": ["ok"]})
    request = {"tools": [{"functionDeclarations": [{"name": "f", "parameters": {"required": ["a"]}}]}],
               "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}}
    called = {"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": {"a": 1}}}]}}]}
    assert parameters.forces_function(request) and parameters.function_call_problem(called, request) is None
    text = {"candidates": [{"content": {"parts": [{"text": "sunny"}]}, "finishReason": "STOP"}]}
    assert "no functionCall" in (parameters.function_call_problem(text, request) or "")


def test_listings_and_url_following():
    assert listed_ids({"models": [{"name": "models/a"}, {"name": "b"}]}) == {"a", "b"}
    assert listed_ids({"object": "list", "data": [{"id": "c"}]}) == {"c"}
    assert listed_ids({"error": "x"}) is None
    assert _why_not_follow("https://cdn.example/i.png", True) is None
    assert "--no-follow-urls" in (_why_not_follow("https://cdn.example/i.png", False) or "")
    assert "no absolute" in (_why_not_follow("/files/i.png", True) or "")
