"""The faithful sandbox conforms to the contract as the harness itself judges it: each body kind of
specs/kinds.yaml that the sandbox serves is judged by the harness's schemas and stream grammars, and
no rule is broken. (If this fails after a spec change, either the spec or the sandbox is wrong.)"""

from __future__ import annotations

import importlib
from typing import Any

import httpx
import pytest

from .helpers import bearer

# imported, not importorskip-ed: an import error must fail this file (the package's `kinds` attribute is a
# function, so the module is fetched by name)
kinds = importlib.import_module("oimi_conformance.kinds")

H = bearer()
CLAUDE = {"x-api-key": "sk-sandbox-valid", "anthropic-version": "2023-06-01"}
PARAMS = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
TOOL = {"type": "function", "function": {"name": "f", "parameters": PARAMS}}
RESPONSES_TOOL = {"type": "function", "name": "f", "parameters": PARAMS}
CLAUDE_TOOL = {"name": "f", "input_schema": PARAMS}
GEMINI = "/v1beta/models/sandbox-omni:"
USER = [{"role": "user", "content": "hi there"}]
CONTENTS = [{"parts": [{"text": "hi there"}]}]

# (id, kind, method, path, body, query, headers)
CASES: list[tuple[str, str, str, str, Any, dict[str, str] | None, dict[str, str]]] = [
    (
        "chat",
        "openai.chat.completion",
        "POST",
        "/v1/chat/completions",
        {"model": "sandbox-omni", "messages": USER},
        None,
        H,
    ),
    (
        "chat-tools",
        "openai.chat.completion",
        "POST",
        "/v1/chat/completions",
        {"model": "sandbox-omni", "messages": USER, "tools": [TOOL]},
        None,
        H,
    ),
    (
        "chat-stream",
        "openai.chat.completion.stream",
        "POST",
        "/v1/chat/completions",
        {"model": "sandbox-omni", "messages": USER, "stream": True, "stream_options": {"include_usage": True}},
        None,
        H,
    ),
    (
        "chat-stream-tools",
        "openai.chat.completion.stream",
        "POST",
        "/v1/chat/completions",
        {"model": "sandbox-omni", "messages": USER, "stream": True, "tools": [TOOL]},
        None,
        H,
    ),
    (
        "chat-stream-n2",
        "openai.chat.completion.stream",
        "POST",
        "/v1/chat/completions",
        {"model": "sandbox-omni", "messages": USER, "stream": True, "n": 2},
        None,
        H,
    ),
    ("responses", "openai.responses", "POST", "/v1/responses", {"model": "sandbox-omni", "input": "hi there"}, None, H),
    (
        "responses-incomplete",
        "openai.responses",
        "POST",
        "/v1/responses",
        {"model": "sandbox-omni", "input": "hi there", "max_output_tokens": 1},
        None,
        H,
    ),
    (
        "responses-stream",
        "openai.responses.stream",
        "POST",
        "/v1/responses",
        {"model": "sandbox-omni", "input": "hi there", "stream": True},
        None,
        H,
    ),
    (
        "responses-stream-incomplete",
        "openai.responses.stream",
        "POST",
        "/v1/responses",
        {"model": "sandbox-omni", "input": "hi there", "stream": True, "max_output_tokens": 1},
        None,
        H,
    ),
    (
        "responses-stream-tool",
        "openai.responses.stream",
        "POST",
        "/v1/responses",
        {"model": "sandbox-omni", "input": "hi", "stream": True, "tools": [RESPONSES_TOOL]},
        None,
        H,
    ),
    (
        "compact",
        "openai.responses.compact",
        "POST",
        "/v1/responses/compact",
        {"model": "sandbox-omni", "input": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]},
        None,
        H,
    ),
    (
        "embeddings",
        "openai.embeddings",
        "POST",
        "/v1/embeddings",
        {"model": "sandbox-embed", "input": ["a", "b"]},
        None,
        H,
    ),
    (
        "embeddings-base64",
        "openai.embeddings",
        "POST",
        "/v1/embeddings",
        {"model": "sandbox-embed", "input": ["a"], "encoding_format": "base64"},
        None,
        H,
    ),
    (
        "images-url",
        "openai.images",
        "POST",
        "/v1/images/generations",
        {"model": "sandbox-image", "prompt": "cat", "n": 2},
        None,
        H,
    ),
    (
        "images-b64",
        "openai.images",
        "POST",
        "/v1/images/generations",
        {"model": "sandbox-image", "prompt": "cat", "response_format": "b64_json"},
        None,
        H,
    ),
    ("models", "openai.models", "GET", "/v1/models", None, None, H),
    ("model", "openai.model", "GET", "/v1/models/sandbox-omni", None, None, H),
    (
        "rerank",
        "rerank",
        "POST",
        "/v1/rerank",
        {"model": "sandbox-rerank", "query": "a b", "documents": ["a", "b c"], "return_documents": True},
        None,
        H,
    ),
    (
        "messages",
        "anthropic.messages",
        "POST",
        "/v1/messages",
        {"model": "sandbox-omni", "max_tokens": 9, "messages": USER},
        None,
        H,
    ),
    (
        "messages-tools",
        "anthropic.messages",
        "POST",
        "/v1/messages",
        {"model": "sandbox-omni", "max_tokens": 9, "messages": USER, "tools": [CLAUDE_TOOL]},
        None,
        H,
    ),
    (
        "messages-stream",
        "anthropic.messages.stream",
        "POST",
        "/v1/messages",
        {"model": "sandbox-omni", "max_tokens": 9, "messages": USER, "stream": True},
        None,
        H,
    ),
    (
        "messages-stream-tools",
        "anthropic.messages.stream",
        "POST",
        "/v1/messages",
        {"model": "sandbox-omni", "max_tokens": 9, "messages": USER, "stream": True, "tools": [CLAUDE_TOOL]},
        None,
        H,
    ),
    ("claude-models", "anthropic.models", "GET", "/v1/models", None, None, CLAUDE),
    ("gemini", "gemini.generate_content", "POST", GEMINI + "generateContent", {"contents": CONTENTS}, None, H),
    (
        "gemini-sse",
        "gemini.stream.sse",
        "POST",
        GEMINI + "streamGenerateContent",
        {"contents": CONTENTS},
        {"alt": "sse"},
        H,
    ),
    (
        "gemini-array",
        "gemini.stream.json_array",
        "POST",
        GEMINI + "streamGenerateContent",
        {"contents": CONTENTS},
        None,
        H,
    ),
    ("gemini-models", "gemini.models", "GET", "/v1beta/models", None, None, H),
    ("error-unknown-model", "error.openai", "POST", "/v1/chat/completions", {"model": "nope"}, None, H),
    ("error-no-key", "error.openai", "POST", "/v1/chat/completions", {"model": "sandbox-omni"}, None, {}),
    (
        "error-claude-relay",
        "error.anthropic",
        "POST",
        "/v1/messages",
        {"model": "sandbox-omni", "messages": USER},
        None,
        H,
    ),
]


@pytest.mark.parametrize(
    ("kind", "method", "path", "body", "query", "headers"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
@pytest.mark.slow
def test_faithful_sandbox_conforms(client, sandbox, kind, method, path, body, query, headers):
    response = httpx.request(method, sandbox.base_url + path, json=body, params=query, headers=headers, timeout=10)
    verdict = kinds.judge(kind, response.content, body)
    assert verdict.ok, "\n".join(str(v) for v in verdict.violations)
