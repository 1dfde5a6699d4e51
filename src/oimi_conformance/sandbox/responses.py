"""POST /v1/responses and POST /v1/responses/compact: OpenAI's Responses API.

Layouts copy real traffic (/work/shared/real-traffic/openai__responses__*): typed SSE events whose
``sequence_number`` counts up from 0, ending in ``response.completed`` (or ``response.incomplete`` when
``max_output_tokens`` cut the answer) whose output holds the full text. Compaction answers
``object: "response.compaction"``; the ``encrypted_content`` it issues is sealed with an HMAC so a
compaction item fed back later is accepted only if this sandbox issued it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from starlette.responses import JSONResponse, Response

from . import faults, oracle
from .access import require, select_model
from .catalog import COMPACT_SUFFIX
from .context import RequestContext
from .error_bodies import REQUEST_ID_HEADER
from .prompt import Prompt, ToolDef, choose_tool, from_responses, parts_text
from .validation import Fields
from .wire import Frame, sse_response

_SECRET = b"oimi-conformance sandbox compaction key"  # fixed: the sandbox is deterministic, not secret


def seal(summary: str) -> str:
    mac = hmac.new(_SECRET, summary.encode("utf-8"), hashlib.sha256).hexdigest()
    return base64.b64encode(json.dumps({"summary": summary, "mac": mac}).encode("utf-8")).decode("ascii")


def unseal(encrypted: Any) -> str | None:
    """The summary inside an encrypted_content this sandbox issued, else None."""
    try:
        sealed = json.loads(base64.b64decode(str(encrypted), validate=True))
        summary, mac = str(sealed["summary"]), str(sealed["mac"])
    except (ValueError, KeyError, TypeError):
        return None
    good = hmac.new(_SECRET, summary.encode("utf-8"), hashlib.sha256).hexdigest()
    return summary if hmac.compare_digest(good, mac) else None


def _compaction_text(item: dict[str, Any]) -> str:
    return unseal(item.get("encrypted_content")) or ""


def _check_input(ctx: RequestContext, f: Fields) -> Any:
    items = f.raw("input")
    if items is None and not f.present("previous_response_id"):
        f.fail("field input is required", "input")
    if items is not None and not isinstance(items, (str, list)):
        f.fail("input must be a string or an array of items", "input")
        return None
    for i, item in enumerate(items if isinstance(items, list) else []):
        if (
            isinstance(item, dict)
            and item.get("type") == "compaction"
            and unseal(item.get("encrypted_content")) is None
        ):
            f.fail(
                f"input[{i}]: encrypted_content of the compaction item was not issued by this gateway", f"input[{i}]"
            )
    previous = f.string("previous_response_id")
    if previous is not None and previous not in ctx.state.response_ids:
        f.fail(f"Previous response with id '{previous}' not found", "previous_response_id")
    return items


def _tools(f: Fields) -> tuple[list[ToolDef], str | tuple[str, str]]:
    tools = []
    for i, tool in enumerate(f.array("tools")):
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(tool.get("name"), str):
            f.fail(f"tools[{i}]: the sandbox supports only function tools {{type, name, parameters}}", f"tools[{i}]")
            continue
        tools.append(ToolDef(tool["name"], tool.get("parameters")))
    choice: Any = f.raw("tool_choice") or "auto"
    if isinstance(choice, dict):
        name = choice.get("name")
        if choice.get("type") == "function" and any(t.name == name for t in tools):
            return tools, ("named", str(name))
        f.fail("tool_choice must name one of the given function tools", "tool_choice")
        choice = "auto"
    if choice not in ("none", "auto", "required"):
        f.fail("tool_choice must be none, auto, required or a function tool", "tool_choice")
        choice = "auto"
    return tools, choice


def _read(ctx: RequestContext, body: dict[str, Any]) -> dict[str, Any]:
    f = Fields(ctx, body)
    select_model(ctx, f.raw("model"), "responses")
    items = _check_input(ctx, f)
    instructions = f.string("instructions")
    stream = f.boolean("stream")
    f.number("temperature", minimum=0, maximum=2)
    f.number("top_p", minimum=0, maximum=1)
    tools, choice = _tools(f)
    fmt = f.sub("text").obj("format") or {"type": "text"}
    if fmt.get("type") not in ("text", "json_object", "json_schema"):
        f.fail("text.format.type must be text, json_object or json_schema", "text.format.type")
        fmt = {"type": "text"}
    prompt = from_responses(items, instructions, _compaction_text)
    if stream:
        require(ctx, "responses.stream", "streaming on /v1/responses")
    if tools:
        require(ctx, "chat.tools", "tools on /v1/responses")
    if fmt["type"] != "text":
        require(ctx, "chat.json", "text.format json on /v1/responses")
    if prompt.has_image:
        require(ctx, "chat.vision", "image input on /v1/responses")
    return {
        "stream": stream,
        "max_output_tokens": f.integer("max_output_tokens", minimum=1),
        "instructions": instructions,
        "previous_response_id": f.string("previous_response_id"),
        "tools": tools,
        "tool_choice": choice,
        "format": fmt,
        "prompt": prompt,
    }


def _usage(prompt: Prompt, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": prompt.tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt.tokens + output_tokens,
    }


def _answer(ctx: RequestContext, req: dict[str, Any]) -> tuple[dict[str, Any], int, str]:
    """The single output item, its token count and the response status."""
    prompt: Prompt = req["prompt"]
    tool = choose_tool(req["tools"], req["tool_choice"], prompt.tool_result is not None)
    if tool is not None:
        arguments = oracle.tool_arguments(tool.parameters)
        item: dict[str, Any] = {
            "id": ctx.make_id("fc_"),
            "type": "function_call",
            "status": "completed",
            "arguments": arguments,
            "call_id": ctx.make_id("call_"),
            "name": tool.name,
        }
        return item, oracle.count_tokens(arguments), "completed"
    fmt = req["format"]
    text = prompt.reply() if fmt["type"] == "text" else oracle.json_reply(prompt.reply(), fmt.get("schema"))
    gen = oracle.generate(text, req["max_output_tokens"])
    status = "incomplete" if gen.finish == "length" else "completed"
    item = {
        "id": ctx.make_id("msg_"),
        "type": "message",
        "status": status,
        "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": gen.text}],
        "role": "assistant",
    }
    return item, gen.tokens, status


def _response(ctx: RequestContext, req: dict[str, Any], created: int) -> dict[str, Any]:
    return {
        "id": ctx.make_id("resp_"),
        "object": "response",
        "created_at": created,
        "status": "in_progress",
        "background": False,
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": req["instructions"],
        "max_output_tokens": req["max_output_tokens"],
        "model": ctx.model.id if ctx.model else "",
        "output": [],
        "parallel_tool_calls": True,
        "previous_response_id": req["previous_response_id"],
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": req["format"]},
        "tool_choice": _choice_field(req["tool_choice"]),
        "tools": [{"type": "function", "name": t.name, "parameters": t.parameters} for t in req["tools"]],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": None,
        "user": None,
        "metadata": {},
    }


def _choice_field(choice: str | tuple[str, str]) -> Any:
    return choice if isinstance(choice, str) else {"type": "function", "name": choice[1]}


def _finish(response: dict[str, Any], item: dict[str, Any], tokens: int, status: str, prompt: Prompt) -> dict[str, Any]:
    done = dict(response, status=status, completed_at=int(time.time()), output=[item], usage=_usage(prompt, tokens))
    if status == "incomplete":
        done["incomplete_details"] = {"reason": "max_output_tokens"}
    return done


async def handle(ctx: RequestContext, body: dict[str, Any]) -> Response:
    req = _read(ctx, body)
    response = _response(ctx, req, int(time.time()))
    ctx.state.response_ids.add(response["id"])
    item, tokens, status = _answer(ctx, req)
    done = _finish(response, item, tokens, status, req["prompt"])
    if not req["stream"]:
        return JSONResponse(faults.apply("body", ctx, done), headers={REQUEST_ID_HEADER: ctx.request_id})
    return sse_response(ctx, faults.apply("events", ctx, _events(response, item, done)))


def _events(response: dict[str, Any], item: dict[str, Any], done: dict[str, Any]) -> list[Frame]:
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": response},
        {"type": "response.in_progress", "response": response},
    ]
    where = {"item_id": item["id"], "output_index": 0}
    if item["type"] == "function_call":
        events.append(
            {
                "type": "response.output_item.added",
                "item": dict(item, status="in_progress", arguments=""),
                "output_index": 0,
            }
        )
        for piece in oracle.pieces(item["arguments"]):
            events.append({"type": "response.function_call_arguments.delta", "delta": piece, **where})
        events.append({"type": "response.function_call_arguments.done", "arguments": item["arguments"], **where})
    else:
        text = item["content"][0]["text"]
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        events.append(
            {
                "type": "response.output_item.added",
                "item": dict(item, status="in_progress", content=[]),
                "output_index": 0,
            }
        )
        events.append({"type": "response.content_part.added", "content_index": 0, "part": part, **where})
        for piece in oracle.pieces(text):
            events.append(
                {"type": "response.output_text.delta", "content_index": 0, "delta": piece, "logprobs": [], **where}
            )
        events.append({"type": "response.output_text.done", "content_index": 0, "logprobs": [], "text": text, **where})
        events.append(
            {"type": "response.content_part.done", "content_index": 0, "part": dict(part, text=text), **where}
        )
    events.append({"type": "response.output_item.done", "item": item, "output_index": 0})
    terminal = "response.incomplete" if done["status"] == "incomplete" else "response.completed"
    events.append({"type": terminal, "response": done})
    frames = [Frame(dict(e, sequence_number=n), event=e["type"]) for n, e in enumerate(events)]
    frames.insert(2, Frame(comment="PING"))
    return frames


# --- /v1/responses/compact ------------------------------------------------------------------------------


async def compact(ctx: RequestContext, body: dict[str, Any]) -> Response:
    f = Fields(ctx, body)
    model_id = f.raw("model")
    if ctx.has("responses.compact-suffix") and isinstance(model_id, str) and model_id:
        # new-api's distributor routes compact to <model>-openai-compact (middleware/distributor.go)
        model_id = f"{model_id}{COMPACT_SUFFIX}"
    select_model(ctx, model_id, "responses.compact")
    # responses.compact-streams: the gateway passes stream through and answers an event stream
    # new-api drops `stream` from compact requests (relay/responses_handler.go: ResponsesHelper)
    wants_stream = f.boolean("stream") and not ctx.has("responses.compact-drops-stream")
    streamed = wants_stream and ctx.has("responses.compact-streams")
    if wants_stream and not streamed:
        # the provider's rule: new-api checks only the model on compact and passes the rest upstream
        f.fail("stream is not supported on /v1/responses/compact", "stream", upstream=True)
    items = _check_input(ctx, f)
    instructions = f.string("instructions")
    prompt = from_responses(items, instructions, _compaction_text)
    listed = [{"role": "user", "content": items}] if isinstance(items, str) else items or []
    kept, rest = [], []
    for item in listed:
        if not isinstance(item, dict):
            continue
        if item.get("type", "message") == "message" and item.get("role") == "user":
            text = parts_text(item.get("content"))[0]
            kept.append({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
        elif item.get("type") == "compaction":
            rest.append(_compaction_text(item))
        else:
            rest.append(parts_text(item.get("content"))[0] or str(item.get("output", "")))
    # What is not a user message is summarised into the sealed compaction item.
    words = " ".join(rest).split()[:64]
    summary = " ".join(["Sandbox summary:", *words])
    compaction = {"type": "compaction", "id": ctx.make_id("cmp_"), "encrypted_content": seal(summary)}
    output_tokens = oracle.count_tokens(summary)
    answer = {
        "id": ctx.make_id("resp_"),
        "object": "response.compaction",
        "created_at": int(time.time()),
        "output": [*kept, compaction],
        "usage": _usage(prompt, output_tokens),
    }
    answer = faults.apply("body", ctx, answer)
    if streamed:
        done = {"type": "response.completed", "sequence_number": 0, "response": answer}
        return sse_response(ctx, [Frame(done, event=done["type"])])
    return JSONResponse(answer, headers={REQUEST_ID_HEADER: ctx.request_id})
