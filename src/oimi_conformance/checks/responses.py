"""OpenAI Responses and Responses compaction: the answer's output and usage, honoured limits, forced
function calls, the stream and its final response object, and the compaction round trip."""

from __future__ import annotations

import json
from typing import Any

from .common import is_count, parse_arguments, register_stream_checks, stream_events, validate_against
from .registry import CheckContext, all_of, check, has_tag, main_kind

SPEC = "https://platform.openai.com/docs/api-reference/responses"
STREAM_SPEC = "https://platform.openai.com/docs/api-reference/responses-streaming"
COMPACT_SPEC = "https://platform.openai.com/docs/api-reference/responses/compact"
COMPACTION_GUIDE = "https://developers.openai.com/api/docs/guides/compaction"
RESPONSE = main_kind("openai.responses")
STREAM = main_kind("openai.responses.stream")
COMPACTION = main_kind("openai.responses.compact")
TERMINAL = {"response.completed": "completed", "response.incomplete": "incomplete", "response.failed": "failed"}

register_stream_checks("responses", ("openai.responses.stream",), "specs/grammars/openai.responses.stream.yaml", {
    "sequence-numbers": ("Every event's sequence_number is greater than the previous one's",
                         "Clients order and de-duplicate events (and resume streams) by sequence_number.",
                         ("stream.strictly-increasing",)),
    "items-and-text": ("Output items are added then done, text deltas join into the done text, and the final "
                       "response holds every streamed item with the same text",
                       "SDKs rebuild the answer from the deltas and then trust response.completed; the two must "
                       "agree.", ("stream.responses-items",)),
    "single-id": ("Every lifecycle event of one stream names the same response id",
                  "response.created, response.in_progress and the terminal event carry one response; its id is "
                  "what previous_response_id and retrieval use.", ("stream.constant-field",)),
})


# -- helpers ------------------------------------------------------------------------------------------

def _output(body: dict[str, Any]) -> list[dict[str, Any]]:
    output = body.get("output")
    return [item for item in output if isinstance(item, dict)] if isinstance(output, list) else []


def _types(output: list[dict[str, Any]]) -> list[str]:
    return [str(item.get("type")) for item in output]


def _terminal(events: list[dict[str, Any]]) -> tuple[str, Any] | None:
    for event in reversed(events):
        if event.get("type") in TERMINAL:
            return str(event["type"]), event.get("response")
    return None


def _usage_problem(usage: Any) -> str | None:
    """Why a Responses usage object is unusable (missing, not integers, does not add up); None when fine."""
    if not isinstance(usage, dict):
        return f"there is no usage object (usage is {json.dumps(usage)[:60]})"
    i, o, t = usage.get("input_tokens"), usage.get("output_tokens"), usage.get("total_tokens")
    if not (is_count(i) and is_count(o) and is_count(t)):
        return f"usage counts are not all integers: {json.dumps(usage)[:200]}"
    if i + o != t:
        return f"usage does not add up: input_tokens {i} + output_tokens {o} = {i + o}, but total_tokens is {t}"
    return None


def _tool(ctx: CheckContext, name: Any) -> dict[str, Any]:
    for tool in (ctx.request or {}).get("tools", []):
        if isinstance(tool, dict) and tool.get("type") == "function" and tool.get("name") == name:
            return tool
    ctx.fail(f"the model called {name!r}, which is not one of the offered function tools")


def _validate_arguments(ctx: CheckContext, arguments: Any, tool: dict[str, Any], where: str) -> None:
    value = parse_arguments(ctx, arguments, where)
    validate_against(ctx, value, tool.get("parameters"), f"{where}: arguments", "the tool's parameters")


# -- the response object ----------------------------------------------------------------------------

@check("responses.usage-arithmetic", "usage is present and total_tokens = input_tokens + output_tokens",
       spec=f"{SPEC}/object#responses/object-usage", applies=RESPONSE)
def usage_arithmetic(ctx: CheckContext) -> None:
    """Billing and budgets read these numbers; a finished response carries them, as integers that add up."""
    body = ctx.require_object()
    problem = _usage_problem(body.get("usage"))
    if problem:
        ctx.fail(f"response {body.get('id')!r} (status {body.get('status')!r}): {problem}")


@check("responses.output-text", "A completed response has a message with non-empty output_text, or a function call",
       spec=f"{SPEC}/object#responses/object-output", applies=RESPONSE)
def output_text(ctx: CheckContext) -> None:
    """SDKs expose response.output_text, the joined output_text parts of the message items; a completed
    response whose output holds neither text nor a function call answered nothing."""
    body = ctx.require_object()
    status = body.get("status")
    if status not in (None, "completed"):
        ctx.skip(f"status {status!r}: only a completed response must carry its whole answer")
    output = _output(body)
    if any(item.get("type") == "function_call" for item in output):
        return
    messages = [item for item in output if item.get("type") == "message"]
    if not messages:
        ctx.fail(f"a completed response has no message output item and no function_call; output item types: "
                 f"{_types(output)}")
    parts = [part for item in messages for part in item.get("content") or [] if isinstance(part, dict)]
    text = "".join(str(p.get("text") or "") for p in parts if p.get("type") == "output_text")
    refusal = "".join(str(p.get("refusal") or "") for p in parts if p.get("type") == "refusal")
    if not text.strip() and not refusal.strip():
        ctx.fail(f"a completed response's message item(s) carry no output_text (content part types: "
                 f"{[p.get('type') for p in parts]}, text {text!r})")


@check("responses.max-output-tokens-honoured", "The answer is no longer than max_output_tokens, and a cut answer "
       "says so (status incomplete, reason max_output_tokens)",
       spec=f"{SPEC}/create#responses-create-max_output_tokens",
       applies=all_of(RESPONSE, has_tag("max_output_tokens")))
def max_output_tokens_honoured(ctx: CheckContext) -> None:
    """usage.output_tokens (visible and reasoning tokens) never exceeds max_output_tokens; a response the
    limit cut is incomplete with incomplete_details.reason max_output_tokens, never 'completed' with a
    silently truncated answer or 'failed'."""
    body = ctx.require_object()
    limit = (ctx.request or {}).get("max_output_tokens")
    status = body.get("status")
    reason = (body.get("incomplete_details") or {}).get("reason") if isinstance(
        body.get("incomplete_details"), dict) else None
    if status == "incomplete" and reason not in ("max_output_tokens", "content_filter"):
        ctx.fail(f"status incomplete with incomplete_details.reason {reason!r}; a response cut by the "
                 f"{limit}-token limit says reason 'max_output_tokens'")
    if "max_output_tokens_tight" in ctx.case.tags and status not in ("completed", "incomplete"):
        ctx.fail(f"status {status!r} after a {limit}-token limit; expected 'incomplete' (reason max_output_tokens) "
                 f"or 'completed' for an answer that short")
    usage = body.get("usage")
    used = usage.get("output_tokens") if isinstance(usage, dict) else None
    if not isinstance(used, int):
        ctx.skip("no usage.output_tokens to compare; see responses.usage-arithmetic")
    if isinstance(limit, int) and used > limit:
        ctx.fail(f"usage.output_tokens {used} exceeds max_output_tokens {limit} (status {status!r})")
    # 'completed' only below the limit: an answer that fills it exactly on a prompt asking for a long answer
    # was cut, and calling it completed hides the truncation from the client
    if "max_output_tokens_tight" in ctx.case.tags and status == "completed" and isinstance(limit, int) \
            and used >= limit:
        ctx.fail(f"status 'completed' with output_tokens {used} under a {limit}-token limit on a prompt that wants a "
                 "long answer; expected 'incomplete' (reason max_output_tokens), or 'completed' below the limit")


@check("responses.function-call", "A forced function call names the tool, has a call_id, and carries JSON-string "
       "arguments valid for the tool's parameters",
       spec=f"{SPEC}/object#responses/object-output",
       applies=all_of(RESPONSE, lambda case: "tools" in case.tags and "stream" not in case.tags))
def function_call(ctx: CheckContext) -> None:
    """tool_choice {type: function, name} forces a function_call output item; call_id is what the client
    answers with function_call_output, and arguments is a JSON string matching the parameters schema."""
    body = ctx.require_object()
    forced = ((ctx.request or {}).get("tool_choice") or {}).get("name")
    calls = [item for item in _output(body) if item.get("type") == "function_call"]
    if not calls:
        ctx.fail(f"tool_choice forced {forced!r} but no function_call output item came back (status "
                 f"{body.get('status')!r}, output item types {_types(_output(body))})")
    for n, call in enumerate(calls):
        where = f"function_call {n} ({call.get('name')!r})"
        if not isinstance(call.get("call_id"), str) or not call["call_id"]:
            ctx.fail(f"{where}: no call_id, so the client cannot answer it with a function_call_output")
        if forced and call.get("name") != forced:
            ctx.fail(f"tool_choice forced {forced!r} but the call names {call.get('name')!r}")
        _validate_arguments(ctx, call.get("arguments"), _tool(ctx, call.get("name")), where)


# -- the stream -------------------------------------------------------------------------------------

@check("responses.stream-completed-matches", "The stream ends in a final response that holds what was streamed, "
       "with a status matching its event, and usage",
       spec=f"{STREAM_SPEC}/response/completed", applies=STREAM)
def stream_completed_matches(ctx: CheckContext) -> None:
    """Clients take the finished answer from the terminal event's response (openai-python's
    get_final_response): its status must match the event, its output must hold every item that was
    streamed (gateways have been seen to send response.completed with an empty output), its model must
    be the stream's model, and it must carry usage."""
    events = stream_events(ctx)
    found = _terminal(events)
    if found is None:
        last = events[-1].get("type") if events else None
        ctx.fail(f"the stream has no response.completed, response.incomplete or response.failed event, so a "
                 f"client never gets the final response ({len(events)} events, the last {last!r})")
    kind, response = found
    if not isinstance(response, dict):
        ctx.fail(f"{kind} carries no response object")
    if response.get("status") != TERMINAL[kind]:
        ctx.fail(f"{kind} carries a response with status {response.get('status')!r}, expected {TERMINAL[kind]!r}")
    if kind == "response.failed":
        ctx.fail(f"the stream ended in response.failed: {json.dumps(response.get('error'))[:200]}")
    streamed: dict[int, str] = {}
    for event in events:
        if event.get("type") in ("response.output_item.added", "response.output_item.done") and isinstance(
                event.get("output_index"), int) and isinstance(event.get("item"), dict):
            streamed[event["output_index"]] = str(event["item"].get("type"))
    deltas = sum(1 for e in events if str(e.get("type", "")).endswith(".delta"))
    output = _output(response)
    if (streamed or deltas) and not output:
        ctx.fail(f"{kind} has an empty output, but {len(streamed)} output item(s) and {deltas} delta(s) were "
                 f"streamed")
    final = dict(enumerate(_types(output)))
    mismatched = {i: (t, final.get(i)) for i, t in streamed.items() if final.get(i) != t}
    if mismatched:
        ctx.fail(f"{kind} output does not hold the streamed items (output_index: streamed type, final type): "
                 f"{mismatched}")
    created = next((e.get("response") for e in events if e.get("type") == "response.created"), None)
    first_model = created.get("model") if isinstance(created, dict) else None
    if not response.get("model") or (first_model and response.get("model") != first_model):
        ctx.fail(f"{kind} names model {response.get('model')!r}; response.created named {first_model!r}")
    problem = _usage_problem(response.get("usage"))
    if problem:
        ctx.fail(f"{kind}: {problem}")


@check("responses.stream-agrees", "Streamed and non-streamed answers agree on status and output item types",
       spec=STREAM_SPEC, applies=all_of(RESPONSE, has_tag("stream-agrees")))
def stream_agrees(ctx: CheckContext) -> None:
    """Same request, stream on and off: the streamed final response has the same status and the same kinds
    of output items (message, function_call; reasoning items are left out) as the plain answer."""
    body = ctx.require_object()
    events = stream_events(ctx, "stream")
    found = _terminal(events)
    if found is None or not isinstance(found[1], dict):
        ctx.skip("the stream has no final response to compare; see responses.stream-completed-matches")
    streamed = found[1]

    def shape(response: dict[str, Any]) -> list[str]:
        return [t for t in _types(_output(response)) if t != "reasoning"]

    if body.get("status") != streamed.get("status"):
        ctx.fail(f"status {body.get('status')!r} without streaming, {streamed.get('status')!r} streamed")
    if shape(body) != shape(streamed):
        ctx.fail(f"output item types {shape(body)} without streaming, {shape(streamed)} streamed")


# -- compaction -------------------------------------------------------------------------------------

def _compaction_items(output: list[dict[str, Any]]) -> list[int]:
    return [i for i, item in enumerate(output) if item.get("type") == "compaction"]


@check("compact.object", "A compaction is object response.compaction whose output ends with exactly one "
       "compaction item carrying encrypted_content", spec=COMPACT_SPEC,
       applies=COMPACTION)
def compact_object(ctx: CheckContext) -> None:
    """The compacted output is 'all user messages, followed by a single compaction item'; the item's
    encrypted_content is what carries the summarised context into the next request."""
    body = ctx.require_object()
    if body.get("object") != "response.compaction":
        ctx.fail(f"object is {body.get('object')!r}, expected 'response.compaction'")
    output = _output(body)
    where = _compaction_items(output)
    if len(where) != 1:
        ctx.fail(f"expected exactly one compaction output item, found {len(where)}; output item types "
                 f"{_types(output)}")
    item = output[where[0]]
    content = item.get("encrypted_content")
    if not isinstance(content, str) or not content:
        ctx.fail(f"the compaction item has no encrypted_content (got {json.dumps(content)[:60]})")
    if where[0] != len(output) - 1:
        ctx.fail(f"the compaction item is output[{where[0]}] of {len(output)}; it must come last, after the "
                 f"retained user messages (output item types {_types(output)})")


@check("compact.roundtrip-accepted", "The compaction output, followed by a new user message, is accepted as the "
       "input of /v1/responses", spec=COMPACTION_GUIDE, applies=has_tag("compact-roundtrip"))
def compact_roundtrip(ctx: CheckContext) -> None:
    """Compaction exists to be fed back: the next /v1/responses call sends the compacted output (with its
    compaction item) plus the new turn, and must get a normal response, not a 4xx about an unknown item
    type or an encrypted_content the gateway's other channel cannot read."""
    compacted = ctx.require_object()
    if not _compaction_items(_output(compacted)):
        ctx.skip("the compaction answer has no compaction item to feed back; see compact.object")
    reuse = ctx.exchange_of("reuse")
    sent = reuse.request_json.get("input") if isinstance(reuse.request_json, dict) else None
    if not isinstance(sent, list) or not any(isinstance(i, dict) and i.get("type") == "compaction" for i in sent):
        ctx.skip("the follow-up request did not carry the compaction item (see the case's $concat template)")
    status = reuse.status or 0
    if not 200 <= status < 300:
        detail = ""
        if isinstance(reuse.json, dict):
            error = reuse.json.get("error")
            detail = str(error.get("message", "") if isinstance(error, dict) else error or "")[:200]
        ctx.fail(f"/v1/responses refused the compaction output fed back as input: HTTP {status}"
                 + (f": {detail}" if detail else f" {reuse.body_text(160)!r}"))
    body = reuse.json
    if not isinstance(body, dict) or body.get("object") != "response":
        ctx.fail(f"the follow-up answered HTTP {status} but not with a response object: {reuse.body_text(160)!r}")
    if body.get("status") not in ("completed", "incomplete"):
        ctx.fail(f"the follow-up response has status {body.get('status')!r}; expected completed or incomplete "
                 f"(error: {json.dumps(body.get('error'))[:160]})")


@check("compact.never-streamed", "stream: true on /v1/responses/compact is refused or ignored, never answered "
       "with an event stream", spec=f"{COMPACT_SPEC}; gateway-facts.md#Endpoints with special rules",
       applies=has_tag("compact-stream"))
def compact_never_streamed(ctx: CheckContext) -> None:
    """The compact endpoint has no stream parameter (OpenAI rejects unknown parameters with 400; new-api
    drops it and answers the JSON compaction). Either is fine; an SSE answer breaks every client, whose
    compact() call parses one JSON object."""
    exchange = ctx.exchange
    head = exchange.body.lstrip()[:6]
    if exchange.is_event_stream or head.startswith((b"event:", b"data:")):
        ctx.fail(f"answered an event stream (HTTP {exchange.status}, Content-Type {exchange.content_type or 'none'}"
                 f"): {exchange.body_text(120)!r}; compaction is never streamed")
    status = exchange.status or 0
    if 400 <= status < 500:
        return  # refused: errors.envelope judges the error body
    if not 200 <= status < 300:
        ctx.skip(f"HTTP {status}; see http.expected-status")
    body = exchange.json
    if not isinstance(body, dict) or body.get("object") != "response.compaction":
        ctx.fail(f"HTTP {status} with a body that is not a compaction object: {exchange.body_text(160)!r}")
