"""Chat Completions: the answer's shape, usage arithmetic, honoured parameters, tools, JSON output,
and the stream."""

from __future__ import annotations

import json
from typing import Any

from .common import parse_arguments, register_stream_checks, stream_events, validate_against
from .registry import CheckContext, all_of, check, has_tag, main_kind

SPEC = "https://platform.openai.com/docs/api-reference/chat"
COMPLETION = main_kind("openai.chat.completion")
STREAM = main_kind("openai.chat.completion.stream")


def chat_tag(*tags: str):
    """Chat cases (non-streamed) carrying one of ``tags``: other areas reuse tag names."""
    return all_of(COMPLETION, has_tag(*tags))

register_stream_checks("chat", ("openai.chat.completion.stream",), "specs/grammars/openai.chat.stream.yaml", {
    "single-id": ("Every chunk of one stream carries the same id",
                  "Clients key the stream by its id.", ("stream.constant-field",)),
    "choices": ("Each choice announces its role once, ends with one finish_reason, and usage comes last",
                "No content after finish_reason; the usage chunk (empty choices) after every content chunk "
                "when stream_options.include_usage is set.", ("stream.chat-choices",)),
    "tool-call-fragments": ("Streamed tool calls start at index 0 with id and name, and their argument "
                            "fragments join into a JSON object",
                            "Gateways have been seen to start indices at 1, drop ids, and lose the last "
                            "argument fragment at finish_reason.", ("stream.chat-tool-calls",)),
})


def _choices(ctx: CheckContext) -> list[dict[str, Any]]:
    body = ctx.require_json()
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list) or not choices:
        ctx.skip("no choices to judge; see body.schema")
    return [c for c in choices if isinstance(c, dict)]


@check("chat.usage-arithmetic", "usage.total_tokens = prompt_tokens + completion_tokens", spec=f"{SPEC}/object",
       applies=COMPLETION)
def usage_arithmetic(ctx: CheckContext) -> None:
    """Billing and budgets read these numbers; they must be present, integers, and add up."""
    body = ctx.require_json()
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        ctx.fail("the completion has no usage object")
    p, c, t = usage.get("prompt_tokens"), usage.get("completion_tokens"), usage.get("total_tokens")
    if not (isinstance(p, int) and isinstance(c, int) and isinstance(t, int)):
        ctx.fail(f"usage counts are not all integers: {usage!r:.200}")
    if p + c != t:
        ctx.fail(f"usage does not add up: prompt_tokens {p} + completion_tokens {c} = {p + c}, "
                 f"but total_tokens is {t}")


@check("chat.max-tokens-honoured", "The answer is no longer than max_tokens", spec=f"{SPEC}/create",
       applies=chat_tag("max_tokens"))
def max_tokens_honoured(ctx: CheckContext) -> None:
    """completion_tokens never exceeds max_tokens; when the limit cuts the answer, finish_reason is length."""
    body = ctx.require_json()
    limit = (ctx.request or {}).get("max_tokens")
    usage = body.get("usage") if isinstance(body, dict) else None
    used = usage.get("completion_tokens") if isinstance(usage, dict) else None
    if not isinstance(used, int):
        ctx.skip("no completion_tokens to compare; see chat.usage-arithmetic")
    if isinstance(limit, int) and used > limit:
        ctx.fail(f"completion_tokens {used} exceeds max_tokens {limit}")
    if "max_tokens_tight" in ctx.case.tags:
        for choice in _choices(ctx):
            reason = choice.get("finish_reason")
            # 'stop' only for an answer that ended below the limit: one that fills it exactly on a prompt asking
            # for a long answer was cut, and a client that continues on 'length' must be told so
            if reason == "length" or (reason == "stop" and isinstance(limit, int) and used < limit):
                continue
            ctx.fail(f"choice {choice.get('index')}: finish_reason {reason!r} with completion_tokens {used} under a "
                     f"{limit}-token limit on a prompt that wants a long answer; expected 'length' (or 'stop' "
                     "below the limit)")


@check("chat.n-honoured", "n asks for that many choices, indexed 0 to n-1", spec=f"{SPEC}/create#chat-create-n",
       applies=chat_tag("n"))
def n_honoured(ctx: CheckContext) -> None:
    """Each choice once, in order."""
    wanted = (ctx.request or {}).get("n", 1)
    indices = [c.get("index") for c in _choices(ctx)]
    if sorted(indices, key=_index_order) != list(range(wanted)):
        ctx.fail(f"n={wanted} but the choices are indexed {indices}")


@check("chat.stop-honoured", "A stop sequence never appears in the answer", spec=f"{SPEC}/create#chat-create-stop",
       applies=chat_tag("stop"))
def stop_honoured(ctx: CheckContext) -> None:
    """Generation ends before the stop sequence; it is not returned."""
    stops = (ctx.request or {}).get("stop") or []
    stops = [stops] if isinstance(stops, str) else stops
    for choice in _choices(ctx):
        content = (choice.get("message") or {}).get("content") or ""
        for stop in stops:
            if stop in content:
                ctx.fail(f"choice {choice.get('index')}: the answer contains the stop sequence {stop!r}: "
                         f"{content[:120]!r}")


def _index_order(value: Any) -> tuple[bool, int, str]:
    """Sorts choice indices: integers in order, then anything else a gateway sent (None, strings) by its text,
    so a malformed index is reported rather than a TypeError raised."""
    number = isinstance(value, int) and not isinstance(value, bool)
    return (not number, value if number else 0, repr(value))


def _tool(ctx: CheckContext, name: Any) -> dict[str, Any]:
    for tool in (ctx.request or {}).get("tools", []):
        fn = tool.get("function", {})
        if fn.get("name") == name:
            return fn
    ctx.fail(f"the model called {name!r}, which is not one of the offered tools")


@check("chat.tool-call", "A forced tool call names the tool and carries arguments valid for its parameters",
       spec=f"{SPEC}/object#chat/object-choices", applies=chat_tag("tools"))
def tool_call(ctx: CheckContext) -> None:
    """arguments is a JSON string (not an object) that validates against the tool's parameters schema."""
    forced = ((ctx.request or {}).get("tool_choice") or {}).get("function", {}).get("name")
    for choice in _choices(ctx):
        calls = (choice.get("message") or {}).get("tool_calls")
        if not calls:
            ctx.fail(f"choice {choice.get('index')}: tool_choice forced {forced!r} but no tool_calls came back")
        for call in calls:
            fn = call.get("function") or {}
            if forced and fn.get("name") != forced:
                ctx.fail(f"tool_choice forced {forced!r} but the call names {fn.get('name')!r}")
            _validate_arguments(ctx, fn.get("arguments"), _tool(ctx, fn.get("name")))


def _validate_arguments(ctx: CheckContext, arguments: Any, tool: dict[str, Any]) -> None:
    value = parse_arguments(ctx, arguments, "function")
    validate_against(ctx, value, tool.get("parameters"), "function.arguments", "the tool's parameters")


@check("chat.stream-tool-call", "A streamed forced tool call joins into arguments valid for the tool's parameters",
       spec=f"{SPEC}/streaming", applies=all_of(STREAM, has_tag("tools")))
def stream_tool_call(ctx: CheckContext) -> None:
    """The fragments of function.arguments, joined in order, validate against the tool's parameters."""
    calls: dict[int, dict[str, Any]] = {}
    for data in stream_events(ctx):
        for choice in data.get("choices") or []:
            for call in (choice.get("delta") or {}).get("tool_calls") or []:
                slot = calls.setdefault(call.get("index", 0), {"name": None, "arguments": ""})
                fn = call.get("function") or {}
                slot["name"] = slot["name"] or fn.get("name")
                slot["arguments"] += fn.get("arguments") or ""
    if not calls:
        ctx.fail("tool_choice forced a tool call but the stream carried no tool_calls deltas")
    for slot in calls.values():
        _validate_arguments(ctx, slot["arguments"], _tool(ctx, slot["name"]))


@check("chat.json-output", "response_format json_object / json_schema answers JSON (valid against the schema)",
       spec=f"{SPEC}/create#chat-create-response_format", applies=chat_tag("json_object", "json_schema"))
def json_output(ctx: CheckContext) -> None:
    """The message content parses as a JSON object; with json_schema it validates against that schema."""
    fmt = (ctx.request or {}).get("response_format") or {}
    for choice in _choices(ctx):
        if choice.get("finish_reason") == "length":
            ctx.skip("the answer was cut by max_tokens, so it cannot be whole JSON")
        content = (choice.get("message") or {}).get("content")
        try:
            value = json.loads(content or "")
        except (ValueError, RecursionError):
            ctx.fail(f"response_format {fmt.get('type')} but the content is not JSON: {str(content)[:120]!r}")
        if not isinstance(value, dict):
            ctx.fail(f"response_format {fmt.get('type')} but the content is JSON {type(value).__name__}, not an object")
        schema = (fmt.get("json_schema") or {}).get("schema")
        if schema:
            validate_against(ctx, value, schema, f"choice {choice.get('index')} content", "the requested json_schema")


@check("chat.stream-agrees", "Streamed and non-streamed answers agree on choices and finish reason",
       spec=f"{SPEC}/streaming", applies=chat_tag("stream-agrees"))
def stream_agrees(ctx: CheckContext) -> None:
    """Same request, stream on and off: the same number of choices, each with the same finish_reason."""
    plain = {c.get("index"): c.get("finish_reason") for c in _choices(ctx)}
    streamed: dict[Any, Any] = {}
    for data in stream_events(ctx, "stream"):
        for choice in data.get("choices") or []:
            if choice.get("finish_reason") is not None:
                streamed[choice.get("index")] = choice.get("finish_reason")
    if set(plain) != set(streamed):
        ctx.fail(f"non-stream choices {sorted(plain, key=_index_order)} but the stream finished choices "
                 f"{sorted(streamed, key=_index_order)}")
    for index, reason in plain.items():
        if streamed[index] != reason:
            ctx.fail(f"choice {index}: finish_reason {reason!r} without streaming, {streamed[index]!r} streamed")
