"""POST /v1beta/models/{model}:generateContent and :streamGenerateContent: Google's Gemini API.

Layouts copy real traffic (/work/shared/real-traffic/gemini__*): role "model", finishReason STOP /
MAX_TOKENS, usageMetadata whose promptTokenCount + candidatesTokenCount = totalTokenCount. With
``alt=sse`` the stream is ``data: <GenerateContentResponse>`` events (CRLF-separated, no [DONE]); without
it, Google's JSON array ``[{...}\\n,\\r\\n{...}\\n]`` streamed element by element. Both camelCase and
snake_case field names are read, as Google's own parser does.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse, Response

from . import faults, oracle
from .access import require, select_model
from .context import RequestContext
from .error_bodies import REQUEST_ID_HEADER
from .prompt import Prompt, ToolDef, choose_tool, from_gemini
from .validation import Fields
from .wire import Frame, encode_json_array, encode_sse, stream_response

_FINISH = {"end": "STOP", "stop_sequence": "STOP", "length": "MAX_TOKENS"}


def _tools(f: Fields) -> tuple[list[ToolDef], str | tuple[str, str]]:
    tools = []
    for i, tool in enumerate(f.array("tools")):
        declarations = (
            tool.get("functionDeclarations", tool.get("function_declarations")) if isinstance(tool, dict) else None
        )
        if not isinstance(declarations, list):
            f.fail(f"tools[{i}]: the sandbox supports only functionDeclarations", f"tools[{i}]")
            continue
        for declaration in declarations:
            if isinstance(declaration, dict) and isinstance(declaration.get("name"), str):
                schema = declaration.get("parameters", declaration.get("parametersJsonSchema"))
                tools.append(ToolDef(declaration["name"], schema))
    config = f.sub(("toolConfig", "tool_config")).sub(("functionCallingConfig", "function_calling_config"))
    mode = str(config.raw("mode") or "AUTO").upper()
    allowed = config.array(("allowedFunctionNames", "allowed_function_names"))
    if mode == "NONE":
        return tools, "none"
    if mode == "ANY":
        named = next((t.name for t in tools if t.name in allowed), None)
        return tools, ("named", named) if named else "required"
    return tools, "auto"


def _read(ctx: RequestContext, model_id: str, body: dict[str, Any], streaming: bool) -> dict[str, Any]:
    f = Fields(ctx, body)
    select_model(ctx, model_id, "gemini")
    contents = f.array("contents", required=True, non_empty=True)
    for i, content in enumerate(contents):
        if not isinstance(content, dict) or not isinstance(content.get("parts"), list):
            f.fail(f"contents[{i}].parts must be an array", f"contents[{i}].parts")
        elif content.get("role") not in (None, "user", "model", "function"):
            f.fail(f"contents[{i}].role must be user or model", f"contents[{i}].role")
    system = f.obj(("systemInstruction", "system_instruction"))
    config = f.sub(("generationConfig", "generation_config"))
    config.number("temperature", minimum=0, maximum=2)
    config.number(("topP", "top_p"), minimum=0, maximum=1)
    stops = config.array(("stopSequences", "stop_sequences"))
    if not all(isinstance(s, str) for s in stops):
        config.fail("generationConfig.stopSequences must be an array of strings", "generationConfig.stopSequences")
        stops = []
    mime = config.string(("responseMimeType", "response_mime_type")) or "text/plain"
    schema = config.raw(("responseJsonSchema", "response_json_schema", "responseSchema", "response_schema"))
    tools, choice = _tools(f)
    prompt = from_gemini(contents, system)
    if streaming:
        require(ctx, "gemini.stream", f"/v1beta/models/{model_id}:streamGenerateContent")
    if tools:
        require(ctx, "chat.tools", "functionDeclarations on Gemini routes")
    if mime == "application/json":
        require(ctx, "chat.json", "responseMimeType application/json on Gemini routes")
    if prompt.has_image:
        require(ctx, "chat.vision", "image input on Gemini routes")
    return {
        "max_tokens": config.integer(("maxOutputTokens", "max_output_tokens"), minimum=1),
        "count": config.integer(("candidateCount", "candidate_count"), minimum=1, maximum=8) or 1,
        "stops": stops,
        "json": mime == "application/json",
        "schema": schema,
        "tools": tools,
        "choice": choice,
        "prompt": prompt,
    }


def _candidates(req: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Candidates as {index, parts, finish, pieces}, plus the candidates' total token count."""
    prompt: Prompt = req["prompt"]
    tool = choose_tool(req["tools"], req["choice"], prompt.tool_result is not None)
    out, total = [], 0
    for index in range(req["count"]):
        if tool is not None:
            arguments = oracle.tool_arguments(tool.parameters)
            call = {"functionCall": {"name": tool.name, "args": json.loads(arguments)}}
            out.append({"index": index, "parts": [call], "finish": "STOP", "pieces": None})
            total += oracle.count_tokens(arguments)
            continue
        text = oracle.json_reply(prompt.reply(), req["schema"]) if req["json"] else prompt.reply()
        gen = oracle.generate(text, req["max_tokens"], req["stops"])
        out.append(
            {
                "index": index,
                "parts": [{"text": gen.text}],
                "finish": _FINISH[gen.finish],
                "pieces": oracle.pieces(gen.text),
            }
        )
        total += gen.tokens
    return out, total


def _chunk(ctx: RequestContext, candidates: list[dict[str, Any]], usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "candidates": candidates,
        "usageMetadata": usage,
        "modelVersion": ctx.model.id if ctx.model else "",
        "responseId": ctx.make_id("", "gemini-response"),
    }


def _upstream_error(ctx: RequestContext) -> Response:
    # sandbox-flaky: an error body under HTTP 200, as a gateway forwarding a broken upstream may send.
    message = f"upstream returned an unreadable response (request id: {ctx.request_id})"
    body = {"error": {"message": message, "type": "upstream_error", "param": "", "code": "bad_response_body"}}
    return JSONResponse(body, status_code=200, headers={REQUEST_ID_HEADER: ctx.request_id})


async def handle(
    ctx: RequestContext, model_id: str, body: dict[str, Any], streaming: bool, alt: str | None
) -> Response:
    req = _read(ctx, model_id, body, streaming)
    if ctx.model is not None and ctx.model.is_broken("gemini.stream" if streaming else "gemini"):
        return _upstream_error(ctx)
    candidates, total = _candidates(req)
    prompt_tokens = req["prompt"].tokens
    usage = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": total, "totalTokenCount": prompt_tokens + total}
    if not streaming:
        whole = [
            {"content": {"parts": c["parts"], "role": "model"}, "finishReason": c["finish"], "index": c["index"]}
            for c in candidates
        ]
        answer = faults.apply("body", ctx, _chunk(ctx, whole, usage))
        return JSONResponse(answer, headers={REQUEST_ID_HEADER: ctx.request_id})
    frames = faults.apply("events", ctx, _frames(ctx, candidates, usage))
    sse = alt == "sse" or ctx.has("gemini.sse-without-alt")  # new-api answers SSE either way
    if sse and not ctx.has("gemini.ignores-alt-sse"):
        # Google's streams carry no SSE comment, and google-genai cannot read one (gemini.ping-comment)
        ping = [Frame(comment="PING")] if ctx.has("gemini.ping-comment") else []
        chunks = encode_sse([*frames[:1], *ping, *frames[1:]], newline="\r\n")
        return stream_response(ctx, chunks, "text/event-stream")
    return stream_response(ctx, encode_json_array(frames), "application/json; charset=UTF-8")


def _frames(ctx: RequestContext, candidates: list[dict[str, Any]], usage: dict[str, Any]) -> list[Frame]:
    """One chunk per token (a function call is sent whole); the last chunk carries the full usage."""
    running = {"promptTokenCount": usage["promptTokenCount"], "totalTokenCount": usage["promptTokenCount"]}
    steps: list[dict[str, Any]] = []
    for c in candidates:
        parts_list = [[p] for p in c["parts"]] if c["pieces"] is None else [[{"text": p}] for p in c["pieces"] or [""]]
        for i, parts in enumerate(parts_list):
            candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": c["index"]}
            if i == len(parts_list) - 1:
                candidate["finishReason"] = c["finish"]
            steps.append(candidate)
    frames = [Frame(_chunk(ctx, [candidate], dict(running))) for candidate in steps]
    frames[-1].data["usageMetadata"] = dict(usage)
    return frames
