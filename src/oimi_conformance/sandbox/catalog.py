"""The sandbox's models, as data.

Each model says what it really does (``capabilities``), what the gateway *claims* it does
(``claims``, the new-api ``supported_endpoint_types`` shown by ``GET /v1/models``), and which of its
capabilities answer broken on purpose (``broken``). The three can disagree on purpose, so a capability
matrix has something true to report: ``sandbox-chat`` claims ``openai-response`` yet has no Responses
support, and ``sandbox-flaky`` answers some cells with a broken stream or an error inside an HTTP 200.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

# Every capability a model can have; the harness's capability names follow these.
CAPABILITIES: tuple[str, ...] = (
    "chat",
    "chat.stream",
    "chat.tools",
    "chat.json",
    "chat.vision",
    "responses",
    "responses.stream",
    "responses.compact",
    "messages",
    "messages.stream",
    "messages.tools",
    "gemini",
    "gemini.stream",
    "embeddings",
    "rerank",
    "images",
)

# new-api's ``supported_endpoint_types`` vocabulary (``openai-video`` is listed for completeness).
ENDPOINT_TYPES: tuple[str, ...] = (
    "openai",
    "openai-response",
    "openai-response-compact",
    "anthropic",
    "gemini",
    "jina-rerank",
    "image-generation",
    "embeddings",
    "openai-video",
)

# Fixed so listings are byte-for-byte reproducible (2025-01-01T00:00:00Z).
MODEL_CREATED = 1735689600
MODEL_CREATED_ISO = "2025-01-01T00:00:00Z"


@dataclass(frozen=True)
class ModelSpec:
    """One model of the sandbox catalogue."""

    id: str
    owned_by: str
    capabilities: frozenset[str]
    claims: tuple[str, ...]
    broken: frozenset[str] = frozenset()
    display_name: str = ""

    def __post_init__(self) -> None:
        unknown = (set(self.capabilities) | set(self.broken)) - set(CAPABILITIES)
        if unknown:
            raise ValueError(f"model {self.id}: unknown capabilities {sorted(unknown)}; allowed: {CAPABILITIES}")
        bad_claims = set(self.claims) - set(ENDPOINT_TYPES)
        if bad_claims:
            raise ValueError(f"model {self.id}: unknown endpoint types {sorted(bad_claims)}")
        if not self.display_name:
            object.__setattr__(self, "display_name", self.id.replace("-", " ").title())

    def supports(self, capability: str) -> bool:
        return capability in self.capabilities

    def is_broken(self, capability: str) -> bool:
        return capability in self.broken


_TEXT_ALL = frozenset(CAPABILITIES) - {"embeddings", "rerank", "images"}  # every text capability

DEFAULT_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="sandbox-omni",
        owned_by="sandbox",
        capabilities=_TEXT_ALL,
        claims=("openai", "openai-response", "openai-response-compact", "anthropic", "gemini"),
    ),
    ModelSpec(
        id="sandbox-chat",
        owned_by="sandbox",
        capabilities=frozenset({"chat", "chat.stream", "messages", "gemini"}),
        # Claims Responses support it does not have: the matrix must report this disagreement.
        claims=("openai", "openai-response", "anthropic", "gemini"),
    ),
    ModelSpec(
        id="sandbox-embed",
        owned_by="sandbox",
        capabilities=frozenset({"embeddings"}),
        claims=("embeddings",),
    ),
    ModelSpec(
        id="sandbox-rerank",
        owned_by="sandbox",
        capabilities=frozenset({"rerank"}),
        claims=("jina-rerank",),
    ),
    ModelSpec(
        id="sandbox-image",
        owned_by="sandbox",
        capabilities=frozenset({"images"}),
        claims=("image-generation",),
    ),
    ModelSpec(
        id="sandbox-flaky",
        owned_by="sandbox",
        capabilities=frozenset({"chat", "chat.stream", "gemini", "gemini.stream"}),
        claims=("openai", "gemini"),
        # Supported on paper, broken in practice: a stream without [DONE], an error inside HTTP 200.
        broken=frozenset({"chat.stream", "gemini", "gemini.stream"}),
    ),
)

# Which capability each endpoint needs, and the path it is reached on (for error messages).
ENDPOINT_CAPABILITY: dict[str, tuple[str, str]] = {
    "chat": ("chat", "/v1/chat/completions"),
    "responses": ("responses", "/v1/responses"),
    "responses.compact": ("responses.compact", "/v1/responses/compact"),
    "messages": ("messages", "/v1/messages"),
    "gemini": ("gemini", "/v1beta/models/{model}:generateContent"),
    "embeddings": ("embeddings", "/v1/embeddings"),
    "rerank": ("rerank", "/v1/rerank"),
    "images": ("images", "/v1/images/generations"),
}


COMPACT_SUFFIX = "-openai-compact"


def compact_aliases(catalog: Iterable[ModelSpec]) -> tuple[ModelSpec, ...]:
    """new-api serves /v1/responses/compact for <model> from a model named <model>-openai-compact, which
    the operator adds to a channel (and which is then listed like any other): one per compact-capable model."""
    return tuple(
        replace(m, id=f"{m.id}{COMPACT_SUFFIX}", display_name="", capabilities=frozenset({"responses.compact"}),
                claims=("openai-response-compact",), broken=frozenset())
        for m in catalog if m.supports("responses.compact") and not m.id.endswith(COMPACT_SUFFIX))


def build_catalog(models: Iterable[ModelSpec] | None = None, extra_models: int = 0) -> tuple[ModelSpec, ...]:
    """The catalogue a sandbox serves: the defaults (or an override) plus ``extra_models`` omni clones.

    Clones are named ``sandbox-omni-01``, ``sandbox-omni-02``... so a 50-model benchmark has 50 real models.
    """
    base = tuple(models) if models is not None else DEFAULT_MODELS
    if extra_models < 0:
        raise ValueError(f"extra_models must be >= 0, got {extra_models}")
    template = next((m for m in DEFAULT_MODELS if m.id == "sandbox-omni"), DEFAULT_MODELS[0])
    clones = tuple(replace(template, id=f"sandbox-omni-{i:02d}", display_name="") for i in range(1, extra_models + 1))
    catalog = base + clones
    ids = [m.id for m in catalog]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate model ids in the sandbox catalogue: {duplicates}")
    return catalog
