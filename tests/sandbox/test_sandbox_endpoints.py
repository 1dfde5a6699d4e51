"""Every non-streaming endpoint of the faithful sandbox answers the documented shape and the oracle's rules."""

from __future__ import annotations

import base64
import json
import struct
import zlib

import jsonschema
import pytest

from .helpers import chat_body

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 2},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 3, "maximum": 7},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2, "uniqueItems": True},
                "note": {"type": "string"},
            },
            "required": ["city", "unit", "days", "tags"],
            "additionalProperties": False,
        },
    },
}


# --- chat completions ---------------------------------------------------------------------------------


def test_chat_reply_usage_and_headers(client):
    r = client.post("/v1/chat/completions", json=chat_body("hello sandbox world"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-oneapi-request-id"]
    body = r.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice == {**choice, "index": 0, "finish_reason": "stop"}
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == "Sandbox reply: hello sandbox world"
    usage = body["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (3, 5, 8)


def test_chat_is_deterministic(client):
    first = client.post("/v1/chat/completions", json=chat_body("same words")).json()
    second = client.post("/v1/chat/completions", json=chat_body("same words")).json()
    assert first["choices"] == second["choices"] and first["usage"] == second["usage"]
    assert first["id"] != second["id"]  # ids are per request


def test_chat_max_tokens_truncates_with_length(client):
    for field in ("max_tokens", "max_completion_tokens"):
        body = client.post("/v1/chat/completions", json=chat_body("one two three four", **{field: 3})).json()
        assert body["choices"][0]["message"]["content"] == "Sandbox reply: one"
        assert body["choices"][0]["finish_reason"] == "length"
        assert body["usage"]["completion_tokens"] == 3


def test_chat_stop_cuts_before_the_stop_string(client):
    body = client.post("/v1/chat/completions", json=chat_body("alpha beta gamma", stop=["gamma", "zeta"])).json()
    assert body["choices"][0]["message"]["content"] == "Sandbox reply: alpha beta "
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == 4


def test_chat_n_choices(client):
    body = client.post("/v1/chat/completions", json=chat_body("hi", n=3)).json()
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    assert body["usage"]["completion_tokens"] == 9


def test_chat_system_instruction_is_honoured(client):
    messages = [{"role": "system", "content": "Reply with exactly: PINEAPPLE"}, {"role": "user", "content": "hi"}]
    body = client.post("/v1/chat/completions", json={"model": "sandbox-omni", "messages": messages}).json()
    assert body["choices"][0]["message"]["content"] == "PINEAPPLE"


def test_chat_tool_call_arguments_validate_against_the_tool_schema(client):
    body = client.post("/v1/chat/completions", json=chat_body("weather?", tools=[WEATHER_TOOL])).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    call = choice["message"]["tool_calls"][0]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"]["name"] == "get_weather"
    arguments = json.loads(call["function"]["arguments"])
    jsonschema.validate(arguments, WEATHER_TOOL["function"]["parameters"])
    assert arguments["unit"] == "celsius"


def test_chat_tool_choice_none_and_tool_result_answer_text(client):
    none = client.post("/v1/chat/completions", json=chat_body("hi", tools=[WEATHER_TOOL], tool_choice="none")).json()
    assert none["choices"][0]["message"]["content"] == "Sandbox reply: hi"
    messages = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    after = client.post(
        "/v1/chat/completions", json={"model": "sandbox-omni", "messages": messages, "tools": [WEATHER_TOOL]}
    )
    assert after.json()["choices"][0]["message"]["content"] == "Sandbox reply: tool result: sunny"


def test_chat_json_modes(client):
    obj = client.post("/v1/chat/completions", json=chat_body("hi", response_format={"type": "json_object"})).json()
    assert json.loads(obj["choices"][0]["message"]["content"]) == {"reply": "Sandbox reply: hi"}
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer"}, "s": {"type": "string"}},
        "required": ["n", "s"],
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    out = client.post("/v1/chat/completions", json=chat_body("hi", response_format=fmt)).json()
    jsonschema.validate(json.loads(out["choices"][0]["message"]["content"]), schema)


def test_chat_vision_only_on_vision_models(client):
    content = [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
    ]
    ok = client.post(
        "/v1/chat/completions", json={"model": "sandbox-omni", "messages": [{"role": "user", "content": content}]}
    )
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"] == "Sandbox reply: what is this"
    no = client.post(
        "/v1/chat/completions", json={"model": "sandbox-chat", "messages": [{"role": "user", "content": content}]}
    )
    assert no.status_code == 400 and no.json()["error"]["code"] == "model_not_supported"


@pytest.mark.parametrize(
    ("model", "extra", "capability"),
    [
        ("sandbox-chat", {"tools": [WEATHER_TOOL]}, "chat.tools"),
        ("sandbox-chat", {"response_format": {"type": "json_object"}}, "chat.json"),
        ("sandbox-embed", {}, "chat"),
    ],
)
def test_unsupported_capability_is_a_clean_400(client, model, extra, capability):
    r = client.post("/v1/chat/completions", json=chat_body("hi", model=model, **extra))
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "model_not_supported" and capability in error["message"]
    assert "/v1/chat/completions" in error["message"]


# --- responses ----------------------------------------------------------------------------------------


def test_responses_text_and_usage(client):
    r = client.post("/v1/responses", json={"model": "sandbox-omni", "input": "tell me", "instructions": "be brief"})
    body = r.json()
    assert r.status_code == 200 and body["object"] == "response" and body["status"] == "completed"
    item = body["output"][0]
    assert item["type"] == "message" and item["role"] == "assistant"
    assert item["content"][0] == {
        "type": "output_text",
        "annotations": [],
        "logprobs": [],
        "text": "Sandbox reply: tell me",
    }
    assert (
        body["usage"]["input_tokens"] == 4
        and body["usage"]["output_tokens"] == 4
        and body["usage"]["total_tokens"] == 8
    )


def test_responses_max_output_tokens_gives_incomplete(client):
    body = client.post(
        "/v1/responses", json={"model": "sandbox-omni", "input": "a b c d", "max_output_tokens": 2}
    ).json()
    assert body["status"] == "incomplete"
    assert body["incomplete_details"] == {"reason": "max_output_tokens"}
    assert body["output"][0]["content"][0]["text"] == "Sandbox reply:"


def test_responses_function_call(client):
    tool = {"type": "function", "name": "get_weather", "parameters": WEATHER_TOOL["function"]["parameters"]}
    body = client.post("/v1/responses", json={"model": "sandbox-omni", "input": "weather", "tools": [tool]}).json()
    item = body["output"][0]
    assert item["type"] == "function_call" and item["name"] == "get_weather" and item["call_id"].startswith("call_")
    jsonschema.validate(json.loads(item["arguments"]), tool["parameters"])


def test_responses_previous_response_id(client):
    first = client.post("/v1/responses", json={"model": "sandbox-omni", "input": "one"}).json()
    ok = client.post(
        "/v1/responses", json={"model": "sandbox-omni", "input": "two", "previous_response_id": first["id"]}
    )
    assert ok.status_code == 200
    bad = client.post(
        "/v1/responses", json={"model": "sandbox-omni", "input": "two", "previous_response_id": "resp_nope"}
    )
    assert bad.status_code == 400


def test_responses_not_supported_on_sandbox_chat_despite_its_claim(client):
    listed = {m["id"]: m for m in client.get("/v1/models").json()["data"]}
    assert "openai-response" in listed["sandbox-chat"]["supported_endpoint_types"]
    r = client.post("/v1/responses", json={"model": "sandbox-chat", "input": "hi"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "model_not_supported"


def test_compact_and_feed_back(client):
    items = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "first answer here"}]},
        {"role": "user", "content": "second question"},
    ]
    r = client.post("/v1/responses/compact", json={"model": "sandbox-omni", "input": items})
    body = r.json()
    assert r.status_code == 200 and body["object"] == "response.compaction"
    *users, compaction = body["output"]
    assert [u["content"][0]["text"] for u in users] == ["first question", "second question"]
    assert compaction["type"] == "compaction" and compaction["encrypted_content"] and compaction["id"]
    assert body["usage"]["total_tokens"] == body["usage"]["input_tokens"] + body["usage"]["output_tokens"]
    fed = client.post(
        "/v1/responses", json={"model": "sandbox-omni", "input": [compaction, {"role": "user", "content": "go on"}]}
    )
    assert fed.status_code == 200 and fed.json()["output"][0]["content"][0]["text"] == "Sandbox reply: go on"
    forged = dict(compaction, encrypted_content=base64.b64encode(b'{"summary":"x","mac":"00"}').decode())
    bad = client.post(
        "/v1/responses", json={"model": "sandbox-omni", "input": [forged, {"role": "user", "content": "go"}]}
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"


def test_compact_is_never_streamed_and_needs_the_capability(client):
    r = client.post("/v1/responses/compact", json={"model": "sandbox-omni", "input": "x", "stream": True})
    assert r.status_code == 400
    r = client.post("/v1/responses/compact", json={"model": "sandbox-chat", "input": "x"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "model_not_supported"


# --- messages -----------------------------------------------------------------------------------------


def test_messages_text_stop_sequence_and_max_tokens(client):
    base = {"model": "sandbox-omni", "max_tokens": 100, "messages": [{"role": "user", "content": "red green blue"}]}
    body = client.post("/v1/messages", json=base).json()
    assert body["type"] == "message" and body["role"] == "assistant" and body["id"].startswith("msg_")
    assert body["content"] == [{"type": "text", "text": "Sandbox reply: red green blue"}]
    assert (body["stop_reason"], body["stop_sequence"]) == ("end_turn", None)
    assert body["usage"]["input_tokens"] == 3 and body["usage"]["output_tokens"] == 5
    stopped = client.post("/v1/messages", json={**base, "stop_sequences": ["blue"]}).json()
    assert (stopped["stop_reason"], stopped["stop_sequence"]) == ("stop_sequence", "blue")
    assert stopped["content"][0]["text"] == "Sandbox reply: red green "
    short = client.post("/v1/messages", json={**base, "max_tokens": 2}).json()
    assert short["stop_reason"] == "max_tokens" and short["usage"]["output_tokens"] == 2


def test_messages_tool_use(client):
    tool = {"name": "get_weather", "input_schema": WEATHER_TOOL["function"]["parameters"]}
    body = client.post(
        "/v1/messages",
        json={
            "model": "sandbox-omni",
            "max_tokens": 50,
            "tools": [tool],
            "messages": [{"role": "user", "content": "weather"}],
        },
    ).json()
    block = body["content"][0]
    assert body["stop_reason"] == "tool_use" and block["type"] == "tool_use" and block["id"].startswith("toolu_")
    jsonschema.validate(block["input"], tool["input_schema"])


def test_messages_system_honoured(client):
    body = client.post(
        "/v1/messages",
        json={
            "model": "sandbox-chat",
            "max_tokens": 9,
            "system": "Reply with exactly: ok",
            "messages": [{"role": "user", "content": "hi"}],
        },
    ).json()
    assert body["content"][0]["text"] == "ok"


# --- gemini -------------------------------------------------------------------------------------------


def test_gemini_generate_content(client):
    body = {
        "contents": [{"role": "user", "parts": [{"text": "one two three"}]}],
        "generationConfig": {"maxOutputTokens": 4},
    }
    r = client.post("/v1beta/models/sandbox-omni:generateContent", json=body)
    out = r.json()
    candidate = out["candidates"][0]
    assert r.status_code == 200 and candidate["content"]["role"] == "model"
    assert candidate["content"]["parts"] == [{"text": "Sandbox reply: one two"}]
    assert candidate["finishReason"] == "MAX_TOKENS"
    usage = out["usageMetadata"]
    assert usage["promptTokenCount"] + usage["candidatesTokenCount"] == usage["totalTokenCount"] == 7


@pytest.mark.parametrize("key", ["systemInstruction", "system_instruction"])
def test_gemini_system_instruction_both_spellings(client, key):
    body = {"contents": [{"parts": [{"text": "hi"}]}], key: {"parts": [{"text": "Reply with exactly: BANANA"}]}}
    out = client.post("/v1beta/models/sandbox-omni:generateContent", json=body).json()
    assert out["candidates"][0]["content"]["parts"][0]["text"] == "BANANA"
    assert out["candidates"][0]["finishReason"] == "STOP"


def test_gemini_function_call(client):
    decl = {
        "name": "get_weather",
        "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]},
    }
    body = {"contents": [{"parts": [{"text": "weather"}]}], "tools": [{"functionDeclarations": [decl]}]}
    out = client.post("/v1beta/models/sandbox-omni:generateContent", json=body).json()
    assert out["candidates"][0]["content"]["parts"] == [
        {"functionCall": {"name": "get_weather", "args": {"city": "sandbox"}}}
    ]


def test_gemini_flaky_model_answers_an_error_with_200(client):
    r = client.post("/v1beta/models/sandbox-flaky:generateContent", json={"contents": [{"parts": [{"text": "hi"}]}]})
    assert r.status_code == 200 and "error" in r.json() and "candidates" not in r.json()


# --- embeddings, rerank, images -------------------------------------------------------------------------


def test_embeddings_float_and_base64_agree(client):
    floats = client.post("/v1/embeddings", json={"model": "sandbox-embed", "input": ["a b", "c"]}).json()
    assert floats["object"] == "list" and [d["index"] for d in floats["data"]] == [0, 1]
    vector = floats["data"][0]["embedding"]
    assert len(vector) == 16 and abs(sum(v * v for v in vector) - 1) < 1e-5
    assert floats["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    b64 = client.post(
        "/v1/embeddings", json={"model": "sandbox-embed", "input": ["a b", "c"], "encoding_format": "base64"}
    ).json()
    raw = base64.b64decode(b64["data"][0]["embedding"])
    assert list(struct.unpack(f"<{len(raw) // 4}f", raw)) == vector


def test_embeddings_dimensions_and_limits(client):
    out = client.post("/v1/embeddings", json={"model": "sandbox-embed", "input": "x", "dimensions": 64}).json()
    assert len(out["data"][0]["embedding"]) == 64
    assert (
        client.post("/v1/embeddings", json={"model": "sandbox-embed", "input": "x", "dimensions": 65}).status_code
        == 400
    )
    assert client.post("/v1/embeddings", json={"model": "sandbox-embed", "input": ""}).status_code == 400


def test_rerank_sorted_top_n_and_documents(client):
    docs = ["nothing here", "ruby on rails", "ruby programming language"]
    body = {"model": "sandbox-rerank", "query": "ruby programming", "documents": docs}
    out = client.post("/v1/rerank", json=body).json()
    assert [r["index"] for r in out["results"]] == [2, 1, 0]
    scores = [r["relevance_score"] for r in out["results"]]
    assert scores == sorted(scores, reverse=True) and "document" not in out["results"][0]
    top = client.post("/v1/rerank", json={**body, "top_n": 1, "return_documents": True}).json()
    assert top["results"] == [{"index": 2, "relevance_score": 1.0, "document": {"text": docs[2]}}]


def _png_ok(data: bytes) -> bool:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return False
    pos, tags = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, chunk = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        if zlib.crc32(tag + chunk) & 0xFFFFFFFF != crc:
            return False
        if tag == b"IDAT":
            zlib.decompress(chunk)
        tags.append(tag)
        pos += 12 + length
    return tags == [b"IHDR", b"IDAT", b"IEND"]


def test_images_b64_and_url(client, sandbox):
    b64 = client.post(
        "/v1/images/generations",
        json={"model": "sandbox-image", "prompt": "a cat", "n": 2, "response_format": "b64_json"},
    ).json()
    assert len(b64["data"]) == 2 and all(_png_ok(base64.b64decode(d["b64_json"])) for d in b64["data"])
    assert b64["data"][0]["b64_json"] != b64["data"][1]["b64_json"]
    url = client.post("/v1/images/generations", json={"model": "sandbox-image", "prompt": "a cat"}).json()
    link = url["data"][0]["url"]
    assert link.startswith(f"{sandbox.base_url}/sandbox-files/") and link.endswith(".png")
    image = client.get(link)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png" and _png_ok(image.content)
    assert (
        client.post("/v1/images/generations", json={"model": "sandbox-image", "prompt": "x", "n": 5}).status_code == 400
    )


# --- model listing --------------------------------------------------------------------------------------


def test_models_openai_shape(client):
    body = client.get("/v1/models").json()
    assert body["object"] == "list" and body["success"] is True
    ids = [m["id"] for m in body["data"]]
    assert ids == ["sandbox-omni", "sandbox-chat", "sandbox-embed", "sandbox-rerank", "sandbox-image", "sandbox-flaky"]
    assert all(m["object"] == "model" and isinstance(m["created"], int) and m["owned_by"] for m in body["data"])
    one = client.get("/v1/models/sandbox-embed").json()
    assert one["id"] == "sandbox-embed" and one["supported_endpoint_types"] == ["embeddings"]


def test_models_anthropic_and_gemini_shapes(anon):
    claude = anon.get("/v1/models", headers={"x-api-key": "sk-sandbox-valid", "anthropic-version": "2023-06-01"}).json()
    assert claude["has_more"] is False and claude["first_id"] == "sandbox-omni" and claude["last_id"] == "sandbox-flaky"
    assert claude["data"][0] == {**claude["data"][0], "type": "model", "id": "sandbox-omni"}
    gemini = anon.get("/v1beta/models", headers={"x-goog-api-key": "sk-sandbox-valid"}).json()
    assert gemini["models"][0]["name"] == "models/sandbox-omni"
    assert "generateContent" in gemini["models"][0]["supportedGenerationMethods"]


def test_restricted_key_lists_only_its_model(anon):
    body = anon.get("/v1/models", headers={"Authorization": "Bearer sk-sandbox-restricted"}).json()
    assert [m["id"] for m in body["data"]] == ["sandbox-image"]
