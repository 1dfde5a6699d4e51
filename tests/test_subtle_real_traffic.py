"""The semantic checks of issue 16 never fail an answer a real provider sent (../shared/real-traffic):
accounting plausibility, stream increments, event lines, rerank score range, and error-body disclosure.
Each is judged by the same function the check calls."""

from __future__ import annotations

import pytest

from oimi_conformance.checks import accounting, disclosure, increments, parameters
from oimi_conformance.checks.answers import GENERATION_KINDS, read_answer

from .real_traffic import exchanges, kind_for, load

FILES = exchanges()


def _body(exchange: dict) -> bytes:
    body = exchange["response_body"]
    return body.encode("utf-8") if isinstance(body, str) else __import__("json").dumps(body).encode("utf-8")


@pytest.mark.parametrize("path", FILES, ids=[p.stem[:90] for p in FILES])
def test_semantic_checks_accept_real_traffic(path):
    exchange = load(path)
    kind = kind_for(exchange)
    problems = disclosure.disclosure_problems(exchange["status"], _body(exchange))
    if kind == "rerank":
        problems.append(increments.score_problem(exchange["response_body"]))
    if kind in GENERATION_KINDS:
        answer = read_answer(kind, _body(exchange))
        assert answer is not None, f"{path.name}: not read as {kind}"
        request = exchange["request_body"] if isinstance(exchange["request_body"], dict) else None
        problems += [accounting.output_problem(answer), accounting.input_problem(answer, request),
                     accounting.plausibility_problem(answer), increments.repeated_text_problem(answer)]
        if kind == "openai.chat.completion.stream":
            problems.append(increments.first_role_problem(answer))
        if kind in ("openai.responses.stream", "anthropic.messages.stream"):
            problems.append(increments.event_line_problem(answer))
        problems += _parameter_problems(kind, exchange["response_body"], request or {}, answer.text)
    problems = [p for p in problems if p]
    assert not problems, f"{path.name} ({kind}): {problems}"


def _parameter_problems(kind: str, body: object, request: dict, text: str) -> list[str | None]:
    """The parameter checks whose effect a recorded request asked for: JSON output, a forced function call."""
    if not isinstance(body, dict):
        return []
    found: list[str | None] = []
    if kind == "gemini.generate_content":
        config = request.get("generationConfig") or {}
        cut = any(c.get("finishReason") != "STOP" for c in body.get("candidates") or [] if isinstance(c, dict))
        if config.get("responseMimeType") == "application/json" and not cut and not config.get("responseSchema"):
            found.append(parameters.json_problem(text, config.get("responseJsonSchema")))
        if parameters.forces_function(request):
            found.append(parameters.function_call_problem(body, request))
    if kind == "openai.responses" and body.get("status") == "completed":
        fmt = (request.get("text") or {}).get("format") or {}
        if fmt.get("type") in ("json_object", "json_schema"):
            found.append(parameters.json_problem(text, fmt.get("schema")))
    return found


def test_real_traffic_exercises_the_semantic_checks():
    """Guard: the corpus really feeds these functions answers with text and token counts."""
    counted = 0
    for path in FILES:
        exchange = load(path)
        kind = kind_for(exchange)
        if kind in GENERATION_KINDS:
            answer = read_answer(kind, _body(exchange))
            counted += bool(answer and answer.text and answer.output_tokens)
    assert counted >= 100, counted
