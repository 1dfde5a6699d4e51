"""The sandbox's named faults, as data.

A deviation is one way a gateway can break the contract. Switching one on makes the sandbox break the
contract in exactly that way, so the harness's self-tests can prove that each check catches its class of
fault. The behaviour lives where it applies (see ``faults.py`` and ``subtle_faults.py`` for the
body/stream/request hooks, ``access.py``, ``error_bodies.py``, ``validation.py``, ``wire.py`` and the endpoint
modules for the rest); this module only names them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

FAMILIES: tuple[str, ...] = (
    "auth",
    "errors",
    "models",
    "chat",
    "chat.stream",
    "responses",
    "messages",
    "gemini",
    "embeddings",
    "rerank",
    "images",
    "delivery",
    "robustness",
)


@dataclass(frozen=True)
class Deviation:
    name: str
    family: str
    description: str


def _d(name: str, description: str) -> Deviation:
    family = name.rsplit(".", 1)[0]
    return Deviation(name=name, family=family, description=description)


DEVIATIONS: tuple[Deviation, ...] = (
    # auth
    _d("auth.accept-any-key", "an unknown key is accepted as if it were valid"),
    _d("auth.missing-key-accepted", "a request without any key is accepted"),
    _d("auth.bad-key-403", "an unknown key answers 403 instead of 401"),
    _d("auth.echo-key", "the 401 error message repeats the presented key"),
    _d("auth.goog-key-ignored", "the x-goog-api-key header is not honoured (401 where it should work)"),
    _d("auth.sk-prefix-required", "a valid key sent without its sk- prefix is refused (new-api strips the prefix: "
       "middleware/auth.go TokenAuth)"),
    _d("auth.bearer-wins", "Authorization overrides every other credential sent with it (new-api: x-goog-api-key "
       "> ?key= > x-api-key > Authorization)"),
    _d("auth.x-api-key-everywhere", "x-api-key is honoured on every route, /v1/chat/completions included"),
    # errors
    _d("errors.html-body", "errors are sent as a text/html page instead of a JSON envelope"),
    _d("errors.server-error-on-bad-input", "malformed JSON and missing/invalid fields answer 500, not 400"),
    _d("errors.error-with-200", "errors are sent with HTTP status 200"),
    _d("errors.bare-envelope", "error bodies are {message, type, code} without the 'error' wrapper"),
    _d("errors.unknown-model-503", "an unknown model answers 503 (new-api's real behaviour) instead of 404"),
    _d("errors.no-retry-after", "429 answers carry no Retry-After header"),
    _d("errors.rate-limit-empty-body", "429 answers carry no body and no Content-Type (new-api's real behaviour: "
       "its limiter answers c.Status(429))"),
    _d("errors.retry-after-malformed", "429 answers carry Retry-After: soon (neither seconds nor an HTTP date)"),
    _d("errors.accepts-invalid-input", "missing required fields and wrong types are answered 200, not 400"),
    _d("errors.unknown-model-500", "an unknown model answers 500 (an unhandled 'no channel' error)"),
    _d("errors.validation-500", "body-validation errors raised inside the relay (missing or mistyped fields; "
       "malformed JSON on Gemini routes, whose body only the relay parses) answer 500 (new-api's real behaviour)"),
    _d("errors.wrong-method-404", "a wrong method on a known route answers 404 Invalid URL, not 405 "
       "(new-api's real behaviour)"),
    _d("errors.no-request-id", "answers carry no request id: no X-Oneapi-Request-Id header, no (request id: ...)"),
    # models
    _d("models.duplicate-ids", "GET /v1/models lists a model id twice"),
    _d("models.bad-shape", "GET /v1/models has no object: 'list'"),
    _d("models.unknown-200", "GET /v1/models/{unknown} answers 200 with an error body (new-api's real behaviour)"),
    _d("models.claims-everything", "every model lists every endpoint type in supported_endpoint_types"),
    _d("models.retrieve-wrong-model", "GET /v1/models/{model} answers another model of the catalogue"),
    _d("models.retrieve-builtin-only", "GET /v1/models/{model} knows only built-in models: an operator's model "
       "gets the unknown-model answer (new-api's real behaviour)"),
    _d("models.gemini-get-unrouted", "GET /v1beta/models/{model} is not routed: 404 Invalid URL "
       "(new-api's real behaviour; google-genai's models.get fails)"),
    _d("models.gemini-list-nulls", "GET /v1beta/models lists bare ids as names and null in every optional field "
       "(new-api's real behaviour)"),
    # chat (non-streaming)
    _d("chat.usage-missing", "chat completions carry no usage object"),
    _d("chat.usage-arithmetic", "usage.total_tokens != prompt_tokens + completion_tokens"),
    _d("chat.bad-finish-reason", "finish_reason is a value outside the OpenAI enum"),
    _d("chat.ignores-max-tokens", "max_tokens / max_completion_tokens are ignored (chat and chat streams)"),
    _d("chat.tool-args-not-json", "tool_calls[].function.arguments is not valid JSON"),
    _d("chat.ignores-n", "n is ignored: always one choice (chat and chat streams)"),
    _d("chat.ignores-stop", "stop sequences are ignored (chat and chat streams)"),
    _d("chat.json-mode-not-json", "response_format json_object/json_schema answers non-JSON content"),
    _d("chat.hides-truncation", "an answer cut by max_tokens says finish_reason 'stop', not 'length'"),
    # chat streams
    _d("chat.stream.no-done", "the stream ends without data: [DONE]"),
    _d("chat.stream.double-done", "data: [DONE] is sent twice"),
    _d("chat.stream.changing-id", "the chunk id changes from chunk to chunk"),
    _d("chat.stream.no-finish-reason", "no chunk carries a finish_reason"),
    _d("chat.stream.no-usage-chunk", "stream_options.include_usage is ignored: no usage chunk"),
    _d("chat.stream.tool-index-from-1", "streamed tool_calls[].index starts at 1"),
    _d("chat.stream.role-every-chunk", "delta.role is repeated in every chunk"),
    _d("chat.stream.bad-chunk-field", "chunks carry created as a string (\"1735689600\"), not an integer"),
    _d("chat.stream.finish-differs", "the streamed finish_reason is 'length' where the plain answer says 'stop'"),
    _d("chat.stream.usage-unasked", "a chat stream ends with a usage chunk (choices: []) even when stream_options "
       "did not ask for one (new-api's real behaviour)"),
    _d("chat.stream.error-after-start", "after two content chunks the 200 stream carries an error event "
       "(data: {\"error\": ...}) and ends"),
    _d("chat.stream.tool-args-invalid", "streamed tool arguments are '{}': later argument fragments are dropped"),
    # responses
    _d("responses.seq-not-increasing", "stream sequence_number values are not strictly increasing"),
    _d("responses.completed-empty-output", "response.completed carries an empty output list"),
    _d("responses.no-terminal-event", "the stream ends without response.completed / response.incomplete"),
    _d("responses.usage-missing", "the response (and response.completed) has no usage"),
    _d("responses.compact-wrong-object", "/v1/responses/compact answers object 'response', not 'response.compaction'"),
    _d("responses.text-mismatch", "response.completed's text differs from the joined output_text deltas"),
    _d("responses.empty-output-text", "a completed response's message carries an empty output_text"),
    _d("responses.ignores-max-output-tokens", "max_output_tokens is ignored"),
    _d("responses.hides-truncation", "a response cut by max_output_tokens says status 'completed', not 'incomplete'"),
    _d("responses.tool-args-invalid", "function_call arguments are '{}', missing the tool's required properties"),
    _d("responses.bad-event-field", "output_text.delta events carry output_index as a string (\"0\")"),
    _d("responses.changing-id", "response.completed names another response id than response.created"),
    _d("responses.compact-streams", "/v1/responses/compact with stream: true answers an event stream"),
    _d("responses.compaction-rejected", "a compaction item fed back to /v1/responses is refused with 400"),
    _d("responses.compact-drops-stream", "/v1/responses/compact ignores stream: true and answers one JSON "
       "compaction (new-api's real behaviour)"),
    _d("responses.compact-suffix", "/v1/responses/compact serves <model>-openai-compact, not <model>: a model "
       "without that mapping answers 503 model_not_found (new-api's real behaviour)"),
    # messages
    _d("messages.missing-stops", "the stream has no content_block_stop and no message_stop"),
    _d("messages.noncontiguous-index", "content block indices start at 1 instead of 0"),
    _d("messages.bad-stop-reason", "stop_reason is a value outside Anthropic's enum"),
    _d("messages.max-tokens-optional", "a request without max_tokens is accepted"),
    _d("messages.input-json-broken", "streamed input_json_delta pieces do not join into valid JSON"),
    _d("messages.no-usage", "messages (and message_start / message_delta events) carry no usage"),
    _d("messages.empty-text", "the answer's text block is empty (plain and streamed)"),
    _d("messages.stream-restarts", "a stream starts over after its first delta: a second message_start, new id"),
    # gemini
    _d("gemini.role-assistant", "candidates[].content.role is 'assistant' instead of 'model'"),
    _d("gemini.usage-arithmetic", "usageMetadata.totalTokenCount != promptTokenCount + candidatesTokenCount"),
    _d("gemini.ignores-alt-sse", "streamGenerateContent answers the JSON-array framing even with alt=sse"),
    _d("gemini.query-key-ignored", "?key= is not honoured on Gemini routes (401 where it should work)"),
    _d("gemini.no-finish-reason", "no candidate carries a finishReason"),
    _d("gemini.sse-without-alt", "streamGenerateContent answers SSE without alt=sse (new-api's real behaviour)"),
    _d("gemini.ignores-max-output-tokens", "generationConfig.maxOutputTokens is ignored"),
    _d("gemini.hides-truncation", "an answer cut by maxOutputTokens says finishReason STOP, not MAX_TOKENS"),
    _d("gemini.error-mid-stream", "a stream carries an error element and then goes on with more chunks"),
    _d("gemini.changing-response-id", "every stream chunk carries a different responseId"),
    _d("gemini.empty-text", "candidates' text parts are empty (plain and streamed)"),
    _d("gemini.ping-comment", "the alt=sse stream carries an SSE comment ': PING' (new-api's keep-alive), "
       "which google-genai parses as JSON and fails on"),
    # embeddings
    _d("embeddings.wrong-index", "data[].index does not match the input position (starts at 1)"),
    _d("embeddings.base64-ignored", "encoding_format=base64 is ignored: floats are returned"),
    _d("embeddings.dimensions-ignored", "the dimensions parameter is ignored"),
    _d("embeddings.fewer-vectors", "a batch of inputs gets only the first input's vector"),
    _d("embeddings.no-usage", "the answer carries no usage object"),
    # rerank
    _d("rerank.unsorted", "results are not sorted by relevance_score descending"),
    _d("rerank.top-n-ignored", "top_n is ignored: every document is returned"),
    _d("rerank.duplicate-index", "two results carry the same document index"),
    # images
    _d("images.n-ignored", "n is ignored: always one image"),
    _d("images.b64-not-image", "b64_json decodes to bytes that are not an image"),
    _d("images.url-relative", "url is a path relative to the gateway (/sandbox-files/...), not an absolute URL"),
    # delivery (every stream)
    _d("delivery.buffered", "stream events are held back and sent in one burst at the end"),
    _d("delivery.stall", "the stream stops mid-way and keeps the connection open for 60 s"),
    _d("delivery.slow-first-event", "the headers come at once, the first stream event only after "
       "first_event_delay_s (25 s by default)"),
    _d("delivery.truncated", "the connection is closed in the middle of an event"),
    # robustness (every route)
    _d("robustness.slow-headers", "the gateway waits 60 s before sending any response"),
    _d("robustness.invalid-utf8", "a stream event carries bytes that are not valid UTF-8"),
    _d("robustness.huge-body", "POST endpoints answer a 50 MB JSON body, streamed"),
    _d("robustness.html-200", "every endpoint answers an HTML page with status 200"),
    _d("robustness.reset", "the connection is reset before any response"),
    _d("robustness.html-fallback", "a path outside /v1, /v1beta and /api answers the web dashboard: HTTP 200 "
       "text/html (new-api's real behaviour; what an SDK configured without /v1 gets)"),
    # issue 16: answers well formed but wrong (sandbox/subtle_faults.py)
    _d("errors.stack-trace", "error messages carry a Python traceback, server file paths and a bug-report link"),
    _d("chat.stream.cumulative-deltas", "each chat chunk carries the text so far, not the new text"),
    _d("chat.stream.no-role", "no chat chunk announces delta.role"),
    _d("chat.stream.upstream-model", "stream chunks name an upstream deployment, not the model the plain answer names"),
    _d("responses.no-event-lines", "the Responses stream forwards only data: lines, no event: lines"),
    _d("chat.usage-zero-output", "chat completions report completion_tokens 0 for a non-empty answer"),
    _d("messages.usage-zero-input", "messages report input_tokens 0 for a non-empty prompt (plain and streamed)"),
    _d("chat.stream.usage-inflated", "the streamed usage chunk reports 1000x the completion tokens"),
    _d("rerank.raw-scores", "relevance_score values are raw logits outside [0, 1] (order kept)"),
    _d("responses.previous-id-rejected", "previous_response_id is refused as an unsupported parameter (400)"),
    _d("auth.restricted-ignored-gemini", "a restricted key may use every model on the Gemini routes"),
    _d("auth.restricted-lists-everything", "GET /v1beta/models shows a restricted key every model"),
    _d("gemini.ignores-stop-sequences", "generationConfig.stopSequences is ignored"),
    _d("images.url-dead", "the image url points at a file the gateway never serves (404)"),
    _d("responses.json-mode-not-json", "text.format json_object/json_schema answers prose around the JSON"),
    _d("gemini.json-mode-not-json", "responseMimeType application/json answers prose around the JSON"),
    _d("gemini.tool-args-invalid", "functionCall.args is {}, missing the function's required parameters"),
    _d("messages.stream-stop-differs", "the streamed stop_reason swaps end_turn and max_tokens"),
    _d("chat.stream.tool-as-text", "a streamed forced tool call comes back as an empty text answer, no tool_calls"),
)

DEVIATION_NAMES: tuple[str, ...] = tuple(d.name for d in DEVIATIONS)
_BY_NAME: dict[str, Deviation] = {d.name: d for d in DEVIATIONS}


def get(name: str) -> Deviation:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(_unknown_message([name])) from None


def validate(names: Iterable[str]) -> frozenset[str]:
    """The names as a frozenset, or ValueError naming the unknown ones and listing the allowed ones."""
    chosen = frozenset(names)
    unknown = sorted(chosen - _BY_NAME.keys())
    if unknown:
        raise ValueError(_unknown_message(unknown))
    return chosen


def _unknown_message(unknown: list[str]) -> str:
    allowed = "\n  ".join(DEVIATION_NAMES)
    return f"unknown sandbox deviation(s): {', '.join(unknown)}. Allowed names:\n  {allowed}"
