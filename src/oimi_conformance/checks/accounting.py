"""Accounting: the token counts a gateway reports must be plausible for the text it returned.

Gateways bill from these numbers, so a count that cannot be right is a billing bug even when the body is
well formed. Severity follows certainty: text with zero tokens, or a prompt with zero tokens, cannot be
right (error); a count far from the text's length is very likely wrong (warning), because tokenizers and
hidden reasoning leave room.
"""

from __future__ import annotations

from typing import Any

from .answers import GENERATION_KINDS, Answer, read_answer
from .registry import CheckContext, all_of, check, expects_success, main_kind

SPEC = ("https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage; "
        "https://docs.anthropic.com/en/api/messages#response-usage; "
        "https://ai.google.dev/api/generate-content#UsageMetadata")
GENERATION = all_of(main_kind(*GENERATION_KINDS), expects_success)
# Looser than any tokenizer: a token is rarely more than ~10 characters of text, and one character (an
# emoji, a rare CJK glyph) is at most a handful of tokens.
MAX_CHARS_PER_TOKEN = 40
MAX_TOKENS_PER_CHAR = 10
SLACK_TOKENS = 20  # framing and stop tokens
TOKENS_PER_TOOL_CALL = 100  # a tool call's wrapper (name, ids, format) is billed beyond its arguments
MIN_CHARS_FOR_RATIO = 200  # below this, a short text says nothing about chars per token


def answer_of(ctx: CheckContext, step: str | None = None) -> Answer:
    """The main step's answer, read for the semantic checks; skipped when there is none to read."""
    exchange = ctx.require_success(step)
    kind = (ctx.step if step is None or step == ctx.step.name else ctx.case.step(step)).expect.kind or ""
    if kind == "gemini.stream.json_array" and exchange.is_event_stream:
        kind = "gemini.stream.sse"  # judged as sent; gemini.json-array-framing reports the framing
    answer = read_answer(kind, exchange.body)
    if answer is None:
        ctx.skip("the answer is not a readable generation answer; see body.schema")
    return answer


def output_problem(answer: Answer) -> str | None:
    visible = answer.text.strip()
    if visible and answer.output_tokens == 0:
        return f"the answer carries {len(answer.text)} characters of output but reports 0 output tokens"
    return None


def prompt_chars(request: Any) -> int:
    """Characters of prompt text in a request of any family (messages, input, contents, system)."""
    total = 0

    def walk(value: Any, key: str = "") -> None:
        nonlocal total
        if isinstance(value, str):
            if key in ("content", "text", "input", "system", "instructions", "prompt"):
                total += len(value)
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif isinstance(value, dict):
            for k, v in value.items():
                if k in ("messages", "input", "contents", "system", "systemInstruction", "instructions",
                         "content", "parts", "text", "prompt"):
                    walk(v, k)
    walk(request)
    return total


def input_problem(answer: Answer, request: Any) -> str | None:
    chars = prompt_chars(request)
    if chars and answer.input_tokens == 0:
        return f"the request carries {chars} characters of prompt but the answer reports 0 input tokens"
    return None


def plausibility_problem(answer: Answer) -> str | None:
    if answer.output_tokens is None or answer.opaque:
        return None
    chars = len(answer.text)
    shown = answer.output_tokens - (answer.hidden_tokens if answer.hidden_included else 0)
    billed = answer.output_tokens + (0 if answer.hidden_included else answer.hidden_tokens)
    if shown > MAX_TOKENS_PER_CHAR * chars + SLACK_TOKENS + TOKENS_PER_TOOL_CALL * answer.tool_calls:
        return (f"{answer.output_tokens} output tokens ({answer.hidden_tokens} of them hidden reasoning) "
                f"reported for {chars} characters of output: more than {MAX_TOKENS_PER_CHAR} tokens per character")
    if chars >= MIN_CHARS_FOR_RATIO and billed * MAX_CHARS_PER_TOKEN < chars:
        return (f"{billed} output tokens reported for {chars} characters of output: more than "
                f"{MAX_CHARS_PER_TOKEN} characters per token")
    return None


def _judge(ctx: CheckContext, problem: str | None, counted: bool) -> None:
    if not counted:
        ctx.skip("the answer reports no token count here; the protocol's usage checks judge its absence")
    if problem:
        ctx.fail(problem)


@check("accounting.output-tokens-counted", "Output text is never billed as zero output tokens", spec=SPEC,
       applies=GENERATION)
def output_tokens_counted(ctx: CheckContext) -> None:
    """Non-empty output (text, tool arguments, thinking) with 0 output tokens cannot be right: the gateway
    under-bills, or lost the upstream's usage and wrote a default. Plain and streamed answers."""
    answer = answer_of(ctx)
    _judge(ctx, output_problem(answer), answer.output_tokens is not None)


@check("accounting.input-tokens-counted", "A non-empty prompt is never billed as zero input tokens", spec=SPEC,
       applies=GENERATION)
def input_tokens_counted(ctx: CheckContext) -> None:
    """Every prompt costs at least one token. Anthropic's cached input counts (cache_creation_input_tokens,
    cache_read_input_tokens) are added to input_tokens before judging."""
    answer = answer_of(ctx)
    _judge(ctx, input_problem(answer, ctx.request), answer.input_tokens is not None)


@check("accounting.output-tokens-plausible", "Output token counts are within an order of magnitude of the text",
       spec=SPEC, applies=GENERATION, severity="warning")
def output_tokens_plausible(ctx: CheckContext) -> None:
    """More than 10 visible tokens per output character (hidden reasoning tokens, as the answer reports
    them, set aside; 20 tokens of slack and 100 per tool call; answers with images, audio or hosted tool
    output are not judged), or fewer than one token per 40 characters of a text of at least
    200: the count belongs to another answer, is cumulative twice over, or counts characters. A warning:
    tokenizers differ, but not by orders of magnitude."""
    answer = answer_of(ctx)
    _judge(ctx, plausibility_problem(answer), answer.output_tokens is not None)
