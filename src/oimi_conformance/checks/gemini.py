"""Gemini generateContent / streamGenerateContent: roles, finish reasons, usageMetadata arithmetic,
maxOutputTokens, the stream (both framings) and the JSON-array framing Google's REST clients expect."""

from __future__ import annotations

import json
from typing import Any

from .common import register_stream_checks
from .registry import CheckContext, all_of, check, has_tag, main_kind

SPEC = "https://ai.google.dev/api/generate-content"
WHOLE = "gemini.generate_content"
STREAMS = ("gemini.stream.sse", "gemini.stream.json_array")
ANY_ANSWER = main_kind(WHOLE, *STREAMS)

# usageMetadata counts that add up to totalTokenCount (cachedContentTokenCount is a part of
# promptTokenCount, not an addend; see the UsageMetadata reference).
USAGE_ADDENDS = ("promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount", "toolUsePromptTokenCount")

register_stream_checks("gemini", STREAMS, "specs/grammars/gemini.stream.yaml", {
    "finish-reason": ("Every candidate of the stream ends with a finishReason",
                      "By the last chunk each candidate that appeared carries a finishReason (unless the "
                      "prompt was blocked: promptFeedback.blockReason).", ("stream.gemini-finish",)),
    "single-id": ("Every chunk of one stream carries the same responseId",
                  "Clients key the stream by its responseId.", ("stream.constant-field",)),
})


def _chunks(ctx: CheckContext) -> list[dict[str, Any]]:
    """The main step's GenerateContentResponse objects: the whole answer, or every stream chunk in order
    (read in the framing actually sent: SSE when the answer is text/event-stream, else Google's JSON array)."""
    from ..judging import stream_items

    exchange = ctx.require_success()
    if ctx.step.expect.kind == WHOLE:
        body = ctx.require_json()
        if not isinstance(body, dict):
            ctx.skip("the answer is not a JSON object; see body.schema")
        return [body]
    framing = "sse" if exchange.is_event_stream else "json_array"
    items, _ = stream_items(exchange, framing)
    chunks: list[dict[str, Any]] = []
    for item in items:
        if framing == "json_array":
            value = item.value
        else:
            try:
                value = json.loads(item.data)
            except (ValueError, RecursionError):
                continue  # framing checks report it
        if isinstance(value, dict):
            chunks.append(value)
    if not chunks:
        ctx.skip("the stream carried no GenerateContentResponse to judge; see gemini.stream.framing")
    return chunks


def _candidates(chunk: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in chunk.get("candidates") or [] if isinstance(c, dict)]


@check("gemini.role-model", "Every candidate's content has role \"model\" (in stream chunks too)",
       spec=f"{SPEC}#candidate", applies=ANY_ANSWER)
def role_model(ctx: CheckContext) -> None:
    """Gemini names the answering side "model", never OpenAI's "assistant": clients append the candidate's
    content to the conversation history, and Gemini refuses a history with a role other than user/model."""
    roles = 0
    for n, chunk in enumerate(_chunks(ctx)):
        for position, candidate in enumerate(_candidates(chunk)):
            content = candidate.get("content")
            if isinstance(content, dict) and "role" in content:
                roles += 1
                if content["role"] != "model":
                    where = f"chunk {n} " if ctx.step.stream else ""
                    ctx.fail(f"{where}candidate {candidate.get('index', position)}: content.role is "
                             f"{content['role']!r}; expected 'model'")
    if not roles:
        ctx.skip("no candidate content carries a role to judge; see body.schema and gemini.finish-reason")


@check("gemini.finish-reason", "Every candidate of a generateContent answer carries a finishReason",
       spec=f"{SPEC}#candidate", applies=main_kind(WHOLE))
def finish_reason(ctx: CheckContext) -> None:
    """A whole answer is final: each candidate says why generation stopped (STOP, MAX_TOKENS, SAFETY...).
    Streams are judged by gemini.stream.finish-reason."""
    chunk = _chunks(ctx)[0]
    candidates = _candidates(chunk)
    if not candidates:
        feedback = chunk.get("promptFeedback") or {}
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            ctx.skip(f"the prompt was blocked ({feedback['blockReason']}): there are no candidates")
        ctx.fail("the answer has no candidates and no promptFeedback.blockReason")
    for position, candidate in enumerate(candidates):
        if candidate.get("finishReason") is None:
            ctx.fail(f"candidate {candidate.get('index', position)} has no finishReason; expected one of STOP, "
                     "MAX_TOKENS, SAFETY, ...")


@check("gemini.usage-arithmetic", "usageMetadata.totalTokenCount = promptTokenCount + candidatesTokenCount "
       "(+ thoughtsTokenCount + toolUsePromptTokenCount)", spec=f"{SPEC}#UsageMetadata", applies=ANY_ANSWER)
def usage_arithmetic(ctx: CheckContext) -> None:
    """Billing reads these numbers. Counts are integers; a count of zero may be omitted (proto3 JSON), so an
    absent count reads as 0. Judged on every chunk that carries usageMetadata (stream counts are cumulative)."""
    chunks = _chunks(ctx)
    found = False
    for n, chunk in enumerate(chunks):
        usage = chunk.get("usageMetadata")
        if usage is None:
            continue
        where = f"chunk {n}: " if ctx.step.stream else ""
        if not isinstance(usage, dict):
            ctx.fail(f"{where}usageMetadata is {type(usage).__name__}, not an object")
        found = True
        counts = {k: usage.get(k, 0) for k in (*USAGE_ADDENDS, "totalTokenCount")}
        wrong = {k: v for k, v in counts.items() if not isinstance(v, int) or isinstance(v, bool)}
        if wrong:
            ctx.fail(f"{where}usageMetadata counts are not all integers: {wrong!r:.200}")
        present = [k for k in USAGE_ADDENDS if k in usage]
        total = sum(counts[k] for k in USAGE_ADDENDS)
        if total != counts["totalTokenCount"]:
            terms = " + ".join(f"{k} {counts[k]}" for k in present) or "no counts"
            ctx.fail(f"{where}usageMetadata does not add up: {terms} = {total}, but totalTokenCount is "
                     f"{counts['totalTokenCount']}")
    if not found:
        ctx.fail("no usageMetadata in the answer" + (" (in any chunk)" if ctx.step.stream else ""))


@check("gemini.max-output-tokens-honoured", "The answer is no longer than generationConfig.maxOutputTokens",
       spec=f"{SPEC}#generationconfig", applies=all_of(ANY_ANSWER, has_tag("max_output_tokens")))
def max_output_tokens_honoured(ctx: CheckContext) -> None:
    """candidatesTokenCount never exceeds maxOutputTokens; under a tight limit the finishReason is MAX_TOKENS
    (STOP only for an answer that ended below the limit)."""
    limit = ((ctx.request or {}).get("generationConfig") or {}).get("maxOutputTokens")
    if not isinstance(limit, int):
        ctx.skip("the request sets no maxOutputTokens")
    chunks = _chunks(ctx)
    usage = next((c["usageMetadata"] for c in reversed(chunks) if isinstance(c.get("usageMetadata"), dict)), None)
    used = usage.get("candidatesTokenCount", 0) if usage is not None else None
    if not isinstance(used, int):
        ctx.skip("no candidatesTokenCount to compare; see gemini.usage-arithmetic")
    if used > limit:
        ctx.fail(f"candidatesTokenCount {used} exceeds maxOutputTokens {limit}")
    if "max_output_tokens_tight" in ctx.case.tags:
        for chunk in chunks:
            for position, candidate in enumerate(_candidates(chunk)):
                reason = candidate.get("finishReason")
                # STOP only below the limit: an answer that fills it exactly on a prompt asking for a long
                # answer was cut, and a client that continues on MAX_TOKENS must be told so
                if reason is None or reason == "MAX_TOKENS" or (reason == "STOP" and used < limit):
                    continue
                ctx.fail(f"candidate {candidate.get('index', position)}: finishReason {reason!r} with "
                         f"candidatesTokenCount {used} under a {limit}-token limit on a prompt that wants a long "
                         "answer; expected MAX_TOKENS (or STOP below the limit)")


@check("gemini.json-array-framing", "streamGenerateContent without alt=sse answers Google's JSON array",
       spec=f"{SPEC}#method:-models.streamgeneratecontent", severity="warning",
       applies=main_kind("gemini.stream.json_array"))
def json_array_framing(ctx: CheckContext) -> None:
    """Without alt=sse Google streams `application/json`: one JSON array whose elements are
    GenerateContentResponse objects. Google's REST-transport clients (google-api-core's rest_streaming, used
    by the generated generativelanguage and Vertex clients) parse that array and cannot read SSE. new-api
    always streams from upstream with alt=sse and relays SSE (or a single object) instead: a known gateway
    deviation, reported as a warning. Errors in the array itself are judged by gemini.stream.framing."""
    exchange = ctx.require_success()
    if exchange.is_event_stream:
        ctx.fail("streamGenerateContent without alt=sse answered text/event-stream; expected Google's JSON-array "
                 "framing (Content-Type application/json, body `[{...},{...}]`). Google's REST-transport clients "
                 "(google-api-core rest_streaming) parse the array and cannot read SSE; clients of this gateway "
                 "must send alt=sse")
    head = exchange.body.lstrip()[:1]
    if head != b"[":
        what = "a single JSON object" if head == b"{" else f"a body starting {exchange.body_text(40)!r}"
        sent = exchange.content_type or "no Content-Type"
        ctx.fail(f"streamGenerateContent without alt=sse answered {what} ({sent}); expected Google's JSON array "
                 "of GenerateContentResponse")


def _text(chunks: list[dict[str, Any]]) -> dict[Any, str]:
    """Each candidate's text parts joined across chunks (thought parts left out), by candidate index."""
    texts: dict[Any, str] = {}
    for chunk in chunks:
        for position, candidate in enumerate(_candidates(chunk)):
            key = candidate.get("index", position)
            texts.setdefault(key, "")
            for part in (candidate.get("content") or {}).get("parts") or []:
                if isinstance(part, dict) and isinstance(part.get("text"), str) and not part.get("thought"):
                    texts[key] += part["text"]
    return texts


@check("gemini.text-nonempty", "A plain text prompt gets a non-empty text answer",
       spec=f"{SPEC}#candidate", applies=lambda case: ANY_ANSWER(case) and "max_output_tokens_tight" not in case.tags
       and "tools" not in case.tags)
def text_nonempty(ctx: CheckContext) -> None:
    """Each candidate's text parts (joined across chunks) are not empty. A thinking model may spend a small
    maxOutputTokens on thoughts and stop with MAX_TOKENS before any text: that is not judged."""
    chunks = _chunks(ctx)
    texts = _text(chunks)
    if not texts:
        ctx.skip("no candidates to judge; see gemini.finish-reason")
    reasons = {}
    for chunk in chunks:
        for position, candidate in enumerate(_candidates(chunk)):
            if candidate.get("finishReason") is not None:
                reasons[candidate.get("index", position)] = candidate["finishReason"]
    usage: dict[str, Any] = next(
        (c["usageMetadata"] for c in reversed(chunks) if isinstance(c.get("usageMetadata"), dict)), {})
    for index, text in texts.items():
        if text.strip():
            continue
        if reasons.get(index) == "MAX_TOKENS" and usage.get("thoughtsTokenCount"):
            ctx.skip(f"candidate {index} spent the token budget on {usage['thoughtsTokenCount']} thought tokens "
                     "(finishReason MAX_TOKENS) before any text")
        ctx.fail(f"candidate {index} has no text (finishReason {reasons.get(index)!r}); expected a non-empty answer "
                 "to a plain text prompt")
