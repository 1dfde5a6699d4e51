"""Rule by rule: a conforming body passes, and a body that breaks exactly one rule is rejected by that
rule alone, with a message that says what is wrong."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from oimi_conformance import judge

from . import bodies as b


def rules_of(verdict) -> set[str]:
    return {v.rule for v in verdict.violations}


@pytest.mark.parametrize("kind", sorted(b.VALID_JSON_BODIES))
def test_valid_json_body_conforms(kind):
    verdict = judge(kind, json.dumps(b.VALID_JSON_BODIES[kind]))
    assert verdict.ok, [str(v) for v in verdict.violations]


@pytest.mark.parametrize("kind", sorted(b.valid_streams()))
def test_valid_stream_conforms(kind):
    body, request = b.valid_streams()[kind]
    verdict = judge(kind, body, request)
    assert verdict.ok, [str(v) for v in verdict.violations]
    assert verdict.events >= 2


def _parent(body: Any, path: str) -> tuple[Any, Any]:
    """The container holding the last step of a dotted path, and that step (index or key)."""
    *head, last = path.split(".")
    node = body
    for part in head:
        node = node[int(part)] if part.isdigit() else node[part]
    return node, int(last) if last.isdigit() else last


def _drop(path: str) -> Callable[[Any], None]:
    def mutate(body: Any) -> None:
        node, key = _parent(body, path)
        del node[key]
    return mutate


def _set(path: str, value: Any) -> Callable[[Any], None]:
    def mutate(body: Any) -> None:
        node, key = _parent(body, path)
        node[key] = value
    return mutate


# (kind, what breaks, mutation, rule, pointer)
SCHEMA_CASES = [
    ("openai.chat.completion", "no id", _drop("id"), "schema.required", ""),
    ("openai.chat.completion", "wrong object tag", _set("object", "chat.completion.chunk"), "schema.const", "/object"),
    ("openai.chat.completion", "unknown finish_reason", _set("choices.0.finish_reason", "done"), "schema.enum",
     "/choices/0/finish_reason"),
    ("openai.chat.completion", "role user", _set("choices.0.message.role", "user"), "schema.const",
     "/choices/0/message/role"),
    ("openai.chat.completion", "token count as string", _set("usage.total_tokens", "7"), "schema.type",
     "/usage/total_tokens"),
    ("openai.chat.completion", "choices not a list", _set("choices", {}), "schema.type", "/choices"),
    ("openai.responses", "wrong object tag", _set("object", "responses"), "schema.const", "/object"),
    ("openai.responses", "unknown status", _set("status", "done"), "schema.enum", "/status"),
    ("openai.responses", "no output", _drop("output"), "schema.required", ""),
    ("openai.responses.compact", "wrong object tag", _set("object", "response"), "schema.const", "/object"),
    ("openai.embeddings", "embedding of strings", _set("data.0.embedding", ["a"]), "schema.type",
     "/data/0/embedding/0"),
    ("openai.embeddings", "embedding as a number", _set("data.0.embedding", 1.5), "schema.anyOf",
     "/data/0/embedding"),
    ("openai.embeddings", "index missing", _drop("data.0.index"), "schema.required", "/data/0"),
    ("openai.images", "image with neither url nor b64_json", _set("data.0", {"revised_prompt": "x"}),
     "schema.anyOf", "/data/0"),
    ("openai.models", "model without id", _drop("data.0.id"), "schema.required", "/data/0"),
    ("openai.models", "wrong list tag", _set("object", "models"), "schema.const", "/object"),
    ("openai.model", "created as string", _set("created", "yesterday"), "schema.type", "/created"),
    ("rerank", "negative index", _set("results.0.index", -1), "schema.minimum", "/results/0/index"),
    ("rerank", "score missing", _drop("results.0.relevance_score"), "schema.required", "/results/0"),
    ("anthropic.messages", "role user", _set("role", "user"), "schema.const", "/role"),
    ("anthropic.messages", "unknown stop_reason", _set("stop_reason", "finished"), "schema.enum", "/stop_reason"),
    ("anthropic.messages", "output tokens as string", _set("usage.output_tokens", "1"), "schema.type",
     "/usage/output_tokens"),
    ("anthropic.messages", "wrong type tag", _set("type", "msg"), "schema.const", "/type"),
    ("anthropic.models", "wrong model tag", _set("data.0.type", "llm"), "schema.const", "/data/0/type"),
    ("gemini.generate_content", "role assistant", _set("candidates.0.content.role", "assistant"), "schema.const",
     "/candidates/0/content/role"),
    ("gemini.generate_content", "unknown finishReason", _set("candidates.0.finishReason", "DONE"), "schema.anyOf",
     "/candidates/0/finishReason"),
    ("gemini.generate_content", "token count as string", _set("usageMetadata.totalTokenCount", "6"), "schema.type",
     "/usageMetadata/totalTokenCount"),
    ("gemini.models", "models not a list", _set("models", {}), "schema.type", "/models"),
    ("error.openai", "no message", _drop("error.message"), "schema.required", "/error"),
    ("error.openai", "bare envelope", lambda body: body.update(body.pop("error")), "schema.required", ""),
    ("error.anthropic", "wrong outer type", _set("type", "err"), "schema.const", "/type"),
    ("error.google", "code as string", _set("error.code", "400"), "schema.type", "/error/code"),
]


@pytest.mark.parametrize(("kind", "what", "mutate", "rule", "pointer"), SCHEMA_CASES,
                         ids=[f"{c[0]}:{c[1]}" for c in SCHEMA_CASES])
def test_schema_rule_rejects(kind, what, mutate, rule, pointer):
    body = copy.deepcopy(b.VALID_JSON_BODIES[kind])
    mutate(body)
    verdict = judge(kind, json.dumps(body))
    assert not verdict.ok, f"{kind} accepted a body with {what}"
    found = {(v.rule, v.pointer) for v in verdict.violations}
    assert (rule, pointer) in found, [str(v) for v in verdict.violations]
    assert all(v.spec.startswith("specs/schemas/") and "#" in v.spec for v in verdict.violations)


def test_invalid_json_body_is_a_framing_violation():
    verdict = judge("openai.chat.completion", b"<html>502 Bad Gateway</html>")
    assert rules_of(verdict) == {"framing.invalid-json"}
    assert "not JSON" in verdict.violations[0].message


def _chat(mutate: Callable[[list[Any]], None], *, tools: bool = False, done: bool = True,
          request: dict[str, Any] | None = None) -> tuple[str, str, dict[str, Any] | None]:
    events = b.chat_tool_stream_events() if tools else b.chat_stream_events()
    mutate(events)
    return "openai.chat.completion.stream", b.sse(events, done=done), request


def _anthropic(mutate: Callable[[list[Any]], None]) -> tuple[str, str, None]:
    events = b.anthropic_stream_events(tool=True)
    mutate(events)
    return "anthropic.messages.stream", b.sse(events, named=True), None


def _responses(mutate: Callable[[list[Any]], None]) -> tuple[str, str, None]:
    events = b.responses_stream_events()
    mutate(events)
    return "openai.responses.stream", b.sse(events, named=True), None


def _gemini(mutate: Callable[[list[Any]], None]) -> tuple[str, str, None]:
    events = b.gemini_stream_events()
    mutate(events)
    return "gemini.stream.sse", b.sse(events), None


def _noop(events: list[Any]) -> None:
    return None


def _set_delta(i: int, delta: dict[str, Any]) -> Callable[[list[Any]], None]:
    return lambda events: events[i]["choices"][0].update(delta=delta)


INCLUDE_USAGE = {"stream_options": {"include_usage": True}}

# (what breaks, (kind, body, request), rule, words the message must contain)
STREAM_CASES: list[tuple[str, tuple[str, str, Any], str, str]] = [
    ("no [DONE]", _chat(_noop, done=False), "grammar.incomplete", "[DONE]"),
    ("chunk after [DONE]", ("openai.chat.completion.stream",
                             b.sse(b.chat_stream_events()[:-1], done=True) + b.sse([b.chunk({})]),
                             None), "grammar.after-end", "already ended"),
    ("double [DONE]", ("openai.chat.completion.stream", b.sse(b.chat_stream_events(), done=True) + "data: [DONE]\n\n",
                       None), "grammar.after-end", "already ended"),
    ("[DONE] first", ("openai.chat.completion.stream", "data: [DONE]\n\n", None), "grammar.order", "[DONE]"),
    ("empty stream", ("openai.chat.completion.stream", ": PING\n\n", None), "grammar.empty", "no events"),
    ("id changes", _chat(lambda e: e[2].update(id="chatcmpl-2")), "stream.constant-field", "changed"),
    ("role twice", _chat(_set_delta(1, {"role": "assistant", "content": "Hel"})), "stream.chat-choices",
     "role more than once"),
    ("content after finish", _chat(lambda e: e.insert(4, b.chunk({"content": "late"}))), "stream.chat-choices",
     "after its finish_reason"),
    ("no finish_reason", _chat(lambda e: e[3]["choices"][0].update(finish_reason=None)), "stream.chat-choices",
     "never sent a finish_reason"),
    ("usage chunk missing when requested", _chat(lambda e: e.pop(), request=INCLUDE_USAGE), "stream.chat-choices",
     "include_usage"),
    ("usage before content", _chat(lambda e: e.insert(1, e.pop()), request=INCLUDE_USAGE), "stream.chat-choices",
     "after the usage chunk"),
    ("event data not JSON", ("openai.chat.completion.stream",
                             b.sse(b.chat_stream_events()[:1]) + "data: {oops\n\n" + b.sse(b.chat_stream_events()[1:],
                                                                                             done=True), None),
     "framing.invalid-json", "not JSON"),
    ("truncated mid-event", ("openai.chat.completion.stream", b.sse(b.chat_stream_events(), done=True)[:-3], None),
     "framing.truncated", ""),
    ("invalid UTF-8", ("openai.chat.completion.stream",
                       b.sse(b.chat_stream_events()[:1]) + "data: \udcff\n\n", None), "framing.invalid-utf8", ""),
    ("tool index from 1", _chat(lambda e: [c["choices"][0]["delta"]["tool_calls"][0].update(index=1) for c in e[:3]],
                                tools=True), "stream.chat-tool-calls", "index 0 was expected"),
    ("tool call without id", _chat(lambda e: e[0]["choices"][0]["delta"]["tool_calls"][0].pop("id"), tools=True),
     "stream.chat-tool-calls", "lacks its id"),
    ("tool arguments not JSON", _chat(lambda e: e.pop(2), tools=True), "stream.chat-tool-calls", "not JSON"),
    ("tool arguments not an object", _chat(
        lambda e: [e[1]["choices"][0]["delta"]["tool_calls"][0]["function"].update(arguments="[1"),
                   e[2]["choices"][0]["delta"]["tool_calls"][0]["function"].update(arguments="]")], tools=True),
     "stream.chat-tool-calls", "not an object"),
    ("anthropic: no message_stop", _anthropic(lambda e: e.pop()), "grammar.incomplete", "message_stop"),
    ("anthropic: message_stop without message_delta", _anthropic(lambda e: e.__setitem__(slice(1, -1), [])),
     "grammar.order", "'message_stop' is not allowed in state 'message'"),
    ("anthropic: event name mismatch", ("anthropic.messages.stream",
                                        b.sse(b.anthropic_stream_events(), named=True).replace(
                                            "event: ping", "event: pong", 1), None),
     "framing.event-name-mismatch", "pong"),
    ("anthropic: index from 1", _anthropic(lambda e: [x.update(index=x["index"] + 1) for x in e if "index" in x]),
     "stream.anthropic-blocks", "where 0 was expected"),
    ("anthropic: wrong delta type", _anthropic(lambda e: e[3].update(
        delta={"type": "input_json_delta", "partial_json": "{}"})), "stream.anthropic-blocks", "on a 'text' block"),
    ("anthropic: input json broken", _anthropic(lambda e: e.pop(7)), "stream.anthropic-blocks", "do not join"),
    ("anthropic: message_start id then no message id", _anthropic(lambda e: None), "", ""),
    ("responses: sequence goes back", _responses(lambda e: e[5].update(sequence_number=2)),
     "stream.strictly-increasing", "does not increase"),
    ("responses: no terminal event", _responses(lambda e: e.pop()), "grammar.incomplete", "response.completed"),
    ("responses: created twice", _responses(lambda e: e.insert(1, {**copy.deepcopy(e[0])}) or [
        x.update(sequence_number=n) for n, x in enumerate(e)]), "grammar.order", "response.created"),
    ("responses: deltas differ from done", _responses(lambda e: e[5].update(delta="p")), "stream.responses-items",
     "join to"),
    ("responses: completed with empty output", _responses(lambda e: e[-1]["response"].update(output=[])),
     "stream.responses-items", "output item"),
    ("responses: completed text differs", _responses(
        lambda e: e[-1]["response"]["output"][0]["content"][0].update(text="Bye")), "stream.responses-items",
     "differs from the streamed text"),
    ("responses: item never done", _responses(lambda e: [e.pop(8)] and [
        x.update(sequence_number=n) for n, x in enumerate(e)] and e[-1]["response"].update(output=[])),
     "stream.responses-items", "never done"),
    ("responses: id changes", _responses(lambda e: e[-1]["response"].update(id="resp_2")), "stream.constant-field",
     "changed"),
    ("gemini: no finishReason", _gemini(lambda e: e[-1]["candidates"][0].pop("finishReason")),
     "stream.gemini-finish", "never sent a finishReason"),
    ("gemini: role assistant", _gemini(lambda e: e[0]["candidates"][0]["content"].update(role="assistant")),
     "schema.const", "'model' was expected"),
    ("gemini: responseId changes", _gemini(lambda e: e[1].update(responseId="r2")), "stream.constant-field", "changed"),
]
STREAM_CASES = [c for c in STREAM_CASES if c[2]]


@pytest.mark.parametrize(("what", "case", "rule", "words"), STREAM_CASES, ids=[c[0] for c in STREAM_CASES])
def test_stream_rule_rejects(what, case, rule, words):
    kind, body, request = case
    raw = body.encode("utf-8", "surrogateescape")
    verdict = judge(kind, raw, request)
    assert rules_of(verdict) == {rule}, [str(v) for v in verdict.violations]
    assert all(words in v.message for v in verdict.violations), [v.message for v in verdict.violations]


def test_gemini_json_array_framing_is_judged_by_the_same_grammar():
    events = b.gemini_stream_events()
    events[-1]["candidates"][0].pop("finishReason")
    verdict = judge("gemini.stream.json_array", b.json_array(events))
    assert rules_of(verdict) == {"stream.gemini-finish"}


def test_gemini_json_array_cut_short_is_truncated():
    verdict = judge("gemini.stream.json_array", b.json_array(b.gemini_stream_events())[:-5])
    assert "framing.truncated" in rules_of(verdict)


def test_comment_lines_are_not_events():
    body = ": PING\n\n" + b.sse(b.chat_stream_events(), done=True).replace("\n\n", "\n\n: PING\n\n", 2)
    assert judge("openai.chat.completion.stream", body, INCLUDE_USAGE).ok


def test_crlf_framing_is_accepted():
    body = b.sse(b.anthropic_stream_events(), named=True).replace("\n", "\r\n")
    assert judge("anthropic.messages.stream", body).ok
