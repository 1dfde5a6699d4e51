"""The official SDKs as clients: each check is a call of openai-python, anthropic-sdk-python or google-genai
against the target, judged by what the SDK hands its user. Run live with ``--sdk`` (``oimi_conformance.sdk``);
these checks judge no recorded exchange, so no case applies to them. Every call has tiny outputs,
``max_retries=0`` and the run's timeout."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..results import Severity
from .registry import check

if TYPE_CHECKING:
    from ..sdk import SdkContext

PROMPT = [{"role": "user", "content": "Say hello."}]
TINY = 8  # output tokens of every call that can be that small
WEATHER_TOOL = {"name": "get_weather", "description": "Get the current weather in a city.",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                                 "required": ["city"]}}
UNKNOWN_MODEL = "oimi-conformance-no-such-model"
BAD_KEY = "sk-oimi-conformance-invalid-key-0000"


def sdk_only(case: Any) -> bool:
    """No case: SDK checks make their own calls."""
    return False


def _sdk(id: str, title: str, spec: str, severity: Severity = "error"
         ) -> Callable[[Callable[[SdkContext], None]], Callable[[SdkContext], None]]:
    return check(id, title, spec=spec, applies=sdk_only, severity=severity)


# -- openai-python ------------------------------------------------------------------------------

@_sdk("sdk.openai.models-list", "openai: models.list() pages through the gateway's models",
      "https://platform.openai.com/docs/api-reference/models/list")
def openai_models_list(ctx: SdkContext) -> None:
    """``client.models.list()`` iterates to at least one ``Model`` with an ``id``."""
    ctx.model = None
    models = list(ctx.openai().models.list())
    if not models or not all(isinstance(m.id, str) and m.id for m in models):
        ctx.fail(f"models.list() gave {len(models)} model(s), some without an id")


@_sdk("sdk.openai.chat-create", "openai: chat.completions.create returns a ChatCompletion with text",
      "https://platform.openai.com/docs/api-reference/chat/create")
def openai_chat_create(ctx: SdkContext) -> None:
    """``chat.completions.create(max_tokens=8)`` returns a ``ChatCompletion`` whose first choice has text
    content and a finish_reason."""
    client = ctx.openai()
    answer = ctx.with_model("chat", lambda m: client.chat.completions.create(model=m, messages=PROMPT,
                                                                             max_tokens=TINY))
    ctx.expect_type(answer, "ChatCompletion")
    choice = answer.choices[0] if answer.choices else None
    if choice is None or not isinstance(choice.message.content, str) or not choice.message.content:
        ctx.fail(f"the ChatCompletion has no text in choices[0].message.content: {answer!r:.300}")
    if choice.finish_reason is None:
        ctx.fail("choices[0].finish_reason is None")


@_sdk("sdk.openai.chat-stream", "openai: a streamed chat completion iterates to text, one finish_reason and usage",
      "https://platform.openai.com/docs/api-reference/chat/streaming")
def openai_chat_stream(ctx: SdkContext) -> None:
    """``chat.completions.create(stream=True, stream_options={"include_usage": True})`` iterates to chunks
    of one id whose deltas carry text, exactly one finish_reason, then a usage chunk."""
    client = ctx.openai()

    def call(model: str) -> list[Any]:
        stream = client.chat.completions.create(model=model, messages=PROMPT, max_tokens=TINY, stream=True,
                                                stream_options={"include_usage": True})
        with stream:
            return list(stream)

    chunks = ctx.with_model("chat", call)
    text = "".join(c.delta.content or "" for chunk in chunks for c in chunk.choices)
    finishes = [c.finish_reason for chunk in chunks for c in chunk.choices if c.finish_reason]
    ids = {chunk.id for chunk in chunks}
    if not text:
        ctx.fail(f"{len(chunks)} chunk(s) and no text in any delta")
    if len(finishes) != 1:
        ctx.fail(f"expected exactly one finish_reason over the stream, got {finishes}")
    if not any(chunk.usage is not None for chunk in chunks):
        ctx.fail("stream_options.include_usage was asked, and no chunk carried usage")
    if len(ids) != 1:
        ctx.fail(f"the chunks carry {len(ids)} different ids")


@_sdk("sdk.openai.responses-create", "openai: responses.create returns a Response with output_text",
      "https://platform.openai.com/docs/api-reference/responses/create")
def openai_responses_create(ctx: SdkContext) -> None:
    """``responses.create(max_output_tokens=16)`` (OpenAI's minimum) returns a ``Response`` whose
    ``output_text`` is not empty and whose status is completed or incomplete."""
    client = ctx.openai()
    answer = ctx.with_model("responses", lambda m: client.responses.create(model=m, input="Say hello.",
                                                                           max_output_tokens=16))
    ctx.expect_type(answer, "Response")
    if not answer.output_text:
        ctx.fail(f"Response.output_text is empty (status {answer.status!r}, {len(answer.output)} output item(s))")
    if answer.status not in ("completed", "incomplete"):
        ctx.fail(f"Response.status is {answer.status!r}")


@_sdk("sdk.openai.responses-stream", "openai: the responses.stream helper's final response matches its text events",
      "https://platform.openai.com/docs/api-reference/responses-streaming")
def openai_responses_stream(ctx: SdkContext) -> None:
    """``responses.stream(...)`` yields ``response.output_text.delta`` events, and ``get_final_response()``
    returns a completed response whose ``output_text`` is the joined deltas."""
    client = ctx.openai()

    def call(model: str) -> tuple[str, Any, list[str]]:
        deltas, kinds = [], []
        with client.responses.stream(model=model, input="Say hello.", max_output_tokens=16) as stream:
            for event in stream:
                kinds.append(event.type)
                if event.type == "response.output_text.delta":
                    deltas.append(event.delta)
            return "".join(deltas), stream.get_final_response(), kinds

    text, final, kinds = ctx.with_model("responses", call)
    if not text:
        ctx.fail(f"no response.output_text.delta carried text (events: {kinds[:12]})")
    if final.output_text != text:
        ctx.fail(f"get_final_response().output_text {final.output_text!r} differs from the deltas {text!r}")
    if kinds[-1:] != ["response.completed"] and final.status != "completed":
        ctx.fail(f"the stream did not end in response.completed (last events {kinds[-3:]})")


@_sdk("sdk.openai.embeddings-float", "openai: embeddings.create(encoding_format='float') returns float vectors",
      "https://platform.openai.com/docs/api-reference/embeddings/create")
def openai_embeddings_float(ctx: SdkContext) -> None:
    """``embeddings.create(input=[a, b], encoding_format="float")`` returns two embeddings, in order, each
    a non-empty list of floats of one length."""
    client = ctx.openai()
    answer = ctx.with_model("embeddings", lambda m: client.embeddings.create(
        model=m, input=["hello", "world"], encoding_format="float"))
    ctx.expect_type(answer, "CreateEmbeddingResponse")
    vectors = [d.embedding for d in sorted(answer.data, key=lambda d: d.index)]
    if len(vectors) != 2 or [d.index for d in answer.data] != [0, 1]:
        ctx.fail(f"expected 2 embeddings indexed 0, 1; got indices {[d.index for d in answer.data]}")
    if not all(isinstance(v, list) and v and all(isinstance(x, float) for x in v) for v in vectors):
        ctx.fail(f"the embeddings are not lists of floats: {type(vectors[0]).__name__}")
    if len({len(v) for v in vectors}) != 1:
        ctx.fail(f"the two vectors differ in length: {[len(v) for v in vectors]}")


@_sdk("sdk.openai.embeddings-base64", "openai: embeddings.create(encoding_format='base64') returns base64 float32",
      "https://platform.openai.com/docs/api-reference/embeddings/create#embeddings-create-encoding_format")
def openai_embeddings_base64(ctx: SdkContext) -> None:
    """With ``encoding_format="base64"`` the SDK hands back the gateway's string untouched: it must be
    base64 of little-endian float32 values. Without ``encoding_format`` the SDK itself asks for base64
    and decodes it: that call must give the same vector as floats."""
    client = ctx.openai()
    explicit = ctx.with_model("embeddings", lambda m: client.embeddings.create(
        model=m, input="hello", encoding_format="base64"))
    ctx.expect_type(explicit, "CreateEmbeddingResponse")
    raw = explicit.data[0].embedding
    if not isinstance(raw, str):
        ctx.fail(f"encoding_format=base64 gave a {type(raw).__name__}, not a base64 string: the gateway ignored it")
    try:
        decoded = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        ctx.fail(f"the embedding is not valid base64: {exc}")
    if not decoded or len(decoded) % 4:
        ctx.fail(f"the base64 embedding decodes to {len(decoded)} bytes, not a whole number of float32 values")
    assert ctx.model is not None
    default = client.embeddings.create(model=ctx.model, input="hello").data[0].embedding
    if not isinstance(default, list) or len(default) != len(decoded) // 4:
        ctx.fail(f"the SDK's default call (base64 decoded by the SDK) gave {len(default)} values; the explicit "
                 f"base64 string holds {len(decoded) // 4}")


@_sdk("sdk.openai.images", "openai: images.generate returns an image URL or base64 data",
      "https://platform.openai.com/docs/api-reference/images/create")
def openai_images(ctx: SdkContext) -> None:
    """``images.generate(n=1)`` returns an ``ImagesResponse`` with one image: an absolute URL or base64."""
    client = ctx.openai()
    answer = ctx.with_model("images", lambda m: client.images.generate(model=m, prompt="a red square", n=1,
                                                                        size="256x256"))
    ctx.expect_type(answer, "ImagesResponse")
    data = answer.data or []
    if len(data) != 1:
        ctx.fail(f"n=1 but {len(data)} image(s) came back")
    image = data[0]
    if not (image.b64_json or (image.url or "").startswith(("http://", "https://", "data:"))):
        ctx.fail(f"the image has neither b64_json nor an absolute url (url={image.url!r})")


@_sdk("sdk.openai.error-bad-key", "openai: a wrong key raises openai.AuthenticationError",
      "https://github.com/openai/openai-python#handling-errors")
def openai_error_bad_key(ctx: SdkContext) -> None:
    """A chat completion with a wrong key raises ``openai.AuthenticationError`` (HTTP 401), the class
    applications catch to ask for a new key."""
    import openai

    model = ctx.any_model("chat")
    client = ctx.openai(key=BAD_KEY)
    ctx.expect_exception(lambda: client.chat.completions.create(model=model, messages=PROMPT, max_tokens=TINY),
                         (openai.AuthenticationError,), "a wrong key")


@_sdk("sdk.openai.error-unknown-model", "openai: an unknown model raises NotFoundError or BadRequestError",
      "https://github.com/openai/openai-python#handling-errors", severity="warning")
def openai_error_unknown_model(ctx: SdkContext) -> None:
    """A chat completion for a model that does not exist raises ``openai.NotFoundError`` (404) or
    ``openai.BadRequestError`` (400), as the profile's ``unknown_model`` statuses allow. A 5xx raises
    ``InternalServerError``, which the SDK retries by default: a client waits for nothing. The same
    finding as ``errors.unknown-model-not-retryable``, seen through the SDK, so the same severity: a 503
    is legal (the request is refused) but harmful (it is retried)."""
    import openai

    allowed = {400: openai.BadRequestError, 404: openai.NotFoundError}
    classes = tuple(allowed[s] for s in ctx.target.profile.statuses.get("unknown_model", (400, 404)) if s in allowed)
    client = ctx.openai()
    ctx.expect_exception(lambda: client.chat.completions.create(model=UNKNOWN_MODEL, messages=PROMPT,
                                                                max_tokens=TINY),
                         classes or (openai.NotFoundError,), "an unknown model")


# -- anthropic-sdk-python -----------------------------------------------------------------------

@_sdk("sdk.anthropic.messages-create", "anthropic: messages.create returns a Message with a text block",
      "https://docs.anthropic.com/en/api/messages")
def anthropic_messages_create(ctx: SdkContext) -> None:
    """``messages.create(max_tokens=8)`` returns a ``Message`` with a non-empty text block, a stop_reason
    and usage."""
    client = ctx.anthropic()
    answer = ctx.with_model("messages", lambda m: client.messages.create(model=m, max_tokens=TINY,
                                                                         messages=PROMPT))
    ctx.expect_type(answer, "Message")
    text = "".join(b.text for b in answer.content if b.type == "text")
    if not text:
        ctx.fail(f"the Message has no text block with text: {answer.content!r:.300}")
    if answer.stop_reason is None or answer.usage is None:
        ctx.fail(f"stop_reason {answer.stop_reason!r}, usage {answer.usage!r}")


@_sdk("sdk.anthropic.messages-stream", "anthropic: messages.create(stream=True) iterates through the event sequence",
      "https://docs.anthropic.com/en/api/messages-streaming")
def anthropic_messages_stream(ctx: SdkContext) -> None:
    """``messages.create(stream=True)`` yields message_start, then content blocks (start, deltas, stop),
    message_delta and message_stop, with text in the deltas."""
    client = ctx.anthropic()

    def call(model: str) -> list[Any]:
        with client.messages.create(model=model, max_tokens=TINY, messages=PROMPT, stream=True) as stream:
            return list(stream)

    events = ctx.with_model("messages", call)
    kinds = [e.type for e in events if e.type != "ping"]
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")
    if kinds[:1] != ["message_start"] or kinds[-2:] != ["message_delta", "message_stop"]:
        ctx.fail(f"the events are {kinds}: expected message_start ... message_delta, message_stop")
    if kinds.count("content_block_start") != kinds.count("content_block_stop") or not text:
        ctx.fail(f"content blocks do not open and close in pairs, or carry no text: {kinds}")


@_sdk("sdk.anthropic.messages-stream-final", "anthropic: the messages.stream helper's final message matches its text",
      "https://github.com/anthropics/anthropic-sdk-python#streaming-helpers")
def anthropic_messages_stream_final(ctx: SdkContext) -> None:
    """``messages.stream(...)``: the text events join to the text of ``get_final_message()``, which has a
    stop_reason and output tokens. The helper accumulates by block index: a gateway whose blocks do not
    start at 0 or whose events are out of order breaks it."""
    client = ctx.anthropic()

    def call(model: str) -> tuple[str, Any]:
        with client.messages.stream(model=model, max_tokens=TINY, messages=PROMPT) as stream:
            text = "".join(event.text for event in stream if event.type == "text")
            return text, stream.get_final_message()

    text, final = ctx.with_model("messages", call)
    final_text = "".join(b.text for b in final.content if b.type == "text")
    if not text or final_text != text:
        ctx.fail(f"the streamed text {text!r} and the final message's text {final_text!r} differ or are empty")
    if final.stop_reason is None or not final.usage or not final.usage.output_tokens:
        ctx.fail(f"the final message has stop_reason {final.stop_reason!r} and usage {final.usage!r}")


@_sdk("sdk.anthropic.tool-use", "anthropic: a forced tool call comes back as a ToolUseBlock with parsed input",
      "https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/overview")
def anthropic_tool_use(ctx: SdkContext) -> None:
    """With a tool and ``tool_choice={"type": "tool"}``, ``messages.create`` returns a ``tool_use`` block
    naming the tool, whose ``input`` is an object with the schema's required properties, and stop_reason
    ``tool_use``. (max_tokens 64: a tool call's arguments do not fit in 8 tokens.)"""
    client = ctx.anthropic()
    answer = ctx.with_model("messages", lambda m: client.messages.create(
        model=m, max_tokens=64, messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[WEATHER_TOOL], tool_choice={"type": "tool", "name": "get_weather"}))
    ctx.expect_type(answer, "Message")
    uses = [b for b in answer.content if b.type == "tool_use"]
    if not uses:
        ctx.fail(f"no tool_use block: {[b.type for b in answer.content]}")
    use = uses[0]
    if use.name != "get_weather" or not isinstance(use.input, dict) or "city" not in use.input:
        ctx.fail(f"tool_use {use.name!r} with input {json.dumps(use.input)[:200]}: expected get_weather with a city")
    if answer.stop_reason != "tool_use":
        ctx.fail(f"stop_reason is {answer.stop_reason!r}, expected 'tool_use'")


@_sdk("sdk.anthropic.error-bad-key", "anthropic: a wrong key raises anthropic.AuthenticationError",
      "https://github.com/anthropics/anthropic-sdk-python#handling-errors")
def anthropic_error_bad_key(ctx: SdkContext) -> None:
    """``messages.create`` with a wrong key (sent as ``x-api-key``) raises ``anthropic.AuthenticationError``."""
    import anthropic

    model = ctx.any_model("messages")
    client = ctx.anthropic(key=BAD_KEY)
    ctx.expect_exception(lambda: client.messages.create(model=model, max_tokens=TINY, messages=PROMPT),
                         (anthropic.AuthenticationError,), "a wrong key")


# -- google-genai -------------------------------------------------------------------------------

def _google_key_sent_as_header(ctx: SdkContext) -> None:
    for request in ctx.wire:
        if "x-goog-api-key" not in request["headers"] or "key" in request["query"]:
            ctx.fail(f"google-genai sent the key other than as x-goog-api-key: {request}")


@_sdk("sdk.google.generate-content", "google-genai: models.generate_content through base_url and v1beta returns text",
      "https://ai.google.dev/api/generate-content#method:-models.generatecontent")
def google_generate_content(ctx: SdkContext) -> None:
    """``genai.Client(http_options=HttpOptions(base_url=..., api_version="v1beta"))`` sends
    ``POST /v1beta/models/{model}:generateContent`` with the key as ``x-goog-api-key``;
    ``generate_content(max_output_tokens=8)`` returns a response whose ``.text`` is not empty and whose
    candidate has a finish_reason."""
    from google.genai import types

    client = ctx.genai()
    answer = ctx.with_model("gemini", lambda m: client.models.generate_content(
        model=m, contents="Say hello.", config=types.GenerateContentConfig(max_output_tokens=TINY)))
    _google_key_sent_as_header(ctx)
    ctx.expect_type(answer, "GenerateContentResponse")
    if not answer.text:
        ctx.fail(f"the response has no text: {answer!r:.300}")
    if not answer.candidates or answer.candidates[0].finish_reason is None:
        ctx.fail("the first candidate has no finish_reason")


@_sdk("sdk.google.generate-content-stream",
      "google-genai: models.generate_content_stream iterates to text and a finish_reason",
      "https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent")
def google_generate_content_stream(ctx: SdkContext) -> None:
    """``generate_content_stream`` (``POST ...:streamGenerateContent?alt=sse``) yields chunks whose text
    joins to a non-empty answer, the last with a finish_reason. google-genai reads only ``data: ``
    lines and parses anything else as JSON, so an SSE comment such as ``: PING`` breaks it."""
    from google.genai import types

    client = ctx.genai()
    chunks = ctx.with_model("gemini", lambda m: list(client.models.generate_content_stream(
        model=m, contents="Say hello.", config=types.GenerateContentConfig(max_output_tokens=TINY))))
    _google_key_sent_as_header(ctx)
    text = "".join(c.text or "" for c in chunks)
    if not text:
        ctx.fail(f"{len(chunks)} chunk(s) and no text")
    last = chunks[-1].candidates or []
    if not last or last[0].finish_reason is None:
        ctx.fail("the last chunk's candidate has no finish_reason")
