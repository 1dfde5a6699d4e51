"""The sandbox's modes: which real gateway it plays before any deviation is switched on.

``new-api`` (the default) behaves as a healthy QuantumNous/new-api deployment does, point by point as
docs/new-api-behaviour.md cites from new-api's source: it is the Oimi API as users meet it, so the
embedded default run exercises what Oimi really does. ``reference`` is the ideal gateway of the protocol
references (OpenAI, Anthropic, Gemini, the Oimi reference), used to test the strict profiles, as the
baseline of the deviation self-tests, and as the providers' upstream behind a real gateway.

The mode follows new-api as built and run here (commit 116255f076a3e9d92b0c9a85303daae73997b55e). Older
versions routed /v1/responses/compact to <model>-openai-compact; that is the ``responses.compact-suffix``
deviation, which the harness also handles (discovery.fold_compact_aliases, Exchange.no_channel).

A mode is a set of named deviations (``deviations.py``): each new-api behaviour that departs from the
reference is one named, switchable behaviour, so the self-tests can show which check it trips.
"""

from __future__ import annotations

DEFAULT_MODE = "new-api"

MODES: dict[str, frozenset[str]] = {
    "reference": frozenset(),
    "new-api": frozenset({
        "errors.unknown-model-503",      # middleware/distributor.go: Distribute, 503 model_not_found
        "errors.no-retry-after",         # middleware/model-rate-limit.go: 429 without Retry-After
        "errors.validation-500",         # types/error.go: relay errors default to 500
        "errors.wrong-method-404",       # router/web-router.go: NoRoute, no HandleMethodNotAllowed
        "models.unknown-200",            # controller/model.go: RetrieveModel, 200 with an error body
        "models.retrieve-builtin-only",  # controller/model.go: RetrieveModel looks in the built-in list only
        "models.gemini-list-nulls",      # dto: Gemini model entries without omitempty, bare names
        "models.gemini-get-unrouted",    # router/relay-router.go: no GET /v1beta/models/{model}
        "messages.max-tokens-optional",  # relay/channel/claude: a default max_tokens is filled in
        "gemini.sse-without-alt",        # relay/channel/gemini: always streams SSE
        "chat.stream.usage-unasked",     # relay/compatible_handler.go: TextHelper, includeUsage defaults true
        "responses.compact-drops-stream",  # relay/responses_handler.go: ResponsesHelper drops stream
        "errors.rate-limit-empty-body",  # middleware/model-rate-limit.go: c.Status(429), no body, no headers
        "robustness.html-fallback",      # router/web-router.go: unknown non-/v1 paths get the dashboard
    }),
}


def deviations_of(mode: str) -> frozenset[str]:
    """The deviations that make up ``mode``; ValueError for an unknown mode."""
    try:
        return MODES[mode]
    except KeyError:
        raise ValueError(f"unknown sandbox mode {mode!r}; known: {', '.join(MODES)}") from None
