"""specs/openapi.yaml: a valid OpenAPI 3.1 document whose every reference resolves, that names each
operation of kinds.yaml, each request schema and each grammar, declares the contract's auth
alternatives and error responses, and loads in schemathesis. No network."""

from __future__ import annotations

import datetime
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag

import httpx
import pytest
import schemathesis
import yaml
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from oimi_conformance.schemas import default_store
from oimi_conformance.specdir import spec_root

SPECS = spec_root()
OPENAPI = SPECS / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ERROR_STATUSES = ("400", "401", "403", "404", "413", "429", "500", "503")

BEARER = ["bearerAuth"]
CLAUDE = ["bearerAuth", "anthropicKey"]
MODELS = ["bearerAuth", "anthropicKey", "googApiKey", "googQueryKey"]
GEMINI = ["googApiKey", "googQueryKey", "bearerAuth"]
SECURITY = {
    "createChatCompletion": BEARER,
    "createResponse": BEARER,
    "compactResponse": BEARER,
    "createRerank": BEARER,
    "createImage": BEARER,
    "createEmbedding": BEARER,
    "createMessage": CLAUDE,
    "listModels": MODELS,
    "retrieveModel": MODELS,
    "generateContent": GEMINI,
    "streamGenerateContent": GEMINI,
    "listGeminiModels": GEMINI,
}
# error envelopes each operation's error responses must admit (besides the OpenAI one, which all admit)
EXTRA_ERROR_ENVELOPE = {
    "createMessage": "schemas/errors/anthropic.json",
    "generateContent": "schemas/errors/google.json",
    "streamGenerateContent": "schemas/errors/google.json",
    "listGeminiModels": "schemas/errors/google.json",
}
STREAMING = {
    "createChatCompletion": "openai.chat.stream",
    "createResponse": "openai.responses.stream",
    "createMessage": "anthropic.messages.stream",
    "streamGenerateContent": "gemini.stream",
}


@cache
def spec() -> dict[str, Any]:
    return yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))


@cache
def load_file(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId -> (path, method, operation)."""
    found = {}
    for path, item in spec()["paths"].items():
        for method in METHODS:
            if method in item:
                found[item[method]["operationId"]] = (path, method, item[method])
    return found


def pointer(document: Any, fragment: str) -> Any:
    node = document
    for part in fragment.lstrip("/").split("/") if fragment.strip("/") else []:
        part = unquote(part).replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(f"nothing at #{fragment}")
    return node


def deref(node: Any) -> Any:
    """Follow local ``#/...`` references of openapi.yaml."""
    while isinstance(node, dict) and str(node.get("$ref", "")).startswith("#"):
        node = pointer(spec(), node["$ref"][1:])
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def ok_content(operation: dict[str, Any]) -> dict[str, Any]:
    return deref(operation["responses"]["200"])["content"]


def resolve(base: Path, ref: str) -> Any:
    """A file ``$ref`` (relative to ``base``'s folder, maybe with a fragment), resolved; raises if it dangles."""
    file, fragment = urldefrag(ref)
    target = (base.parent / file).resolve() if file else base
    assert target.is_file(), f"{base.name}: $ref {ref!r} names a missing file"
    return pointer(load_file(target), fragment)


# --- (1) a valid OpenAPI 3.1 document -------------------------------------------------------------


def test_is_a_valid_openapi_31_document() -> None:
    assert spec()["openapi"].startswith("3.1.")
    validate(spec(), base_uri=OPENAPI.resolve().as_uri(), cls=OpenAPIV31SpecValidator)


# --- (2) kinds.yaml operations and request schemas ------------------------------------------------


def test_every_kind_operation_exists_and_names_its_kinds() -> None:
    ops = operations()
    kinds = load_file(SPECS / "kinds.yaml")
    named: dict[str, set[str]] = {}
    for op_id, (_, _, operation) in ops.items():
        for media in ok_content(operation).values():
            named.setdefault(op_id, set()).add(media["x-oimi-kind"])
            named[op_id].update(v["kind"] for v in media.get("x-oimi-kind-variants", []))
    for name, kind in kinds.items():
        if "operation" not in kind:
            continue
        assert kind["operation"] in ops, f"kinds.yaml {name}: no operation {kind['operation']!r} in openapi.yaml"
        assert name in named[kind["operation"]], f"{kind['operation']}: no 200 media type names kind {name}"
    for op_id, names in named.items():
        for name in names:
            assert kinds.get(name, {}).get("operation") == op_id, f"{op_id}: kind {name} is not this operation's"


def test_every_request_schema_is_used_by_an_operation() -> None:
    used = set()
    for _, _, operation in operations().values():
        body = operation.get("requestBody")
        if body:
            assert body["required"] is True
            used.add(body["content"]["application/json"]["schema"]["$ref"])
    on_disk = {f"schemas/{p.relative_to(SPECS / 'schemas').as_posix()}" for p in SPECS.rglob("*.request.json")}
    assert on_disk, "no request schemas found"
    assert on_disk <= used, f"request schemas no operation uses: {sorted(on_disk - used)}"


# --- (3) every reference resolves ---------------------------------------------------------------


def test_every_ref_resolves_to_an_existing_file_and_fragment() -> None:
    """Every $ref of openapi.yaml, and transitively of the schema files it names, resolves locally."""
    pending = [(OPENAPI, ref) for ref in refs(spec())]
    visited = {OPENAPI.resolve()}
    checked = 0
    while pending:
        base, ref = pending.pop()
        assert not ref.startswith(("http:", "https:", "//")), f"{base.name}: remote $ref {ref!r}"
        resolve(base, ref)
        checked += 1
        file, _ = urldefrag(ref)
        target = (base.parent / file).resolve()
        if file and target not in visited:
            visited.add(target)
            pending += [(target, r) for r in refs(load_file(target))]
    assert checked > 100 and len(visited) > 20


def test_stream_extensions_name_existing_grammars_and_event_schemas() -> None:
    ops = operations()
    for op_id, grammar_id in STREAMING.items():
        content = ok_content(ops[op_id][2])
        sse = content["text/event-stream"]
        assert sse["schema"]["type"] == "string"
        assert f"specs/grammars/{grammar_id}.yaml" in sse["schema"]["description"]
        for media in content.values():
            if "x-oimi-grammar" not in media:
                continue
            grammar = load_file(SPECS / "grammars" / f"{media['x-oimi-grammar']}.yaml")
            assert grammar["id"] == grammar_id
            events = media["x-oimi-stream-events"]
            for event in events:
                resolve(OPENAPI, event)
            missing = {f"schemas/{s}" for s in grammar["schemas"].values()} - set(events)
            assert not missing, f"{op_id}: grammar {grammar_id} event schemas missing from x-oimi-stream-events"
    assert set(ok_content(ops["streamGenerateContent"][2])) == {"application/json", "text/event-stream"}
    alt = [deref(p) for p in ops["streamGenerateContent"][2]["parameters"] if deref(p)["name"] == "alt"]
    assert alt and alt[0]["in"] == "query" and alt[0]["schema"]["enum"] == ["sse"]


# --- (4) auth alternatives ----------------------------------------------------------------------


def test_security_schemes() -> None:
    schemes = spec()["components"]["securitySchemes"]
    assert schemes["bearerAuth"] | {"description": ""} == {"type": "http", "scheme": "bearer", "description": ""}
    for name, where, key in (
        ("anthropicKey", "header", "x-api-key"),
        ("googApiKey", "header", "x-goog-api-key"),
        ("googQueryKey", "query", "key"),
    ):
        assert (schemes[name]["type"], schemes[name]["in"], schemes[name]["name"]) == ("apiKey", where, key)
    assert "anthropic-version: 2023-06-01" in schemes["anthropicKey"]["description"]


@pytest.mark.parametrize("op_id", sorted(SECURITY))
def test_operation_security_alternatives(op_id: str) -> None:
    _, _, operation = operations()[op_id]
    alternatives = operation["security"]
    assert all(len(req) == 1 for req in alternatives), "each alternative is one scheme"
    assert [next(iter(req)) for req in alternatives] == SECURITY[op_id]
    version = [deref(p) for p in operation.get("parameters", []) if deref(p)["name"] == "anthropic-version"]
    if op_id in ("createMessage", "listModels"):
        assert version and version[0]["in"] == "header" and version[0]["required"] is False
    else:
        assert not version


# --- error responses and headers ------------------------------------------------------------------


@pytest.mark.parametrize("op_id", sorted(SECURITY))
def test_operation_error_responses(op_id: str) -> None:
    _, _, operation = operations()[op_id]
    for status in ERROR_STATUSES:
        response = operation["responses"][status]
        assert "$ref" in response and response["$ref"].startswith("#/components/responses/")
        response = deref(response)
        schema = deref(response["content"]["application/json"]["schema"])
        envelopes = set(refs(schema))
        expected = {"schemas/errors/openai.json", EXTRA_ERROR_ENVELOPE.get(op_id, "schemas/errors/openai.json")}
        assert envelopes == expected, f"{op_id} {status}: {envelopes}"
        assert "oneOf" not in schema, "alternative envelopes overlap: use anyOf"
        headers = response["headers"]
        assert "X-Oneapi-Request-Id" in headers
        assert ("Retry-After" in headers) == (status == "429")
    assert "X-Oneapi-Request-Id" in deref(operation["responses"]["200"])["headers"]


def test_claude_and_openai_error_envelopes_overlap() -> None:
    """Why the Claude route's errors are anyOf and not oneOf: new-api's Anthropic-shaped relay error also
    satisfies the OpenAI envelope, so oneOf would reject the very body the gateway sends."""
    store = default_store()
    relay_error = {"type": "error", "error": {"type": "new_api_error", "message": "upstream failed"}}
    assert store.get("errors/anthropic.json").is_valid(relay_error)
    assert store.get("errors/openai.json").is_valid(relay_error)


# --- (5) schemathesis ---------------------------------------------------------------------------


def _response(status: int, body: Any, path: str) -> httpx.Response:
    response = httpx.Response(status, json=body, request=httpx.Request("POST", f"http://127.0.0.1:8080{path}"))
    response.elapsed = datetime.timedelta(0)
    return response


def test_schemathesis_loads_all_operations_and_resolves_file_refs() -> None:
    # an explicit config: the repository's schemathesis.toml needs $OIMI_API_KEY (see README, "Fuzzing")
    schema = schemathesis.openapi.from_path(str(OPENAPI), config=schemathesis.Config())
    loaded = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        loaded[operation.definition.raw["operationId"]] = operation
    assert set(loaded) == set(SECURITY) == set(operations())
    assert len(loaded) == 12

    # {model}:generateContent templating: the parameter fills only its part of the segment
    gemini = loaded["streamGenerateContent"]
    case = gemini.Case(path_parameters={"model": "gemini-2.0-flash"}, query={"alt": "sse"}, body={"contents": []})
    assert case.formatted_path == "/v1beta/models/gemini-2.0-flash:streamGenerateContent"

    # response validation follows openapi.yaml -> components -> schemas/errors/*.json
    messages_path = "/v1/messages"
    relay_error = {"type": "error", "error": {"type": "new_api_error", "message": "x"}}
    google_error = {"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}
    assert loaded["createMessage"].is_valid_response(_response(503, relay_error, messages_path))
    assert not loaded["createMessage"].is_valid_response(_response(503, {"detail": "x"}, messages_path))
    gemini_path = "/v1beta/models/m:generateContent"
    assert loaded["generateContent"].is_valid_response(_response(400, google_error, gemini_path))
    assert not loaded["createChatCompletion"].is_valid_response(_response(400, google_error, "/v1/chat/completions"))
