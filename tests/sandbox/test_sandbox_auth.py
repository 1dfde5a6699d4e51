"""Auth as gateway-facts.md describes new-api: where each key style is honoured, precedence, and key states."""

from __future__ import annotations

import pytest

from .helpers import VALID, chat_body

BAD = "sk-not-a-real-key-123456"
GEMINI = "/v1beta/models/sandbox-omni:generateContent"
GEMINI_BODY = {"contents": [{"parts": [{"text": "hi"}]}]}
MESSAGES_BODY = {"model": "sandbox-omni", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


def _call(anon, method, path, *, headers=None, params=None, body=None):
    return anon.request(method, path, headers=headers or {}, params=params, json=body)


ACCEPTED = [
    ("bearer on chat", "POST", "/v1/chat/completions", {"Authorization": f"Bearer {VALID}"}, None, chat_body()),
    ("lowercase bearer", "POST", "/v1/chat/completions", {"Authorization": f"bearer {VALID}"}, None, chat_body()),
    ("key without sk- prefix", "GET", "/v1/models", {"Authorization": "Bearer sandbox-valid"}, None, None),
    ("x-api-key on messages", "POST", "/v1/messages", {"x-api-key": VALID}, None, MESSAGES_BODY),
    ("x-api-key on models", "GET", "/v1/models", {"x-api-key": VALID}, None, None),
    ("bearer on messages", "POST", "/v1/messages", {"Authorization": f"Bearer {VALID}"}, None, MESSAGES_BODY),
    ("x-goog-api-key on gemini", "POST", GEMINI, {"x-goog-api-key": VALID}, None, GEMINI_BODY),
    ("?key= on gemini", "POST", GEMINI, {}, {"key": VALID}, GEMINI_BODY),
    ("bearer on gemini", "POST", GEMINI, {"Authorization": f"Bearer {VALID}"}, None, GEMINI_BODY),
    ("x-goog-api-key on /v1/models", "GET", "/v1/models", {"x-goog-api-key": VALID}, None, None),
    ("?key= on /v1/models/x", "GET", "/v1/models/sandbox-omni", {}, {"key": VALID}, None),
    (
        "goog beats a bad bearer",
        "GET",
        "/v1beta/models",
        {"x-goog-api-key": VALID, "Authorization": f"Bearer {BAD}"},
        None,
        None,
    ),
    ("?key= beats a bad x-api-key", "GET", "/v1/models", {"x-api-key": BAD}, {"key": VALID}, None),
]

REJECTED = [
    ("no key", "POST", "/v1/chat/completions", {}, None, chat_body()),
    ("empty authorization", "POST", "/v1/chat/completions", {"Authorization": ""}, None, chat_body()),
    ("bare Bearer word", "POST", "/v1/chat/completions", {"Authorization": "Bearer"}, None, chat_body()),
    ("unknown key", "POST", "/v1/chat/completions", {"Authorization": f"Bearer {BAD}"}, None, chat_body()),
    ("x-api-key on chat", "POST", "/v1/chat/completions", {"x-api-key": VALID}, None, chat_body()),
    ("x-goog-api-key on chat", "POST", "/v1/chat/completions", {"x-goog-api-key": VALID}, None, chat_body()),
    ("?key= on chat", "POST", "/v1/chat/completions", {}, {"key": VALID}, chat_body()),
    ("x-api-key on gemini", "POST", GEMINI, {"x-api-key": VALID}, None, GEMINI_BODY),
    ("?key= on messages", "POST", "/v1/messages", {}, {"key": VALID}, MESSAGES_BODY),
    (
        "bad goog beats a good bearer",
        "GET",
        "/v1beta/models",
        {"x-goog-api-key": BAD, "Authorization": f"Bearer {VALID}"},
        None,
        None,
    ),
    ("no key on embeddings", "POST", "/v1/embeddings", {}, None, {"model": "sandbox-embed", "input": "x"}),
    ("no key on files", "GET", "/v1/files", {}, None, None),
]


@pytest.mark.parametrize(
    ("what", "method", "path", "headers", "params", "body"), ACCEPTED, ids=[a[0] for a in ACCEPTED]
)
def test_key_accepted(anon, what, method, path, headers, params, body):
    assert _call(anon, method, path, headers=headers, params=params, body=body).status_code == 200


@pytest.mark.parametrize(
    ("what", "method", "path", "headers", "params", "body"), REJECTED, ids=[r[0] for r in REJECTED]
)
def test_key_rejected_with_openai_envelope(anon, what, method, path, headers, params, body):
    r = _call(anon, method, path, headers=headers, params=params, body=body)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/json"
    error = r.json()["error"]
    assert error["type"] == "new_api_error" and error["code"] == "" and error["param"] == ""
    assert error["message"].startswith("Invalid token (request id: ")
    assert error["message"].endswith(f"{r.headers['x-oneapi-request-id']})")
    assert BAD not in r.text and VALID not in r.text and BAD not in str(r.headers)


def test_noquota_key(anon):
    headers = {"Authorization": "Bearer sk-sandbox-noquota"}
    for path, body in [
        ("/v1/chat/completions", chat_body()),
        ("/v1/embeddings", {"model": "sandbox-embed", "input": "x"}),
    ]:
        r = anon.post(path, headers=headers, json=body)
        assert r.status_code == 403
        assert r.json()["error"] == {**r.json()["error"], "type": "new_api_error", "code": "insufficient_user_quota"}
    assert anon.get("/v1/models", headers=headers).status_code == 200  # listing is not a relay call


def test_noquota_on_messages_uses_the_anthropic_shape(anon):
    # new-api checks quota inside the relay (pre-consume billing), so /v1/messages answers Anthropic's shape
    r = anon.post("/v1/messages", headers={"x-api-key": "sk-sandbox-noquota"}, json=MESSAGES_BODY)
    assert r.status_code == 403 and r.json()["type"] == "error"
    assert r.json()["error"]["type"] == "permission_error"


def test_ratelimited_key(anon):
    r = anon.post("/v1/chat/completions", headers={"Authorization": "Bearer sk-sandbox-ratelimited"}, json=chat_body())
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert r.json()["error"]["code"] in ("", "rate_limit_exceeded")


def test_restricted_key(anon):
    headers = {"Authorization": "Bearer sk-sandbox-restricted"}
    image = {"model": "sandbox-image", "prompt": "a red square", "n": 1, "response_format": "b64_json"}
    assert anon.post("/v1/images/generations", headers=headers, json=image).status_code == 200
    r = anon.post("/v1/chat/completions", headers=headers, json=chat_body(model="sandbox-chat"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "access_denied"
    assert anon.get("/v1/models/sandbox-omni", headers=headers).status_code == 404
