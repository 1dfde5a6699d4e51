"""POST /v1/messages: Anthropic's Messages API, plain and streamed.

Layouts copy real traffic (/work/shared/real-traffic/anthropic__messages__*): ``event:``/``data:`` pairs
message_start, content_block_start, ping, content_block_delta..., content_block_stop, message_delta,
message_stop, with block indices counting from 0. ``max_tokens`` is required, as in Anthropic's API.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse, Response

from . import faults, oracle
from .access import require, select_model
from .context import RequestContext
from .error_bodies import REQUEST_ID_HEADER
from .prompt import Prompt, ToolDef, choose_tool, from_messages
from .validation import Fields
from .wire import Frame, sse_response

_STOP = {"end": "end_turn", "length": "max_tokens", "stop_sequence": "stop_sequence"}


def _tools(f: Fields) -> tuple[list[ToolDef], str | tuple[str, str]]:
    tools = []
    for i, tool in enumerate(f.array("tools")):
        client_tool = isinstance(tool, dict) and tool.get("type", "custom") == "custom"
        if not client_tool or not isinstance(tool.get("name"), str):
            f.fail(f"tools[{i}]: the sandbox supports only client tools {{name, input_schema}}", f"tools[{i}]")
            continue
        tools.append(ToolDef(tool["name"], tool.get("input_schema")))
    choice = f.obj("tool_choice") or {"type": "auto"}
    kind = choice.get("type")
    if kind == "tool" and any(t.name == choice.get("name") for t in tools):
        return tools, ("named", str(choice["name"]))
    modes = {"auto": "auto", "any": "required", "none": "none"}
    if kind not in modes:
        f.fail("tool_choice.type must be auto, any, none or tool (naming a given tool)", "tool_choice")
        return tools, "auto"
    return tools, modes[kind]


def _read(ctx: RequestContext, body: dict[str, Any]) -> dict[str, Any]:
    f = Fields(ctx, body)
    select_model(ctx, f.raw("model"), "messages")
    f.require("max_tokens")
    max_tokens = f.integer("max_tokens", minimum=1)
    messages = f.array("messages", required=True, non_empty=True)
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            f.fail(f"messages.{i}.role: must be user or assistant", f"messages.{i}.role")
        elif not isinstance(message.get("content"), (str, list)):
            f.fail(f"messages.{i}.content: must be a string or an array of content blocks", f"messages.{i}.content")
    system = f.raw("system")
    if system is not None and not isinstance(system, (str, list)):
        f.fail("system: must be a string or an array of text blocks", "system")
    stream = f.boolean("stream")
    f.number("temperature", minimum=0, maximum=1)
    f.number("top_p", minimum=0, maximum=1)
    stops = f.array("stop_sequences")
    if not all(isinstance(s, str) for s in stops):
        f.fail("stop_sequences: must be an array of strings", "stop_sequences")
        stops = []
    tools, choice = _tools(f)
    prompt = from_messages(system, messages)
    if stream:
        require(ctx, "messages.stream", "streaming on /v1/messages")
    if tools:
        require(ctx, "messages.tools", "tools on /v1/messages")
    if prompt.has_image:
        require(ctx, "chat.vision", "image input on /v1/messages")
    return {
        "stream": stream,
        "max_tokens": max_tokens,
        "stops": stops,
        "tools": tools,
        "choice": choice,
        "prompt": prompt,
    }


def _usage(prompt: Prompt, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": prompt.tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
    }


async def handle(ctx: RequestContext, body: dict[str, Any]) -> Response:
    req = _read(ctx, body)
    prompt: Prompt = req["prompt"]
    tool = choose_tool(req["tools"], req["choice"], prompt.tool_result is not None)
    if tool is not None:
        arguments = oracle.tool_arguments(tool.parameters)
        block: dict[str, Any] = {"type": "tool_use", "id": ctx.make_id("toolu_"), "name": tool.name}
        block["input"] = json.loads(arguments)
        tokens, stop_reason, stop_sequence, raw = oracle.count_tokens(arguments), "tool_use", None, arguments
    else:
        gen = oracle.generate(prompt.reply(), req["max_tokens"], req["stops"])
        block = {"type": "text", "text": gen.text}
        tokens, stop_reason, stop_sequence, raw = gen.tokens, _STOP[gen.finish], gen.stop_sequence, gen.text
    message = {
        "id": ctx.make_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": ctx.model.id if ctx.model else "",
        "content": [block],
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": _usage(prompt, tokens),
    }
    if not req["stream"]:
        return JSONResponse(faults.apply("body", ctx, message), headers={REQUEST_ID_HEADER: ctx.request_id})
    return sse_response(ctx, faults.apply("events", ctx, _events(message, raw)))


def _events(message: dict[str, Any], raw: str) -> list[Frame]:
    block = message["content"][0]
    start = dict(message, content=[], stop_reason=None, stop_sequence=None)
    start["usage"] = dict(message["usage"], output_tokens=1)
    if block["type"] == "tool_use":
        opening = dict(block, input={})
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in ["", *oracle.pieces(raw)]]
    else:
        opening = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in oracle.pieces(raw)]
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": opening},
        {"type": "ping"},
        *({"type": "content_block_delta", "index": 0, "delta": d} for d in deltas),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]},
            "usage": {"output_tokens": message["usage"]["output_tokens"]},
        },
        {"type": "message_stop"},
    ]
    return [Frame(e, event=e["type"]) for e in events]
