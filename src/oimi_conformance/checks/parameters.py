"""Parameters with an observable effect must have it: the gaps the protocol areas leave (Gemini's
stopSequences, plain and streamed; chat's streamed stop).

Sound on non-deterministic models: the probe asks for text in which the stop sequence is near certain,
and the check fails only when the stop sequence is in the output. When it is not, whether the model
stopped there or never wrote it cannot be told apart; that passes, since it is never evidence of a fault.
"""

from __future__ import annotations

from typing import Any

from .accounting import answer_of
from .registry import CheckContext, all_of, check, expects_success, has_tag, main_kind

GEMINI_SPEC = "https://ai.google.dev/api/generate-content#generationconfig"
CHAT_SPEC = "https://platform.openai.com/docs/api-reference/chat/create#chat-create-stop"


def stop_problem(text: str, stops: list[str]) -> str | None:
    for stop in stops:
        if stop and stop in text:
            at = text.index(stop)
            return f"the output contains the stop sequence {stop!r}: {text[max(0, at - 40):at + 40]!r}"
    return None


def _gemini_stops(request: object) -> list[str]:
    config: Any = {}
    if isinstance(request, dict):
        config = request.get("generationConfig") or request.get("generation_config") or {}
    stops = config.get("stopSequences") or config.get("stop_sequences") or [] if isinstance(config, dict) else []
    return [s for s in stops if isinstance(s, str)]


@check("gemini.stop-sequences-honoured", "A stopSequences entry never appears in the output (plain and streamed)",
       spec=GEMINI_SPEC, applies=all_of(main_kind("gemini.generate_content", "gemini.stream.json_array",
                                                  "gemini.stream.sse"), has_tag("stop"), expects_success))
def gemini_stop(ctx: CheckContext) -> None:
    """Generation ends before the first stop sequence and the sequence is not returned. A streamed answer is
    judged on its joined text, so a stop sequence split across chunks is found too."""
    stops = _gemini_stops(ctx.request)
    if not stops:
        ctx.skip("the request sets no stopSequences")
    text = answer_of(ctx).text
    if not text:
        ctx.skip("the answer carries no text to look for the stop sequences in")
    problem = stop_problem(text, stops)
    if problem:
        ctx.fail(problem)


@check("chat.stream-stop-honoured", "A stop sequence never appears in a streamed chat answer", spec=CHAT_SPEC,
       applies=all_of(main_kind("openai.chat.completion.stream"), has_tag("stop"), expects_success))
def chat_stream_stop(ctx: CheckContext) -> None:
    """The joined deltas of every choice are free of the stop sequences (chat.stop-honoured judges the plain
    answer); a gateway that filters stop strings only on non-streamed answers fails here."""
    stops = (ctx.request or {}).get("stop") or []
    stops = [stops] if isinstance(stops, str) else [s for s in stops if isinstance(s, str)]
    if not stops:
        ctx.skip("the request sets no stop")
    answer = answer_of(ctx)
    texts = {channel: pieces for channel, pieces in answer.deltas.items() if "tool" not in channel}
    if not any("".join(pieces) for pieces in texts.values()):
        ctx.skip("the stream carried no text delta to look for the stop sequences in")
    for channel, pieces in texts.items():
        problem = stop_problem("".join(pieces), stops)
        if problem:
            ctx.fail(f"{channel}: {problem}")


RESPONSES_SPEC = "https://platform.openai.com/docs/api-reference/responses/create#responses-create-text"


def json_problem(text: str, schema: object) -> str | None:
    """Why ``text`` is not a JSON object valid against ``schema`` (when given); None when it is."""
    import json

    import jsonschema

    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return f"JSON output was asked for but the text is not JSON: {text[:120]!r}"
    if not isinstance(value, dict):
        return f"JSON output was asked for but the text is JSON {type(value).__name__}, not an object"
    if isinstance(schema, dict) and schema:
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(value), key=str)
        if errors:
            return f"the JSON {text[:80]!r} does not match the requested schema: {errors[0].message}"
    return None


@check("responses.json-output", "text.format json_object / json_schema answers a JSON object (valid against the "
       "schema)", spec=RESPONSES_SPEC, applies=all_of(main_kind("openai.responses"), has_tag("json_output"),
                                                      expects_success))
def responses_json(ctx: CheckContext) -> None:
    """The output text parses as a JSON object, and validates against text.format.schema for json_schema.
    A response cut by max_output_tokens (status incomplete) cannot be whole JSON: skipped."""
    body = ctx.require_object()
    if body.get("status") == "incomplete":
        ctx.skip("the response is incomplete (cut by max_output_tokens), so it cannot be whole JSON")
    fmt = ((ctx.request or {}).get("text") or {}).get("format") or {}
    problem = json_problem(answer_of(ctx).text, fmt.get("schema"))
    if problem:
        ctx.fail(problem)


@check("gemini.json-output", "responseMimeType application/json answers JSON (valid against the response schema)",
       spec=GEMINI_SPEC, applies=all_of(main_kind("gemini.generate_content"), has_tag("json_output"),
                                        expects_success))
def gemini_json(ctx: CheckContext) -> None:
    """The candidate's text parses as a JSON object, valid against responseJsonSchema when one is given. An
    answer that stopped with MAX_TOKENS cannot be whole JSON: skipped."""
    body = ctx.require_object()
    candidates = body.get("candidates") or []
    if any(isinstance(c, dict) and c.get("finishReason") == "MAX_TOKENS" for c in candidates):
        ctx.skip("the answer stopped at maxOutputTokens, so it cannot be whole JSON")
    config = (ctx.request or {}).get("generationConfig") or {}
    problem = json_problem(answer_of(ctx).text, config.get("responseJsonSchema"))
    if problem:
        ctx.fail(problem)


FUNCTION_CALLING_SPEC = "https://ai.google.dev/api/caching#FunctionCallingConfig"


def _declarations(request: object) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for tool in (request or {}).get("tools") or [] if isinstance(request, dict) else []:
        for decl in (tool or {}).get("functionDeclarations") or [] if isinstance(tool, dict) else []:
            if isinstance(decl, dict) and isinstance(decl.get("name"), str):
                found[decl["name"]] = decl.get("parameters", decl.get("parametersJsonSchema"))
    return found


def function_call_problem(body: dict, request: object) -> str | None:
    """Why a Gemini answer to a mode-ANY request is not a valid forced call; None when it is."""
    import jsonschema

    declared = _declarations(request)
    config = (((request or {}).get("toolConfig") or {}).get("functionCallingConfig") or {}) \
        if isinstance(request, dict) else {}
    allowed = config.get("allowedFunctionNames") or list(declared)
    for n, candidate in enumerate(body.get("candidates") or []):
        parts = ((candidate or {}).get("content") or {}).get("parts") or []
        calls = [p["functionCall"] for p in parts if isinstance(p, dict) and isinstance(p.get("functionCall"), dict)]
        if not calls:
            return (f"candidate {n}: mode ANY forced a function call but no functionCall part came back "
                    f"(finishReason {(candidate or {}).get('finishReason')!r})")
        for call in calls:
            name = call.get("name")
            if name not in allowed or name not in declared:
                return f"candidate {n}: functionCall names {name!r}, not one of the allowed functions {allowed}"
            args = call.get("args", {})
            if not isinstance(args, dict):
                return f"candidate {n}: functionCall.args is {type(args).__name__}, not an object"
            errors = sorted(jsonschema.Draft202012Validator(declared[name] or {}).iter_errors(args), key=str)
            if errors:
                return f"candidate {n}: args {args!r:.120} do not match {name}'s parameters: {errors[0].message}"
    return None


def forces_function(request: object) -> bool:
    config = (((request or {}).get("toolConfig") or {}).get("functionCallingConfig") or {}) \
        if isinstance(request, dict) else {}
    return str(config.get("mode", "")).upper() == "ANY"


@check("gemini.function-call", "functionCallingConfig mode ANY gets a functionCall of an allowed function, with args "
       "valid for its parameters", spec=FUNCTION_CALLING_SPEC,
       applies=all_of(main_kind("gemini.generate_content"), has_tag("forced_function"), expects_success))
def gemini_function_call(ctx: CheckContext) -> None:
    """Mode ANY means the model must call a function (one of allowedFunctionNames when given): every
    candidate carries a functionCall part naming a declared, allowed function, whose args (an object, not a
    string) validate against that function's parameters."""
    body = ctx.require_object()
    if not isinstance(body.get("candidates"), list) or not body["candidates"]:
        ctx.skip("the answer carries no candidate to judge; see body.schema")
    problem = function_call_problem(body, ctx.request)
    if problem:
        ctx.fail(problem)
