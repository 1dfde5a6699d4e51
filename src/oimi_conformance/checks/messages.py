"""Claude Messages: usage, honoured max_tokens and stop sequences, forced tool use (plain and streamed),
a non-empty answer, and the stream's framing, order and content blocks."""

from __future__ import annotations

import json
from typing import Any, TypeGuard

from .common import register_stream_checks, stream_events, validate_against
from .registry import CheckContext, all_of, check, has_tag, main_kind

SPEC = "https://platform.claude.com/docs/en/api/messages/create"
STREAM_SPEC = "https://platform.claude.com/docs/en/build-with-claude/streaming"
TOOLS_SPEC = "https://platform.claude.com/docs/en/agents-and-tools/tool-use/implement-tool-use"
MESSAGE = main_kind("anthropic.messages")
STREAM = main_kind("anthropic.messages.stream")

register_stream_checks("messages", ("anthropic.messages.stream",), "specs/grammars/anthropic.messages.stream.yaml", {
    "content-blocks": ("Content blocks are indexed from 0 without gaps, each started, delta'd with its own delta "
                       "type, and stopped before message_delta; tool input fragments join into a JSON object",
                       "The Anthropic SDKs index their content list by the event's index: a gap or a block left "
                       "open crashes them or loses text.", ("stream.anthropic-blocks",)),
    "single-id": ("One stream carries one message id",
                  "message_start names the message; clients key the stream by it.", ("stream.constant-field",)),
})


# -- helpers ------------------------------------------------------------------------------------------

def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _text(message: dict[str, Any]) -> str:
    return "".join(str(b.get("text") or "") for b in _blocks(message) if b.get("type") == "text")


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _streamed_message(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The message a client rebuilds from the events (as the SDKs' accumulators do): blocks by index with
    text and tool input joined, stop_reason / stop_sequence / usage from the last message_delta."""
    message: dict[str, Any] = {"content": [], "stop_reason": None, "stop_sequence": None, "usage": {}}
    blocks: dict[int, dict[str, Any]] = {}
    for event in events:
        kind = event.get("type")
        index = event.get("index")
        if kind == "message_start" and isinstance(event.get("message"), dict):
            start = event["message"]
            message.update(id=start.get("id"), model=start.get("model"))
            message["usage"] = dict(start.get("usage") or {}) if isinstance(start.get("usage"), dict) else {}
        elif kind == "content_block_start" and _is_int(index) and isinstance(event.get("content_block"), dict):
            block = dict(event["content_block"])
            if block.get("type") in ("tool_use", "server_tool_use", "mcp_tool_use"):
                block["partial_json"] = ""
            blocks[index] = block
        elif kind == "content_block_delta" and _is_int(index) and index in blocks:
            delta = event.get("delta")
            if not isinstance(delta, dict):
                delta = {}
            if delta.get("type") == "text_delta":
                blocks[index]["text"] = str(blocks[index].get("text") or "") + str(delta.get("text") or "")
            elif delta.get("type") == "input_json_delta" and "partial_json" in blocks[index]:
                blocks[index]["partial_json"] += str(delta.get("partial_json") or "")
        elif kind == "message_delta":
            delta = event.get("delta")
            if not isinstance(delta, dict):
                delta = {}
            message["stop_reason"] = delta.get("stop_reason")
            message["stop_sequence"] = delta.get("stop_sequence")
            if isinstance(event.get("usage"), dict):
                message["usage"].update(event["usage"])
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return message


def _tool(ctx: CheckContext, name: Any) -> dict[str, Any]:
    for tool in (ctx.request or {}).get("tools", []):
        if isinstance(tool, dict) and tool.get("name") == name:
            return tool
    ctx.fail(f"the model used {name!r}, which is not one of the offered tools")


def _validate_input(ctx: CheckContext, value: Any, tool: dict[str, Any], where: str) -> None:
    if not isinstance(value, dict):
        ctx.fail(f"{where}: input must be a JSON object, got {type(value).__name__}: {json.dumps(value)[:120]}")
    validate_against(ctx, value, tool.get("input_schema"), f"{where}: input", "the tool's input_schema")


def _forced(ctx: CheckContext) -> Any:
    choice = (ctx.request or {}).get("tool_choice") or {}
    return choice.get("name") if choice.get("type") == "tool" else None


# -- checks -----------------------------------------------------------------------------------------

@check("messages.usage", "usage.input_tokens and usage.output_tokens are present as integers (in streams: in "
       "message_start and message_delta)", spec=f"{SPEC}#response-usage", applies=main_kind(
           "anthropic.messages", "anthropic.messages.stream"))
def usage(ctx: CheckContext) -> None:
    """Billing reads these counts. A plain message carries both; a stream carries input_tokens in
    message_start's message.usage and the cumulative output_tokens in message_delta's usage."""
    if ctx.step.stream:
        events = stream_events(ctx)
        start = next((e for e in events if e.get("type") == "message_start"), None)
        if start is None:
            ctx.skip("the stream has no message_start; see messages.stream.event-order")
        start_usage = (start.get("message") or {}).get("usage") if isinstance(start.get("message"), dict) else None
        if not isinstance(start_usage, dict) or not _is_int(start_usage.get("input_tokens")):
            ctx.fail(f"message_start.message.usage.input_tokens is missing or not an integer (usage "
                     f"{json.dumps(start_usage)[:120]})")
        deltas = [e for e in events if e.get("type") == "message_delta"]
        if not deltas:
            ctx.skip("the stream has no message_delta; see messages.stream.event-order")
        last = deltas[-1].get("usage")
        if not isinstance(last, dict) or not _is_int(last.get("output_tokens")):
            ctx.fail(f"the final message_delta's usage.output_tokens is missing or not an integer (usage "
                     f"{json.dumps(last)[:120]})")
        return
    body = ctx.require_object()
    counts = body.get("usage")
    if not isinstance(counts, dict):
        ctx.fail("the message has no usage object")
    for name in ("input_tokens", "output_tokens"):
        if not _is_int(counts.get(name)):
            ctx.fail(f"usage.{name} is missing or not an integer: {json.dumps(counts)[:200]}")


@check("messages.max-tokens-honoured", "The answer is no longer than max_tokens, and a cut answer says "
       "stop_reason max_tokens", spec=f"{SPEC}#body-max-tokens", applies=all_of(MESSAGE, has_tag("max_tokens")))
def max_tokens_honoured(ctx: CheckContext) -> None:
    """usage.output_tokens never exceeds max_tokens; under a limit far shorter than the answer asked for,
    stop_reason is max_tokens (end_turn only for an answer that finished below the limit)."""
    body = ctx.require_object()
    limit = (ctx.request or {}).get("max_tokens")
    counts = body.get("usage")
    used = counts.get("output_tokens") if isinstance(counts, dict) else None
    if not _is_int(used):
        ctx.skip("no usage.output_tokens to compare; see messages.usage")
    if isinstance(limit, int) and used > limit:
        ctx.fail(f"usage.output_tokens {used} exceeds max_tokens {limit}")
    if "max_tokens_tight" in ctx.case.tags:
        reason = body.get("stop_reason")
        if reason == "max_tokens" or (reason == "end_turn" and isinstance(limit, int) and used < limit):
            return
        ctx.fail(f"stop_reason {reason!r} with output_tokens {used} under a {limit}-token limit on a prompt that "
                 f"wants a long answer; expected 'max_tokens' (or 'end_turn' below the limit)")


@check("messages.stop-sequence-honoured", "A stop sequence ends the answer, is reported in stop_sequence, and is "
       "never part of the text", spec=f"{SPEC}#body-stop-sequences", applies=all_of(MESSAGE, has_tag("stop_sequences")))
def stop_sequence_honoured(ctx: CheckContext) -> None:
    """When generation hits one of stop_sequences, stop_reason is stop_sequence and stop_sequence names the
    matched one; the text never contains any of them."""
    body = ctx.require_object()
    stops = [s for s in (ctx.request or {}).get("stop_sequences") or [] if isinstance(s, str) and s]
    reason, matched = body.get("stop_reason"), body.get("stop_sequence")
    if reason is None and not isinstance(body.get("content"), list):
        ctx.skip("no stop_reason and no content to judge; see body.schema")
    if reason == "stop_sequence" and matched not in stops:
        ctx.fail(f"stop_reason stop_sequence but stop_sequence is {matched!r}, not one of {stops}")
    if matched is not None and reason != "stop_sequence":
        ctx.fail(f"stop_sequence {matched!r} is set but stop_reason is {reason!r}, expected 'stop_sequence'")
    text = _text(body)
    for stop in stops:
        if stop in text:
            ctx.fail(f"the text contains the stop sequence {stop!r} (stop_reason {reason!r}): {text[:120]!r}")


@check("messages.tool-use", "A forced tool use names the tool, has an id, carries input valid for its input_schema, "
       "and stops with tool_use", spec=TOOLS_SPEC,
       applies=all_of(MESSAGE, lambda case: "tools" in case.tags and "stream" not in case.tags))
def tool_use(ctx: CheckContext) -> None:
    """tool_choice {type: tool, name} forces a tool_use block: id (what the tool_result answers), the tool's
    name, an input object that validates against input_schema, and stop_reason tool_use."""
    body = ctx.require_object()
    _judge_tool_use(ctx, body, lambda block: block.get("input"))


@check("messages.stream-tool-use", "A streamed forced tool use: input_json_delta fragments join into input valid "
       "for the tool's input_schema", spec=f"{STREAM_SPEC}#input-json-delta",
       applies=all_of(STREAM, has_tag("tools")))
def stream_tool_use(ctx: CheckContext) -> None:
    """The tool_use block opens with id and name; its partial_json fragments, joined in order, parse into an
    object that validates against input_schema; the final message_delta says stop_reason tool_use."""
    message = _streamed_message(stream_events(ctx))

    def joined(block: dict[str, Any]) -> Any:
        raw = block.get("partial_json") or "{}"
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            ctx.fail(f"tool_use block {block.get('name')!r}: input_json_delta fragments join into text that is not "
                     f"JSON: {raw[:120]!r}")

    _judge_tool_use(ctx, message, joined)


def _judge_tool_use(ctx: CheckContext, message: dict[str, Any], input_of: Any) -> None:
    forced = _forced(ctx)
    uses = [b for b in _blocks(message) if b.get("type") == "tool_use"]
    if not uses:
        ctx.fail(f"tool_choice forced {forced!r} but no tool_use block came back (block types "
                 f"{[b.get('type') for b in _blocks(message)]}, stop_reason {message.get('stop_reason')!r})")
    for block in uses:
        where = f"tool_use block {block.get('name')!r}"
        if not isinstance(block.get("id"), str) or not block["id"]:
            ctx.fail(f"{where}: no id, so the client cannot answer it with a tool_result")
        if forced and block.get("name") != forced:
            ctx.fail(f"tool_choice forced {forced!r} but the block names {block.get('name')!r}")
        _validate_input(ctx, input_of(block), _tool(ctx, block.get("name")), where)
    if message.get("stop_reason") != "tool_use":
        ctx.fail(f"stop_reason is {message.get('stop_reason')!r} after a tool_use block; expected 'tool_use'")


@check("messages.text-nonempty", "A plain answer has a non-empty text block", spec=f"{SPEC}#response-content",
       applies=all_of(main_kind("anthropic.messages", "anthropic.messages.stream"), has_tag("text-answer")))
def text_nonempty(ctx: CheckContext) -> None:
    """A short prompt without tools is answered with text; an empty content list or empty text under
    end_turn is an answer that says nothing (seen when gateways convert other providers' replies)."""
    message = _streamed_message(stream_events(ctx)) if ctx.step.stream else ctx.require_object()
    blocks = _blocks(message)
    if not _text(message).strip():
        ctx.fail(f"no non-empty text block (block types {[b.get('type') for b in blocks]}, stop_reason "
                 f"{message.get('stop_reason')!r})")
