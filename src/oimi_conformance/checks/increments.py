"""Streams carry increments, completely, and tell the same story as the plain answer.

Each delta is new text (not the text so far, repeated), the first chat chunk names the role, a Responses
or Messages event's ``event:`` line is sent and names its ``type``, the model a stream names is the
model the plain answer names, and rerank scores stay in their documented range.
"""

from __future__ import annotations

from typing import Any

from .accounting import answer_of
from .answers import STREAM_KINDS, Answer
from .registry import CheckContext, all_of, check, expects_success, has_tag, main_kind

CHAT_SPEC = "https://platform.openai.com/docs/api-reference/chat-streaming/streaming"
RESPONSES_SPEC = "https://platform.openai.com/docs/api-reference/responses-streaming"
MESSAGES_SPEC = "https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types"
GEMINI_SPEC = "https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent"
STREAMS = all_of(main_kind(*STREAM_KINDS), expects_success)
MIN_REPEATED = 4  # a prefix this long, restated whole, is not a coincidence
REPEATS_TO_FAIL = 1  # a delta that restates all the text before it, and more: a cumulative stream


def repeated_text_problem(answer: Answer) -> str | None:
    for channel, pieces in answer.deltas.items():
        so_far, repeats, example = "", 0, ""
        for piece in pieces:
            if len(so_far) >= MIN_REPEATED and len(piece) > len(so_far) and piece.startswith(so_far):
                repeats += 1
                example = example or piece
            so_far += piece
        if repeats >= REPEATS_TO_FAIL:
            return (f"{channel}: {repeats} deltas repeat all the text streamed before them (the text so far, "
                    f"not an increment), e.g. {example[:80]!r}")
    return None


@check("increments.no-repeated-text", "Each stream delta is new text, not the text so far repeated",
       spec=f"{CHAT_SPEC}; {RESPONSES_SPEC}; {MESSAGES_SPEC}; {GEMINI_SPEC}", applies=STREAMS)
def no_repeated_text(ctx: CheckContext) -> None:
    """Clients append deltas. A gateway that sends the cumulative text in every chunk makes every client
    print "Hello Hello there Hello there friend". Judged per choice / content block / output part /
    candidate; it fails on a delta that starts with all the text before it (4+ characters) and adds to it."""
    answer = answer_of(ctx)
    if not any(answer.deltas.values()):
        ctx.skip("the stream carried no text delta to judge")
    problem = repeated_text_problem(answer)
    if problem:
        ctx.fail(problem)


def first_role_problem(answer: Answer) -> str | None:
    missing = [idx for idx, role in sorted(answer.first_chunk_roles.items()) if role != "assistant"]
    if missing:
        role = answer.first_chunk_roles[missing[0]]
        return f"choice {missing[0]}: its first chunk's delta.role is {role!r}, not 'assistant'"
    return None


@check("increments.first-chunk-role", "The first chunk of each chat choice announces role 'assistant'",
       spec=f"{CHAT_SPEC}#chat-streaming/streaming-choices-delta", severity="warning",
       applies=all_of(main_kind("openai.chat.completion.stream"), expects_success))
def first_chunk_role(ctx: CheckContext) -> None:
    """OpenAI sends delta.role 'assistant' in the first chunk of every choice; clients that build the
    message from the stream (LangChain, older SDK helpers) take the role from there."""
    answer = answer_of(ctx)
    if not answer.first_chunk_roles:
        ctx.skip("the stream carried no choice chunk to judge")
    problem = first_role_problem(answer)
    if problem:
        ctx.fail(problem)


def event_line_problem(answer: Answer) -> str | None:
    for n, (line, kind) in enumerate(answer.event_lines):
        if kind is None:
            continue
        if line is None:
            return f"event {n} ({kind!r}) has no 'event:' line: the stream forwards only 'data:' lines"
        if line != kind:
            return f"event {n}: 'event: {line}' but the data's type is {kind!r}"
    return None


@check("increments.event-line-present", "Every Responses and Messages stream event has an event: line naming its type",
       spec=f"{RESPONSES_SPEC}; {MESSAGES_SPEC}",
       applies=all_of(main_kind("openai.responses.stream", "anthropic.messages.stream"), expects_success))
def event_line_present(ctx: CheckContext) -> None:
    """Both protocols send each event as an `event: <type>` line and a `data:` line. SDKs dispatch on the
    event name (anthropic-sdk-python reads it before the data), so a gateway that forwards only the data
    lines is wrong, not terse."""
    answer = answer_of(ctx)
    if not any(kind is not None for _, kind in answer.event_lines):
        ctx.skip("the stream carried no typed event to judge")
    problem = event_line_problem(answer)
    if problem:
        ctx.fail(problem)


def plain_and_stream(ctx: CheckContext) -> tuple[Answer, Answer]:
    """The answers of a stream-agrees case's plain step and streamed step, in that order."""
    plain = next(s.name for s in ctx.case.steps if not s.stream)
    streamed = next(s.name for s in ctx.case.steps if s.stream)
    answers = answer_of(ctx, plain), answer_of(ctx, streamed)
    for (what, answer) in zip(("plain answer", "stream"), answers, strict=True):
        if answer.said_nothing:  # {} or a stream with no event: nothing to compare the other with
            ctx.skip(f"the {what} carries nothing to compare (an empty body or no event)")
    return answers


def model_problem(plain: Answer, streamed: Answer) -> str | None:
    wanted = set(plain.models)
    other = sorted({m for m in streamed.models if m not in wanted})
    if wanted and other:
        return (f"the plain answer names model {sorted(wanted)[0]!r} but the stream names {other[0]!r} "
                f"(an upstream deployment name leaking, or another model answering)")
    return None


@check("increments.stream-model-matches", "A stream names the same model as the plain answer to the same request",
       spec=f"{CHAT_SPEC}; {RESPONSES_SPEC}", applies=has_tag("stream-agrees"))
def stream_model_matches(ctx: CheckContext) -> None:
    """Same request with and without streaming: every chunk's model is the one the plain answer names.
    Cost tracking and client-side routing key on it."""
    plain, streamed = plain_and_stream(ctx)
    if not plain.models or not streamed.models:
        ctx.skip(f"the {'plain answer' if not plain.models else 'stream'} names no model to compare")
    problem = model_problem(plain, streamed)
    if problem:
        ctx.fail(problem)


def tools_problem(plain: Answer, streamed: Answer) -> str | None:
    if sorted(set(plain.tool_names)) != sorted(set(streamed.tool_names)):
        return (f"the plain answer calls {sorted(set(plain.tool_names)) or 'no tool'} but the stream calls "
                f"{sorted(set(streamed.tool_names)) or 'no tool'}")
    return None


@check("increments.stream-tools-agree", "A stream calls the same tools as the plain answer to the same request",
       spec=f"{CHAT_SPEC}; {RESPONSES_SPEC}", applies=has_tag("stream-agrees"))
def stream_tools_agree(ctx: CheckContext) -> None:
    """Same request, stream on and off: the same set of tools is called. Where a tool is forced (the cases
    that carry tools force one), a model has no choice, so a difference is the gateway's translation of the
    stream losing or inventing calls."""
    plain, streamed = plain_and_stream(ctx)
    problem = tools_problem(plain, streamed)
    if problem:
        ctx.fail(problem)


def finish_problem(plain: Answer, streamed: Answer) -> str | None:
    for where, reason in plain.finish.items():
        if where in streamed.finish and streamed.finish[where] != reason:
            return f"{where}: the plain answer ends with {reason!r}, the stream with {streamed.finish[where]!r}"
    missing = sorted(set(plain.finish) - set(streamed.finish))
    if missing:
        return f"{missing[0]}: the plain answer ends with {plain.finish[missing[0]]!r}, the stream never says why"
    return None


@check("increments.stream-finish-agrees", "A Messages or Gemini stream ends for the same reason as the plain "
       "answer to the same request", spec=f"{MESSAGES_SPEC}; {GEMINI_SPEC}",
       applies=lambda case: "stream-agrees" in case.tags and case.family in ("anthropic", "gemini"))
def stream_finish_agrees(ctx: CheckContext) -> None:
    """stop_reason (Messages) and finishReason (Gemini) of the stream's last word equal the plain answer's:
    a short prompt under a tight limit ends the same way however it is delivered (chat.stream-agrees and
    responses.stream-agrees judge the OpenAI protocols)."""
    plain, streamed = plain_and_stream(ctx)
    if not plain.finish:
        ctx.skip("the plain answer does not say why it ended: nothing to compare the stream's end with")
    problem = finish_problem(plain, streamed)
    if problem:
        ctx.fail(problem)


RERANK_SPEC = "https://docs.cohere.com/reference/rerank"


def scores(body: Any) -> list[tuple[int, float]]:
    """Each result's numeric relevance_score, with its index."""
    found = []
    for n, result in enumerate((body or {}).get("results") or [] if isinstance(body, dict) else []):
        score = result.get("relevance_score") if isinstance(result, dict) else None
        if isinstance(score, (int, float)) and not isinstance(score, bool):
            found.append((n, score))
    return found


def score_problem(body: Any) -> str | None:
    for n, score in scores(body):
        if not 0 <= score <= 1:
            return f"results[{n}].relevance_score {score} is outside [0, 1]"
    return None


@check("rerank.score-range", "relevance_score is within [0, 1]", spec=f"{RERANK_SPEC}#response.body.results",
       severity="warning", applies=all_of(main_kind("rerank"), expects_success))
def score_range(ctx: CheckContext) -> None:
    """Cohere (and Jina, and new-api's rerank relay) document scores normalised to [0, 1]; raw logits from
    an unnormalised upstream break every client threshold."""
    body = ctx.require_json()
    if not scores(body):
        ctx.skip("the answer carries no relevance_score to judge; see body.schema")
    problem = score_problem(body)
    if problem:
        ctx.fail(problem)
