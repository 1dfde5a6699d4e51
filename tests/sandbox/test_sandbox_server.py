"""Starting and stopping sandboxes, their configuration, and the oracle's generators."""

from __future__ import annotations

import threading
import time

import httpx
import jsonschema
import pytest

from oimi_conformance.sandbox import DEVIATION_NAMES, DEVIATIONS, SandboxConfig, oracle, start_sandbox
from oimi_conformance.sandbox.catalog import DEFAULT_MODELS, ModelSpec
from oimi_conformance.sandbox.deviations import FAMILIES

from .helpers import bearer, chat_body


def test_unknown_deviation_names_are_refused_with_the_allowed_list():
    with pytest.raises(ValueError) as info:
        SandboxConfig(deviations=frozenset({"chat.stream.no-done", "chat.nonsense"}))
    assert "chat.nonsense" in str(info.value) and "chat.stream.no-done" in str(info.value)


def test_only_loopback():
    with pytest.raises(ValueError):
        start_sandbox(host="0.0.0.0")


def test_stop_returns_quickly_with_stalled_streams_open():
    sandbox = start_sandbox(SandboxConfig(deviations=frozenset({"delivery.stall"}), stream_interval_s=0.001))
    seen = threading.Event()

    def hold_stream() -> None:
        try:
            with (
                httpx.Client(timeout=30) as client,
                client.stream(
                    "POST", f"{sandbox.base_url}/v1/chat/completions", headers=bearer(), json=chat_body(stream=True)
                ) as response,
            ):
                for _ in response.iter_raw():
                    seen.set()
        except httpx.HTTPError:
            pass

    holders = [threading.Thread(target=hold_stream, daemon=True) for _ in range(3)]
    for holder in holders:
        holder.start()
    assert seen.wait(5)
    started = time.monotonic()
    sandbox.stop()
    assert time.monotonic() - started < 3.0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sandbox.base_url}/v1/models", headers=bearer(), timeout=1)


def test_extra_models_latency_and_model_override():
    config = SandboxConfig(extra_models=3, latency_s=0.05, mode="reference")
    with start_sandbox(config) as sandbox, httpx.Client(base_url=sandbox.base_url, headers=bearer()) as client:
        started = time.monotonic()
        ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
        assert time.monotonic() - started >= 0.05
        assert ids[-3:] == ["sandbox-omni-01", "sandbox-omni-02", "sandbox-omni-03"]
        assert client.post("/v1/chat/completions", json=chat_body(model="sandbox-omni-02")).status_code == 200
    only = (ModelSpec("tiny", "me", frozenset({"chat"}), ("openai",)),)
    with start_sandbox(SandboxConfig(models=only, mode="reference")) as sandbox:
        body = httpx.get(f"{sandbox.base_url}/v1/models", headers=bearer()).json()
        assert [m["id"] for m in body["data"]] == ["tiny"]


def test_config_deviations_are_active_from_the_start():
    with start_sandbox(SandboxConfig(deviations=frozenset({"errors.unknown-model-503"}), mode="reference")) as sandbox:
        r = httpx.post(f"{sandbox.base_url}/v1/chat/completions", headers=bearer(), json=chat_body(model="nope"))
        assert r.status_code == 503
        assert sandbox.deviations == {"errors.unknown-model-503"}
        with pytest.raises(ValueError):
            sandbox.set_deviations(["not-a-deviation"])


def test_catalogue_claims_and_reality():
    by_id = {m.id: m for m in DEFAULT_MODELS}
    assert "openai-response" in by_id["sandbox-chat"].claims and not by_id["sandbox-chat"].supports("responses")
    assert by_id["sandbox-flaky"].is_broken("chat.stream") and by_id["sandbox-flaky"].supports("chat.stream")
    assert len(DEVIATION_NAMES) == len(set(DEVIATION_NAMES)) >= 60
    assert all(d.family in FAMILIES and d.name.startswith(d.family + ".") for d in DEVIATIONS)


SCHEMAS = [
    {
        "type": "object",
        "properties": {"a": {"type": "integer", "exclusiveMinimum": 10, "multipleOf": 5}},
        "required": ["a"],
    },
    {
        "type": "object",
        "properties": {"x": {"anyOf": [{"type": "null"}, {"type": "number", "maximum": 0.25}]}},
        "required": ["x"],
    },
    {
        "$defs": {
            "P": {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}}, "required": ["id"]}
        },
        "type": "object",
        "properties": {"p": {"$ref": "#/$defs/P"}, "when": {"type": "string", "format": "date-time"}},
        "required": ["p", "when"],
        "additionalProperties": False,
    },
    {"type": "array", "items": {"type": "integer"}, "minItems": 3, "uniqueItems": True},
    {"type": "object", "properties": {"s": {"type": "string", "minLength": 12, "maxLength": 14}}, "required": ["s"]},
    {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "boolean"}}, "required": ["a"]},
            {"properties": {"b": {"const": "k"}}, "required": ["b"]},
        ]
    },
    {"type": ["string", "null"], "enum": ["x", "y", None]},
    {"type": "object", "minProperties": 2, "properties": {"a": {"type": "string"}, "b": {"type": "string"}}},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_generated_instances_validate(schema):
    jsonschema.validate(oracle.schema_instance(schema), schema)


def test_generate_rules():
    assert oracle.generate("a b c d", max_tokens=2).text == "a b"
    assert oracle.generate("a b c d", stops=["c", "b"]).text == "a "
    gen = oracle.generate("a b c d", max_tokens=1, stops=["d"])
    assert (gen.text, gen.finish) == ("a", "length")
    assert "".join(oracle.pieces("  lead  and trail ")) == "  lead  and trail "
    assert oracle.reply_text("x", "please Reply with exactly: done") == "done"


def test_new_api_is_the_default_mode_and_keeps_its_behaviours_under_switched_deviations():
    from oimi_conformance.sandbox.modes import MODES

    with start_sandbox(SandboxConfig()) as sandbox:
        assert sandbox.state.mode == "new-api"
        assert sandbox.deviations == MODES["new-api"]
        sandbox.set_deviations(["chat.stream.no-done"])
        assert sandbox.deviations == MODES["new-api"] | {"chat.stream.no-done"}
        ids = [m["id"] for m in httpx.get(f"{sandbox.base_url}/v1/models", headers=bearer()).json()["data"]]
        assert "sandbox-omni" in ids and "sandbox-omni-openai-compact" not in ids  # current new-api: no alias
    with start_sandbox(SandboxConfig(deviations=frozenset({"responses.compact-suffix"}))) as older:
        ids = [m["id"] for m in httpx.get(f"{older.base_url}/v1/models", headers=bearer()).json()["data"]]
        assert "sandbox-omni-openai-compact" in ids  # older new-api: the operator's compact alias, listed
    with pytest.raises(ValueError, match="unknown sandbox mode"):
        SandboxConfig(mode="nosuch")
