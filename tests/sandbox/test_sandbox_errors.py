"""Error statuses and envelopes of the faithful sandbox: which shape on which route, and never a 5xx for bad input."""

from __future__ import annotations

import pytest

from .helpers import chat_body

GEMINI = "/v1beta/models/sandbox-omni:generateContent"


def _openai_error(r, status: int, code: str | None = None, suffix: bool = True) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    # new-api's RetrieveModel, 404 Invalid URL and 501 errors carry no "(request id: ...)" suffix
    assert error["message"].endswith(f" (request id: {r.headers['x-oneapi-request-id']})") is suffix
    if code is not None:
        assert error["code"] == code
    return error


def _anthropic_error(r, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["type"] == "error" and set(body["error"]) == {"type", "message"}
    assert body["error"]["message"].endswith(f" (request id: {r.headers['x-oneapi-request-id']})")
    return body["error"]


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", GEMINI, "/v1/embeddings", "/v1/responses"])
def test_malformed_json_is_400_openai_envelope_everywhere(client, path):
    _openai_error(
        client.post(path, content=b'{"model": ', headers={"content-type": "application/json"}), 400, "bad_request_body"
    )


def test_non_object_json_is_400(client):
    _openai_error(client.post("/v1/chat/completions", json=[1, 2]), 400, "bad_request_body")


@pytest.mark.parametrize(
    "path", ["/v1/chat/completions", "/v1/messages", "/v1/embeddings", "/v1/rerank", "/v1/responses"]
)
def test_missing_model_is_400(client, path):
    error = _openai_error(client.post(path, json={"messages": []}), 400, "invalid_request")
    assert error["param"] == "model"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {"model": "nope"}),
        ("/v1/messages", {"model": "nope", "max_tokens": 3, "messages": []}),
        ("/v1beta/models/nope:generateContent", {"contents": []}),
        ("/v1/embeddings", {"model": "nope", "input": "x"}),
    ],
)
def test_unknown_model_is_404_model_not_found_in_the_openai_envelope(client, path, body):
    _openai_error(client.post(path, json=body), 404, "model_not_found")


def test_unknown_model_listing_is_404(client):
    _openai_error(client.get("/v1/models/nope"), 404, "model_not_found", suffix=False)


@pytest.mark.parametrize(
    "body",
    [
        {"model": "sandbox-omni"},
        {"model": "sandbox-omni", "messages": "hi"},
        {"model": "sandbox-omni", "messages": []},
        {"model": "sandbox-omni", "messages": [{"role": "wizard", "content": "x"}]},
        chat_body(temperature=2.5),
        chat_body(temperature="hot"),
        chat_body(max_tokens=0),
        chat_body(max_tokens="ten"),
        chat_body(n=0),
        chat_body(stream="yes"),
        chat_body(stop=5),
        chat_body(stream_options={"include_usage": True}),
        chat_body(tool_choice={"type": "function", "function": {"name": "missing"}}),
    ],
)
def test_chat_invalid_fields_are_400(client, body):
    _openai_error(client.post("/v1/chat/completions", json=body), 400, "invalid_request")


def test_messages_relay_errors_use_the_anthropic_shape(client):
    base = {"model": "sandbox-omni", "messages": [{"role": "user", "content": "x"}]}
    error = _anthropic_error(client.post("/v1/messages", json=base), 400)
    assert error["type"] == "invalid_request_error" and "max_tokens" in error["message"]
    _anthropic_error(client.post("/v1/messages", json={**base, "max_tokens": 5, "temperature": 1.5}), 400)
    _anthropic_error(client.post("/v1/messages", json={"model": "sandbox-omni", "max_tokens": 5, "messages": []}), 400)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (GEMINI, {"contents": []}),
        (GEMINI, {"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"maxOutputTokens": -1}}),
        ("/v1/responses", {"model": "sandbox-omni"}),
        ("/v1/responses", {"model": "sandbox-omni", "input": 5}),
        ("/v1/embeddings", {"model": "sandbox-embed"}),
        ("/v1/embeddings", {"model": "sandbox-embed", "input": "x", "encoding_format": "hex"}),
        ("/v1/rerank", {"model": "sandbox-rerank", "query": "q"}),
        ("/v1/rerank", {"model": "sandbox-rerank", "query": "q", "documents": ["a"], "top_n": 0}),
        ("/v1/images/generations", {"model": "sandbox-image"}),
        ("/v1/images/generations", {"model": "sandbox-image", "prompt": "x", "response_format": "gif"}),
    ],
)
def test_other_relay_errors_are_400_openai_envelope(client, path, body):
    _openai_error(client.post(path, json=body), 400, "invalid_request")


def test_unknown_route_and_wrong_method(client):
    error = _openai_error(client.post("/v1/nope", json={}), 404, suffix=False)
    assert error["message"] == "Invalid URL (POST /v1/nope)"
    _openai_error(client.get("/v1/chat/completions"), 405, "method_not_allowed")
    _openai_error(client.delete("/v1/models"), 405, "method_not_allowed")
    _openai_error(client.post("/v1beta/models/sandbox-omni:countTokens", json={}), 404, suffix=False)


@pytest.mark.parametrize("path", ["/v1/files", "/v1/files/file-1", "/v1/images/variations", "/v1/fine-tunes"])
def test_not_implemented(client, path):
    _openai_error(client.post(path, json={}), 501, "api_not_implemented", suffix=False)


def test_oversized_body_is_413(client):
    big = {"model": "sandbox-omni", "messages": [{"role": "user", "content": "x" * (1024 * 1024 + 10)}]}
    _openai_error(client.post("/v1/chat/completions", json=big), 413)


def test_request_ids_are_unique_and_on_every_answer(client):
    answers = [client.get("/v1/models"), client.post("/v1/nope"), client.post("/v1/chat/completions", json=chat_body())]
    ids = [r.headers["x-oneapi-request-id"] for r in answers]
    assert len(set(ids)) == 3 and all(ids)
