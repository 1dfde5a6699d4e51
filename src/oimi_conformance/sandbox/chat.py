"""POST /v1/chat/completions: OpenAI's Chat Completions, plain and streamed.

Field layouts copy real OpenAI traffic (/work/shared/real-traffic/openai__chat.completions__*):
one id for every chunk, the role only in the first delta, the finish_reason on the last content chunk,
a usage chunk with ``choices: []`` when ``stream_options.include_usage`` is set, then ``data: [DONE]``.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.responses import JSONResponse, Response

from . import faults, oracle
from .access import require, select_model
from .context import RequestContext
from .error_bodies import REQUEST_ID_HEADER
from .prompt import Prompt, ToolDef, choose_tool, from_chat
from .validation import Fields
from .wire import Frame, sse_response

_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_FINISH = {"end": "stop", "stop_sequence": "stop", "length": "length"}


def _tools(f: Fields) -> list[ToolDef]:
    tools = []
    for i, tool in enumerate(f.array("tools")):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            f.fail(f"tools[{i}] must be {{type: function, function: {{name, parameters}}}}", f"tools[{i}]")
            continue
        tools.append(ToolDef(function["name"], function.get("parameters")))
    return tools


def _tool_choice(f: Fields, tools: list[ToolDef]) -> str | tuple[str, str]:
    choice = f.raw("tool_choice")
    if choice is None:
        return "auto"
    if choice in ("none", "auto", "required"):
        return choice
    function = choice.get("function") if isinstance(choice, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if isinstance(name, str) and any(t.name == name for t in tools):
        return ("named", name)
    f.fail("tool_choice must be none, auto, required or name one of the given tools", "tool_choice")
    return "auto"


def _json_mode(f: Fields) -> tuple[str, Any]:
    fmt = f.obj("response_format") or {}
    kind = fmt.get("type", "text")
    if kind not in ("text", "json_object", "json_schema"):
        f.fail("response_format.type must be text, json_object or json_schema", "response_format.type")
        return "text", None
    spec = fmt.get("json_schema")
    schema = spec.get("schema") if kind == "json_schema" and isinstance(spec, dict) else None
    if kind == "json_schema" and not isinstance(fmt.get("json_schema"), dict):
        f.fail("response_format.json_schema is required for type json_schema", "response_format.json_schema")
    return kind, schema


def _read(ctx: RequestContext, body: dict[str, Any]) -> dict[str, Any]:
    f = Fields(ctx, body)
    select_model(ctx, f.raw("model"), "chat")
    messages = f.array("messages", required=True, non_empty=True)
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            f.fail(f"messages[{i}].role must be one of {', '.join(_ROLES)}", f"messages[{i}].role")
        elif not isinstance(message.get("content"), (str, list, type(None))):
            f.fail(f"messages[{i}].content must be a string or an array of parts", f"messages[{i}].content")
    stream = f.boolean("stream")
    options = f.obj("stream_options")
    if options is not None and not stream:
        f.fail("stream_options is only allowed when stream is true", "stream_options")
    f.number("temperature", minimum=0, maximum=2)
    f.number("top_p", minimum=0, maximum=1)
    limit = f.integer("max_completion_tokens", minimum=1)
    limit = limit if limit is not None else f.integer("max_tokens", minimum=1)
    tools = _tools(f)
    request: dict[str, Any] = {
        "stream": stream,
        # new-api (relay/compatible_handler.go TextHelper): usage unless stream_options says include_usage false
        "include_usage": bool((options or {}).get("include_usage"))
        or (ctx.has("chat.stream.usage-unasked") and (options or {}).get("include_usage") is not False),
        "max_tokens": limit,
        "n": f.integer("n", minimum=1, maximum=8) or 1,
        "stops": f.stops("stop"),
        "tools": tools,
        "tool_choice": _tool_choice(f, tools),
        "json": _json_mode(f),
        "prompt": from_chat(messages),
    }
    # The model must be able to do what the request asks for, beyond plain chat.
    prompt: Prompt = request["prompt"]
    if stream:
        require(ctx, "chat.stream", "streaming on /v1/chat/completions")
    if tools:
        require(ctx, "chat.tools", "tools on /v1/chat/completions")
    if request["json"][0] != "text":
        require(ctx, "chat.json", "response_format json on /v1/chat/completions")
    if prompt.has_image:
        require(ctx, "chat.vision", "image input on /v1/chat/completions")
    return request


def _choices(ctx: RequestContext, req: dict[str, Any]) -> list[dict[str, Any]]:
    """Each choice as {index, text | call, finish, tokens}: the protocol-neutral answer."""
    prompt: Prompt = req["prompt"]
    tool = choose_tool(req["tools"], req["tool_choice"], prompt.tool_result is not None)
    out = []
    for index in range(req["n"]):
        if tool is not None:
            arguments = oracle.tool_arguments(tool.parameters)
            call = {"id": ctx.make_id("call_", f"{index}"), "name": tool.name, "arguments": arguments}
            out.append({"index": index, "call": call, "finish": "tool_calls", "tokens": oracle.count_tokens(arguments)})
            continue
        mode, schema = req["json"]
        text = prompt.reply() if mode == "text" else oracle.json_reply(prompt.reply(), schema)
        gen = oracle.generate(text, req["max_tokens"], req["stops"])
        out.append({"index": index, "text": gen.text, "finish": _FINISH[gen.finish], "tokens": gen.tokens})
    return out


def _usage(prompt: Prompt, choices: list[dict[str, Any]]) -> dict[str, Any]:
    completion = sum(c["tokens"] for c in choices)
    return {
        "prompt_tokens": prompt.tokens,
        "completion_tokens": completion,
        "total_tokens": prompt.tokens + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def _message(choice: dict[str, Any]) -> dict[str, Any]:
    if "call" in choice:
        call = choice["call"]
        tool_call = {
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": call["arguments"]},
        }
        return {"role": "assistant", "content": None, "tool_calls": [tool_call], "refusal": None, "annotations": []}
    return {"role": "assistant", "content": choice["text"], "refusal": None, "annotations": []}


async def handle(ctx: RequestContext, body: dict[str, Any]) -> Response:
    req = _read(ctx, body)
    choices = _choices(ctx, req)
    head = {
        "id": ctx.make_id("chatcmpl-"),
        "created": int(time.time()),
        "model": ctx.model.id if ctx.model else "",
        "system_fingerprint": "fp_sandbox",
    }
    if req["stream"]:
        return _stream(ctx, req, head, choices)
    answer = {
        "id": head["id"],
        "object": "chat.completion",
        "created": head["created"],
        "model": head["model"],
        "choices": [
            {"index": c["index"], "message": _message(c), "logprobs": None, "finish_reason": c["finish"]}
            for c in choices
        ],
        "usage": _usage(req["prompt"], choices),
        "system_fingerprint": head["system_fingerprint"],
    }
    return JSONResponse(faults.apply("body", ctx, answer), headers={REQUEST_ID_HEADER: ctx.request_id})


def _deltas(choice: dict[str, Any]) -> list[dict[str, Any]]:
    """The deltas of one choice: role first, then one token per delta."""
    if "call" in choice:
        call = choice["call"]
        opening = {
            "index": 0,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": ""},
        }
        first = {"role": "assistant", "content": None, "tool_calls": [opening]}
        rest = [{"tool_calls": [{"index": 0, "function": {"arguments": p}}]} for p in oracle.pieces(call["arguments"])]
        return [first, *rest]
    parts = oracle.pieces(choice["text"]) or [""]
    return [{"role": "assistant", "content": parts[0]}, *({"content": p} for p in parts[1:])]


def _stream(ctx: RequestContext, req: dict[str, Any], head: dict[str, Any], choices: list[dict[str, Any]]) -> Response:
    def chunk(chunk_choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> Frame:
        data = {"id": head["id"], "object": "chat.completion.chunk", "created": head["created"], "model": head["model"]}
        data.update(system_fingerprint=head["system_fingerprint"], choices=chunk_choices)
        if req["include_usage"]:
            data["usage"] = usage
        return Frame(data)

    frames: list[Frame] = []
    for choice in choices:
        deltas = _deltas(choice)
        for i, delta in enumerate(deltas):
            finish = choice["finish"] if i == len(deltas) - 1 else None
            frames.append(
                chunk([{"index": choice["index"], "delta": delta, "logprobs": None, "finish_reason": finish}])
            )
    frames.insert(1, Frame(comment="PING"))  # a legal keep-alive comment; clients must ignore it
    if req["include_usage"]:
        frames.append(chunk([], _usage(req["prompt"], choices)))
    frames.append(Frame("[DONE]"))
    frames = faults.apply("events", ctx, frames)
    if ctx.model is not None and ctx.model.is_broken("chat.stream"):
        # sandbox-flaky: the stream breaks off after a few chunks, without finish_reason or [DONE].
        frames = frames[:3]
        for frame in frames:
            for c in frame.data["choices"] if isinstance(frame.data, dict) else []:
                c["finish_reason"] = None
    return sse_response(ctx, frames)
